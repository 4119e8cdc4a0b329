"""`vibevoice-asr-web validate`: run each graph in onnxruntime and the same computation in
PyTorch on the same inputs, print a table per graph, and require identical greedy tokens."""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from vibevoice_asr_web.artifact import contract
from vibevoice_asr_web.errors import UserError
from vibevoice_asr_web.parity.measures import Comparison, compare, default_audio, format_table
from vibevoice_asr_web.parity.thresholds import CHUNKED_MAX_ABS, FP32_MIN_COSINE
from vibevoice_asr_web.progress import Progress

DECODE_STEPS = 5
TRANSCRIBE_TOKENS = 48


@dataclass
class ValidationReport:
    rows: list[Comparison] = field(default_factory=list)
    transcripts: list[dict] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return all(r.passed for r in self.rows) and all(t["equal"] for t in self.transcripts)

    def table(self) -> str:
        lines = [format_table(self.rows)]
        for t in self.transcripts:
            verdict = "identical" if t["equal"] else f"DIFFERENT at token {t['first_difference']}"
            lines.append(f"greedy tokens on {t['audio']}: {len(t['onnx'])} onnx vs {len(t['reference'])} reference, {verdict}")
        return "\n".join(lines)

    def as_dict(self) -> dict:
        worst: dict[str, dict] = {}
        for r in self.rows:
            w = worst.setdefault(r.graph, {"min_cosine": 1.0, "max_abs_diff": 0.0, "passed": True})
            w["min_cosine"] = min(w["min_cosine"], r.cosine)
            w["max_abs_diff"] = max(w["max_abs_diff"], r.max_abs_diff)
            w["passed"] = w["passed"] and r.passed
        return {
            "reference": "pytorch",
            "graphs": worst,
            "cases": [r.as_dict() for r in self.rows],
            "greedy_tokens_equal": all(t["equal"] for t in self.transcripts),
            "transcripts": [{k: t[k] for k in ("audio", "equal", "first_difference")} | {"tokens": len(t["onnx"])} for t in self.transcripts],
            "passed": self.passed,
        }


def _first_difference(a: list[int], b: list[int]) -> int | None:
    for i, (x, y) in enumerate(zip(a, b)):
        if x != y:
            return i
    return None if len(a) == len(b) else min(len(a), len(b))


def audio_cases(dims: contract.ModelDims) -> list[tuple[str, int]]:
    """Lengths that stay inside one encoder chunk and lengths that cross several."""
    chunk_frames = dims.chunk_size // dims.hop_length
    cases = [("1 frame", 1), ("1 chunk", chunk_frames), ("2.5 chunks", max(1, round(2.5 * chunk_frames))), ("4 chunks", 4 * chunk_frames)]
    return [(name, frames * dims.hop_length) for name, frames in cases]


def check_audio_encoder(model, onnx, rng) -> list[Comparison]:
    import torch

    rows = []
    for case, samples in audio_cases(onnx.dims):
        x = (rng.standard_normal(samples) * 0.1).astype(np.float32)
        with torch.no_grad():
            want = model.model.get_audio_features(torch.from_numpy(x)[None, None], sample=False).pooler_output[0].numpy()
        chunked = onnx.encode_audio(x)
        one_pass = onnx.encode_audio(x, chunk_size=samples)
        rows.append(compare(contract.AUDIO_ENCODER, case, "audio_features vs pytorch", chunked, want, FP32_MIN_COSINE))
        rows.append(
            compare(contract.AUDIO_ENCODER, case, "chunked vs one pass", chunked, one_pass, FP32_MIN_COSINE, CHUNKED_MAX_ABS)
        )
    return rows


