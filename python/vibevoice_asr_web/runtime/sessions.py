"""The three onnxruntime sessions of an artifact folder, driven as the contract says."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vibevoice_asr_web.artifact import contract, manifest
from vibevoice_asr_web.errors import UserError


@dataclass
class DecoderState:
    """The KV cache after some tokens: present.* tensors by past_key_values.* name."""

    past: dict[str, np.ndarray]
    length: int


DEVICES = {"cpu": "CPUExecutionProvider", "cuda": "CUDAExecutionProvider"}


def providers_for(device: str) -> list[str]:
    """onnxruntime execution providers for `--device`; UserError when this onnxruntime lacks it."""
    import onnxruntime

    if device not in DEVICES:
        raise UserError(f"unknown device {device!r}: expected one of {', '.join(DEVICES)}")
    wanted = DEVICES[device]
    available = onnxruntime.get_available_providers()
    if wanted not in available:
        raise UserError(
            f"--device {device} needs onnxruntime's {wanted}, but this onnxruntime {onnxruntime.__version__} "
            f"offers only {', '.join(available)}: install onnxruntime-gpu (with CUDA and cuDNN) or use --device cpu"
        )
    return [wanted] if wanted == "CPUExecutionProvider" else [wanted, "CPUExecutionProvider"]


def graph_files(folder: Path, dtype: str) -> dict[str, list[str]]:
    """Each graph's .onnx file and its external-data chunks (as the manifest and the folder list them)."""
    listed = manifest.read(folder)["files"] if (folder / manifest.MANIFEST).is_file() else {}
    files = {}
    for graph in contract.GRAPH_NAMES:
        name = contract.graph_path(graph, dtype)
        chunks = {n for n in listed if n.startswith(name + "_data")}
        chunks |= {f"{contract.ONNX_DIR}/{p.name}" for p in (folder / contract.ONNX_DIR).glob(Path(name).name + "_data*")}
        files[graph] = [name, *sorted(chunks)]
    return files


def variants_present(folder: str | os.PathLike) -> list[str]:
    """The dtypes (fp32, fp16, q4, q4f16) whose three graph files are all in `folder`/onnx."""
    onnx = Path(folder) / contract.ONNX_DIR
    return [d for d in contract.DTYPE_SUFFIX if all((onnx / contract.onnx_file_name(g, d)).is_file() for g in contract.GRAPH_NAMES)]


def files_used(folder: Path, dtype: str, graph_file_names: dict[str, list[str]]) -> list[str]:
    """What running `dtype` reads: every listed file outside onnx/ (config, tokenizer, ...) and its own graphs."""
    listed = manifest.read(folder)["files"]
    return sorted({n for n in listed if not n.startswith(f"{contract.ONNX_DIR}/")} | {n for names in graph_file_names.values() for n in names})