def check_embed_tokens(model, onnx, rng) -> list[Comparison]:
    import torch

    ids = rng.integers(0, onnx.dims.vocab_size, size=(2, 7))
    ids[0, :3] = [onnx.dims.audio_token_id, onnx.dims.audio_bos_token_id, onnx.dims.audio_eos_token_id]
    with torch.no_grad():
        want = model.model.language_model.embed_tokens(torch.from_numpy(ids)).numpy()
    return [compare(contract.EMBED_TOKENS, "2x7 ids", contract.INPUTS_EMBEDS, onnx.embed(ids), want, FP32_MIN_COSINE)]


def check_decoder(model, onnx, rng) -> list[Comparison]:
    import torch
    from transformers import DynamicCache

    dims = onnx.dims
    rows = []
    prefill = (rng.standard_normal((1, 9, dims.hidden_size))).astype(np.float32)
    cache = DynamicCache(config=model.config.text_config)
    with torch.no_grad():
        want = model(inputs_embeds=torch.from_numpy(prefill), past_key_values=cache, use_cache=True).logits.numpy()
    got, state = onnx.decode(prefill, onnx.empty_state(), logits_to_keep=0)
    rows.append(compare(contract.DECODER, "prefill 9 tokens", "logits (all rows)", got, want, FP32_MIN_COSINE))
    for step in range(DECODE_STEPS):
        embed = rng.standard_normal((1, 1, dims.hidden_size)).astype(np.float32)
        with torch.no_grad():
            want = model(inputs_embeds=torch.from_numpy(embed), past_key_values=cache, use_cache=True).logits.numpy()
        got, state = onnx.decode(embed, state)
        rows.append(compare(contract.DECODER, f"decode step {step + 1}", contract.LOGITS, got, want, FP32_MIN_COSINE))
    last = dims.num_layers - 1
    for kind in ("key", "value"):
        want = getattr(cache.layers[last], f"{kind}s").numpy()
        rows.append(compare(contract.DECODER, f"after {DECODE_STEPS} steps", f"{contract.PRESENT}.{last}.{kind}", state.past[f"{contract.PAST_KEY_VALUES}.{last}.{kind}"], want, FP32_MIN_COSINE))
    # Chunked prefill (how long audio is fed): 9 tokens as 5 + 4 after a past of 5 decoded ones.
    chunks = rng.standard_normal((1, 9, dims.hidden_size)).astype(np.float32)
    with torch.no_grad():
        want = model(inputs_embeds=torch.from_numpy(chunks), past_key_values=cache, use_cache=True).logits.numpy()
    first, state = onnx.decode(chunks[:, :5], state, logits_to_keep=0)
    second, state = onnx.decode(chunks[:, 5:], state, logits_to_keep=0)
    rows.append(compare(contract.DECODER, "prefill in 2 chunks", "logits (all rows)", np.concatenate([first, second], 1), want, FP32_MIN_COSINE))
    return rows


def check_transcription(model, onnx, checkpoint: Path, audio_path: Path) -> dict:
    """Greedy decoding of one audio, HF generate vs the onnxruntime pipeline, same prompt and audio."""
    import torch
    from transformers import VibeVoiceAsrProcessor

    from vibevoice_asr_web import audio
    from vibevoice_asr_web.runtime.generate import greedy

    processor = VibeVoiceAsrProcessor.from_pretrained(checkpoint)
    samples = audio.load_audio_24k(audio_path)
    inputs = processor.apply_transcription_request(audio=samples)
    with torch.no_grad():
        generated = model.generate(**inputs, sample=False, do_sample=False, max_new_tokens=TRANSCRIBE_TOKENS)
    prompt_ids = inputs["input_ids"][0].tolist()
    reference = generated[0, len(prompt_ids):].tolist()
    features = onnx.encode_audio(inputs["input_values"][0, 0].numpy())
    embeds = onnx.prompt_embeddings(prompt_ids, features)
    eos = contract.eos_token_ids(model.generation_config.eos_token_id)
    result = greedy(onnx, embeds, eos, TRANSCRIBE_TOKENS, guard=None)
    return {
        "audio": audio_path.name, "onnx": result.token_ids, "reference": reference,
        "equal": result.token_ids == reference, "first_difference": _first_difference(result.token_ids, reference),
    }