class OnnxAsrModel:
    def __init__(
        self, artifact_dir: str | os.PathLike, dtype: str = "fp32", providers: list[str] | None = None, verify: bool = True,
        progress=None,
    ):
        import onnxruntime

        self.folder = Path(artifact_dir)
        self.dtype = contract.canonical_dtype(dtype)
        config_path = self.folder / "config.json"
        if not config_path.is_file():
            raise UserError(f"{self.folder} holds no config.json: pass an artifact folder made by `vibevoice-asr-web export`")
        self.files = graph_files(self.folder, self.dtype)
        for graph, (name, *_) in self.files.items():
            if not (self.folder / name).is_file():
                present = sorted(p.name for p in (self.folder / contract.ONNX_DIR).glob("*.onnx")) if (self.folder / contract.ONNX_DIR).is_dir() else []
                raise UserError(
                    f"{self.folder / name} is missing: this folder has no {self.dtype} variant "
                    f"(it holds {', '.join(present) or 'no ONNX graphs'}); pick another --dtype or export this one"
                )
        if verify:  # before anything is read: config.json too
            manifest.verify(self.folder, files_used(self.folder, self.dtype, self.files), progress)
        try:
            self.config = json.loads(config_path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            raise UserError(f"{config_path} is not valid JSON ({error}): download or export the artifacts again") from None
        self.dims = contract.ModelDims.from_config(self.config)
        self.specs = contract.graph_specs(self.dims)
        self.activation = np.dtype(contract.activation_type(self.dtype))
        options = onnxruntime.SessionOptions()
        options.log_severity_level = 3
        self.providers = providers or ["CPUExecutionProvider"]
        try:
            self.sessions = {
                graph: onnxruntime.InferenceSession(str(self.folder / names[0]), options, providers=self.providers)
                for graph, names in self.files.items()
            }
        except Exception as error:  # onnxruntime raises its own exception types
            raise UserError(f"onnxruntime could not load the {self.dtype} graphs of {self.folder}: {error}") from None
        for graph, session in self.sessions.items():
            if session.get_providers()[0] != self.providers[0]:
                raise UserError(
                    f"onnxruntime fell back to {session.get_providers()[0]} for {graph} instead of {self.providers[0]} "
                    "(its libraries did not load): check the CUDA and cuDNN installation, or use --device cpu"
                )

    # -- audio ---------------------------------------------------------------------------------
    def zero_conv_caches(self, batch: int = 1) -> dict[str, np.ndarray]:
        return {c.input_name: np.zeros((batch, c.channels, c.length), self.activation) for c in self.dims.conv_caches}

    def encode_audio(self, samples: np.ndarray, chunk_size: int | None = None, on_chunk=None) -> np.ndarray:
        """[N] normalised samples (N a multiple of the hop) -> [N/hop, hidden] features.

        Runs the encoder chunk by chunk, carrying every causal conv's left context, which equals
        one pass over the whole waveform when chunks are multiples of the hop.
        """
        hop = self.dims.hop_length
        chunk_size = chunk_size or self.dims.chunk_size
        if samples.ndim != 1 or samples.shape[0] == 0 or samples.shape[0] % hop:
            raise ValueError(f"expected 1-D audio padded to a multiple of {hop} samples, got shape {samples.shape}")
        if chunk_size % hop:
            raise ValueError(f"chunk size {chunk_size} is not a multiple of the hop {hop}")
        session = self.sessions[contract.AUDIO_ENCODER]
        caches = self.zero_conv_caches()
        features = []
        starts = range(0, samples.shape[0], chunk_size)
        for index, start in enumerate(starts):
            chunk = samples[start : start + chunk_size][None].astype(self.activation)
            outputs = session.run(None, {contract.AUDIO_VALUES: chunk, **caches})
            features.append(outputs[0][0])
            caches = {c.input_name: outputs[1 + i] for i, c in enumerate(self.dims.conv_caches)}
            if on_chunk:
                on_chunk(index + 1, len(starts))
        return np.concatenate(features, axis=0)

    # -- text ----------------------------------------------------------------------------------
    def embed(self, input_ids: np.ndarray) -> np.ndarray:
        return self.sessions[contract.EMBED_TOKENS].run(None, {contract.INPUT_IDS: np.asarray(input_ids, np.int64)})[0]

    def prompt_embeddings(self, prompt_ids: list[int], audio_features: np.ndarray) -> np.ndarray:
        """Embeds the prompt and puts audio frame k at the k-th audio placeholder, as Transformers.js does."""
        ids = np.asarray([prompt_ids], np.int64)
        embeds = self.embed(ids)
        positions = np.flatnonzero(ids[0] == self.dims.audio_token_id)
        if len(positions) != audio_features.shape[0]:
            raise ValueError(f"the prompt has {len(positions)} audio placeholders for {audio_features.shape[0]} audio frames")
        embeds[0, positions] = audio_features.astype(embeds.dtype)
        return embeds

    def empty_state(self) -> DecoderState:
        shape = (1, self.dims.num_kv_heads, 0, self.dims.head_dim)
        return DecoderState({name: np.zeros(shape, self.activation) for name in self.dims.kv_names(contract.PAST_KEY_VALUES)}, 0)

    def decode(self, inputs_embeds: np.ndarray, state: DecoderState, logits_to_keep: int = 1) -> tuple[np.ndarray, DecoderState]:
        """One decoder call over new tokens; returns their last `logits_to_keep` logits and the new cache."""
        new = inputs_embeds.shape[1]
        total = state.length + new
        feeds = {
            contract.INPUTS_EMBEDS: inputs_embeds.astype(self.activation),
            contract.ATTENTION_MASK: np.ones((1, total), np.int64),
            contract.POSITION_IDS: np.arange(state.length, total, dtype=np.int64)[None],
            contract.NUM_LOGITS_TO_KEEP: np.array(logits_to_keep, np.int64),
            **state.past,
        }
        outputs = self.sessions[contract.DECODER].run(None, feeds)
        present = dict(zip(self.dims.kv_names(contract.PAST_KEY_VALUES), outputs[1:]))
        return outputs[0], DecoderState(present, total)