def against_pytorch(folder: Path, model, checkpoint: Path, audio_files=None, progress: Progress | None = None, seed: int = 0) -> ValidationReport:
    from vibevoice_asr_web.runtime.sessions import OnnxAsrModel

    progress = progress or Progress()
    onnx = OnnxAsrModel(folder, "fp32", verify=False)
    rng = np.random.default_rng(seed)
    report = ValidationReport()
    progress.note("validating audio_encoder against PyTorch")
    report.rows += check_audio_encoder(model, onnx, rng)
    progress.note("validating embed_tokens and decoder_model_merged against PyTorch")
    report.rows += check_embed_tokens(model, onnx, rng)
    report.rows += check_decoder(model, onnx, rng)
    for path in [Path(p) for p in (audio_files or default_audio())]:
        progress.note(f"greedy transcription of {path.name}, both ways")
        report.transcripts.append(check_transcription(model, onnx, checkpoint, path))
    return report


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--onnx-dir", "--onnx_dir", required=True, help="artifact folder made by `export` or `quantize`")
    parser.add_argument("--checkpoint", help="the source checkpoint (folder or Hub id); default: the manifest's Hub source")
    parser.add_argument(
        "--reference-dir",
        help="fp32 artifact folder to compare fp16/q4/q4f16 variants with; default: the fp32 graphs in --onnx-dir, "
        "else the folder the variants were quantized from (the manifest's quantized_from)",
    )
    parser.add_argument("--audio", action="append", help="audio file for the greedy-transcription check (repeatable)")
    from vibevoice_asr_web.artifact.manifest import add_no_verify_argument

    add_no_verify_argument(parser)
    parser.add_argument("--quiet", action="store_true")


def run(args: argparse.Namespace) -> int:
    from vibevoice_asr_web.artifact import manifest
    from vibevoice_asr_web.parity import variant_vs_fp32

    progress = Progress(quiet=args.quiet)
    folder = Path(args.onnx_dir)
    info = manifest.verify(folder, progress=progress) if args.verify else manifest.read(folder)
    present = variant_vs_fp32.variants_present(folder)
    if not present:
        raise UserError(f"{folder}/onnx holds no complete variant (all three graphs of fp32, fp16, q4 or q4f16): export it again")
    passed = True
    if "fp32" in present:
        passed = _run_against_pytorch(args, folder, info, progress)
    variants = [d for d in present if d != "fp32"]
    if variants:
        reference = variant_vs_fp32.reference_folder(folder, args.reference_dir, info)
        if args.verify and reference != folder:
            manifest.verify(reference, progress=progress)
        audio_files = [Path(a) for a in args.audio] if args.audio else default_audio()
        prompt_list = variant_vs_fp32.prompts(reference, audio_files)
        for dtype in variants:
            report = variant_vs_fp32.compare_variant(folder, dtype, reference, audio_files, progress=progress, prompt_list=prompt_list)
            print(report.table())
            passed = passed and report.passed
    print("PASS" if passed else "FAIL")
    return 0 if passed else 1


def _run_against_pytorch(args: argparse.Namespace, folder: Path, info: dict, progress: Progress) -> bool:
    from vibevoice_asr_web import checkpoint_source
    from vibevoice_asr_web.checkpoint_model import load_model

    checkpoint = args.checkpoint
    recorded = info.get("source") if isinstance(info.get("source"), dict) else {}
    if checkpoint is None:
        if recorded.get("kind") != "hub" or not isinstance(recorded.get("name"), str):
            raise UserError(f"{folder} was not exported from a Hub repo its manifest names: pass the checkpoint with --checkpoint")
        checkpoint = recorded["name"]
    source = checkpoint_source.resolve(checkpoint, recorded.get("revision") if args.checkpoint is None else None)
    model = load_model(source.path)
    report = against_pytorch(folder, model, source.path, audio_files=args.audio, progress=progress)
    print(report.table())
    return report.passed
