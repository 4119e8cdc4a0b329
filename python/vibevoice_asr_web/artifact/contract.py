"""The ONNX contract: every graph's inputs and outputs, described once.

The exporter, the validator, the onnxruntime runtime, the quantizer and the tests all read this
module instead of retyping names. Dimensions are derived from the checkpoint's config.json alone
(a plain dict), so nothing here needs torch or transformers.

Layout (what Transformers.js 4.3.1 loads for audio-text-to-text models):
  onnx/audio_encoder{sfx}.onnx         audio_values + conv caches -> audio_features + new caches
  onnx/embed_tokens{sfx}.onnx          input_ids -> inputs_embeds
  onnx/decoder_model_merged{sfx}.onnx  inputs_embeds + mask + positions + KV cache -> logits + KV cache
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from vibevoice_asr_web.errors import UserError

AUDIO_ENCODER = "audio_encoder"
EMBED_TOKENS = "embed_tokens"
DECODER = "decoder_model_merged"
GRAPH_NAMES = (AUDIO_ENCODER, EMBED_TOKENS, DECODER)

# The graphs' input and output names (Transformers.js' names where it has one).
AUDIO_VALUES, AUDIO_FEATURES = "audio_values", "audio_features"
INPUT_IDS, INPUTS_EMBEDS = "input_ids", "inputs_embeds"
ATTENTION_MASK, POSITION_IDS, NUM_LOGITS_TO_KEEP, LOGITS = "attention_mask", "position_ids", "num_logits_to_keep", "logits"
# State carried from one call to the next: "<prefix>.<tower>.<conv>" and "<prefix>.<layer>.key|value".
PAST_CONV, PRESENT_CONV = "past_conv", "present_conv"
PAST_KEY_VALUES, PRESENT = "past_key_values", "present"

SAMPLE_RATE = 24_000
DOWNSAMPLING_RATIOS = (2, 2, 4, 5, 5, 8)  # the audio encoders' strides (the real model's; a config may say otherwise)
HOP_LENGTH = math.prod(DOWNSAMPLING_RATIOS)  # 3200 samples per audio token
ENCODER_CHUNK_SIZE = 1_440_000  # samples per audio_encoder call (60 s), unless config.json says otherwise
MAX_IR_VERSION = 10  # onnxruntime-node 1.30 (Transformers.js in Node) rejects newer IR versions
GPU_BUFFER_BYTES = 1 << 30  # one WebGPU buffer (maxBufferSize) on SwiftShader and many real adapters
MAX_CHUNK_BYTES = 2_000_000_000  # one .onnx_data chunk: what one browser ArrayBuffer should hold
INT4_BLOCK_SIZE = 32  # int4 weights per scale along the input dim: the quantizer's default, which size estimates assume
# An estimate for sizing, not a limit: ~4 transcript tokens (words, JSON, timestamps) per second of speech.
TRANSCRIPT_TOKENS_PER_MINUTE = 240
# An encoder config's values for the keys it leaves out (transformers 5.23's defaults, the real model's values).
ENCODER_DEFAULTS = {
    "channels": 1, "num_filters": 32, "kernel_size": 7, "ffn_expansion": 4,
    "downsampling_ratios": list(DOWNSAMPLING_RATIOS), "depths": [3, 3, 3, 3, 3, 3, 8],
}
TARGET_DBFS = -25.0  # the feature extractor's target_dB_FS
EPS = 1e-6  # the feature extractor's eps
DEFAULT_MAX_POSITIONS = 32768  # the real decoder's context: prompt plus generated tokens
# The cap on generated tokens when generation_config.json names none, in Python and the browser: the
# whole context, so the cap never cuts short an answer that fits (decoding ends at an EOS, at the
# repetition guard, or when the context is full). An hour of audio takes ~27k prompt tokens and its
# transcript ~8k, so a cap of 8,192 would truncate long audio silently.
DEFAULT_MAX_NEW_TOKENS = DEFAULT_MAX_POSITIONS

# The folder's files (DESIGN §2).
CONFIG, GENERATION_CONFIG, PREPROCESSOR_CONFIG = "config.json", "generation_config.json", "preprocessor_config.json"
ONNX_DIR = "onnx"

# Element type of a tensor: "activation" follows the variant (float32, or float16 for fp16/q4f16).
DType = Literal["activation", "float32", "int64"]

# The variants and the suffix Transformers.js appends to each graph's file name.
DTYPE_SUFFIX = {"fp32": "", "fp16": "_fp16", "q4": "_q4", "q4f16": "_q4f16", "q2": "_q2", "q2f16": "_q2f16"}
DTYPE_ALIASES = {"float32": "fp32", "float16": "fp16", "int4": "q4"}
HALF_PRECISION_DTYPES = ("fp16", "q4f16", "q2f16")  # float16 activations: WebGPU's shader-f16 feature
# MatMulNBits / GatherBlockQuantized weights in blocks of 32 (q2 / q2f16: every weight but the ternary ones)
INT4_DTYPES = ("q4", "q4f16", "q2", "q2f16")
# A ternary (BitNet) decoder's projections as exact 2-bit MatMulNBits (quantize/ternary.py); only a
# folder exported from a ternary checkpoint has them.
TERNARY_DTYPES = ("q2", "q2f16")
BROWSER_DTYPES = ("fp16", "q4", "q4f16", "q2", "q2f16")  # held to the GPU buffer and chunk limits; fp32 is the onnxruntime reference
BEST_FIRST = ("q2f16", "q4f16", "q2", "q4", "fp16", "fp32")  # what a WebGPU device should run, when it can
# What onnxruntime's CPU kernels (WASM in the browser) should run: low-bit first (MatMulNBits is the
# fastest there), half precision last (the CPU runs most float16 ops through casts to float32).
CPU_BEST_FIRST = ("q2", "q4", "fp32", "q2f16", "q4f16", "fp16")
# config.json's default dtype: the first of these a folder holds (q4 runs on every WebGPU adapter, no
# shader-f16 needed; q2 after it, since fast WebGPU MatMulNBits kernels may refuse 2 bits).
DEFAULT_DTYPE_ORDER = ("q4", "q2", "q4f16", "q2f16", "fp32", "fp16")


def canonical_dtype(name: str) -> str:
    dtype = DTYPE_ALIASES.get(name, name)
    if dtype not in DTYPE_SUFFIX:
        raise UserError(f"unknown dtype {name!r}: expected one of {', '.join([*DTYPE_SUFFIX, *DTYPE_ALIASES])}")
    return dtype


def activation_type(dtype: str) -> str:
    """numpy name of the activation element type of a variant."""
    return "float16" if canonical_dtype(dtype) in HALF_PRECISION_DTYPES else "float32"


def default_dtype(dtypes) -> str:
    """The dtype config.json names as the folder's default, among those it holds."""
    return next(d for d in (*DEFAULT_DTYPE_ORDER, *dtypes) if d in dtypes)


def onnx_file_name(graph: str, dtype: str) -> str:
    return f"{graph}{DTYPE_SUFFIX[canonical_dtype(dtype)]}.onnx"


def graph_path(graph: str, dtype: str) -> str:
    """A graph's file, relative to the folder: onnx/<graph><suffix>.onnx."""
    return f"{ONNX_DIR}/{onnx_file_name(graph, dtype)}"


def chunk_file_name(onnx_name: str, index: int) -> str:
    """The data chunks Transformers.js fetches for `onnx_name`: X.onnx_data, X.onnx_data_1, ..."""
    return f"{onnx_name}_data" if index == 0 else f"{onnx_name}_data_{index}"


def transformers_js_config(dtypes, chunk_counts: dict[str, int]) -> dict:
    """config.json's `transformers.js_config`: the default dtype of every graph, and how many data
    chunks each graph file has (Transformers.js fetches exactly that many)."""
    default = default_dtype(dtypes)
    return {
        "dtype": {graph: default for graph in GRAPH_NAMES},
        "use_external_data_format": dict(sorted(chunk_counts.items())),
    }


def read_json_object(path: Path) -> dict:
    """An artifact folder's JSON file as an object; {} when the file is absent, one clear error when it is bad."""
    path = Path(path)
    if not path.is_file():
        return {}
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise UserError(f"{path} is not valid JSON ({error}): download or export the artifacts again") from None
    if not isinstance(value, dict):
        raise UserError(f"{path} holds a JSON {type(value).__name__}, expected an object: download or export the artifacts again")
    return value


def eos_token_ids(value, fallback: tuple[int, ...] = ()) -> tuple:
    """An `eos_token_id` as configs write it (one id, a list of ids, or none) as a tuple; `fallback` for none."""
    if isinstance(value, (list, tuple)):
        return tuple(value)
    return tuple(fallback) if value is None else (value,)


@dataclass(frozen=True)
class TensorSpec:
    name: str
    dtype: DType
    shape: tuple[int | str, ...]

    def element_type(self, variant: str) -> str:
        return activation_type(variant) if self.dtype == "activation" else self.dtype


@dataclass(frozen=True)
class GraphSpec:
    name: str
    inputs: tuple[TensorSpec, ...]
    outputs: tuple[TensorSpec, ...]

    @property
    def input_names(self) -> list[str]:
        return [t.name for t in self.inputs]

    @property
    def output_names(self) -> list[str]:
        return [t.name for t in self.outputs]


@dataclass(frozen=True)
class ConvCache:
    """The left context one causal conv keeps between audio chunks: [batch, channels, length]."""

    tower: str
    key: str  # transformers' cache_key of the conv, e.g. "encoder_stem"
    channels: int
    length: int

    @property
    def input_name(self) -> str:
        return f"{PAST_CONV}.{self.tower}.{self.key}"

    @property
    def output_name(self) -> str:
        return f"{PRESENT_CONV}.{self.tower}.{self.key}"


def encoder_conv_caches(tower: str, encoder_config: dict) -> list[ConvCache]:
    """Every causal conv of one encoder tower, in the order the encoder runs them.

    Mirrors transformers 5.23's VibeVoiceAcousticTokenizerEncoderModel: a stem conv and its
    ConvNeXt stage, one strided conv and a stage per downsampling ratio, then a head conv.
    """
    config = {**ENCODER_DEFAULTS, **encoder_config}
    filters, kernel, channels_in = config["num_filters"], config["kernel_size"], config["channels"]
    ratios, depths = list(config["downsampling_ratios"]), list(config["depths"])
    if len(depths) != len(ratios) + 1:
        raise UserError(f"encoder config has {len(depths)} depths for {len(ratios)} downsampling ratios; expected one more depth")
    caches = [ConvCache(tower, "encoder_stem", channels_in, kernel - 1)]
    caches += [ConvCache(tower, f"convnext_layer_{i}", filters, kernel - 1) for i in range(1, depths[0] + 1)]
    for stage, ratio in enumerate(ratios):
        caches.append(ConvCache(tower, f"encoder_layer_{stage}", filters * 2**stage, ratio))
        first = sum(depth + 1 for depth in depths[: stage + 1])
        width = filters * 2 ** (stage + 1)
        caches += [ConvCache(tower, f"convnext_layer_{first + k}", width, kernel - 1) for k in range(1, depths[stage + 1] + 1)]
    caches.append(ConvCache(tower, "encoder_head", filters * 2 ** len(ratios), kernel - 1))
    return caches


@dataclass(frozen=True)
class ModelDims:
    """The numbers the contract needs, read from a VibeVoice-ASR config.json."""

    hidden_size: int
    num_layers: int
    num_attention_heads: int
    num_kv_heads: int
    head_dim: int
    vocab_size: int
    hop_length: int
    chunk_size: int
    audio_token_id: int
    audio_bos_token_id: int
    audio_eos_token_id: int
    eos_token_ids: tuple[int, ...]
    conv_caches: tuple[ConvCache, ...] = field(repr=False)
    max_positions: int = DEFAULT_MAX_POSITIONS

    @classmethod
    def from_config(cls, config: dict) -> "ModelDims":
        """The dims, or one clear error for a config that is not a VibeVoice-ASR one (wrong types, missing keys)."""
        if not isinstance(config, dict) or config.get("model_type") != "vibevoice_asr":
            found = config.get("model_type") if isinstance(config, dict) else type(config).__name__
            raise UserError(
                f"config.json has model_type {found!r}; expected 'vibevoice_asr' "
                "(a VibeVoice-ASR checkpoint in the Hugging Face format, e.g. microsoft/VibeVoice-ASR-HF)"
            )
        try:
            dims = cls._read(config)
        except (KeyError, TypeError, ValueError, AttributeError, ZeroDivisionError) as error:
            what = f"missing key {error}" if isinstance(error, KeyError) else str(error)
            raise UserError(f"config.json is malformed ({what}): expected a VibeVoice-ASR config; download or export it again") from None
        numbers = [dims.hidden_size, dims.num_layers, dims.num_attention_heads, dims.num_kv_heads, dims.head_dim, dims.vocab_size,
                   dims.hop_length, dims.chunk_size, dims.max_positions]
        if not all(isinstance(n, int) and not isinstance(n, bool) and n > 0 for n in numbers):
            raise UserError(f"config.json is malformed: sizes must be positive integers, found {numbers}; download or export it again")
        if dims.chunk_size % dims.hop_length:
            raise UserError(f"config.json's acoustic_tokenizer_chunk_size {dims.chunk_size} is not a multiple of the hop {dims.hop_length}")
        return dims

    @classmethod
    def _read(cls, config: dict) -> "ModelDims":
        text = config["text_config"]
        acoustic = config.get("acoustic_tokenizer_encoder_config", {})
        semantic = config.get("semantic_tokenizer_encoder_config", {})
        heads = text["num_attention_heads"]
        head_dim = text.get("head_dim") or text["hidden_size"] // heads
        hop = math.prod(acoustic.get("downsampling_ratios", DOWNSAMPLING_RATIOS))
        eos_ids = eos_token_ids(config.get("eos_token_id", text.get("eos_token_id")))
        return cls(
            hidden_size=text["hidden_size"],
            num_layers=text["num_hidden_layers"],
            num_attention_heads=heads,
            num_kv_heads=text.get("num_key_value_heads", heads),
            head_dim=head_dim,
            vocab_size=text["vocab_size"],
            hop_length=hop,
            chunk_size=config.get("acoustic_tokenizer_chunk_size", ENCODER_CHUNK_SIZE),
            audio_token_id=config.get("audio_token_id", 151648),
            audio_bos_token_id=config.get("audio_bos_token_id", 151646),
            audio_eos_token_id=config.get("audio_eos_token_id", 151647),
            eos_token_ids=eos_ids,
            conv_caches=tuple(encoder_conv_caches("acoustic", acoustic) + encoder_conv_caches("semantic", semantic)),
            max_positions=text.get("max_position_embeddings", DEFAULT_MAX_POSITIONS),
        )

    def kv_names(self, prefix: str) -> list[str]:
        return [f"{prefix}.{i}.{kind}" for i in range(self.num_layers) for kind in ("key", "value")]


def generation_config(checkpoint_generation: dict, dims: ModelDims, im_end: int | None) -> dict:
    """generation_config.json: the checkpoint's, greedy, stopping on every eos id and on <|im_end|>
    (the model ends its turn with it before <|endoftext|>)."""
    generation = {k: v for k, v in checkpoint_generation.items() if k != "transformers_version"}
    eos = list(eos_token_ids(generation.get("eos_token_id"), dims.eos_token_ids))
    if im_end is not None and im_end not in eos:
        eos.append(im_end)
    return {**generation, "eos_token_id": eos, "do_sample": False, "num_beams": 1}


def preprocessor_config(checkpoint_preprocessor: dict, dims: ModelDims) -> dict:
    """preprocessor_config.json: the checkpoint's feature extractor settings, plus the hop and the
    encoder chunk the browser's front end reads (they come from config.json's encoders)."""
    return {
        "sampling_rate": SAMPLE_RATE, "pad_to_multiple_of": dims.hop_length, **checkpoint_preprocessor,
        "hop_length": dims.hop_length, "encoder_chunk_size": dims.chunk_size,
    }


def graph_specs(dims: ModelDims) -> dict[str, GraphSpec]:
    """The three graphs of DESIGN §2, for a model of these dimensions."""
    kv = lambda length: ("batch_size", dims.num_kv_heads, length, dims.head_dim)  # noqa: E731
    audio = GraphSpec(
        AUDIO_ENCODER,
        inputs=(
            TensorSpec(AUDIO_VALUES, "activation", ("batch_size", "num_samples")),
            *(TensorSpec(c.input_name, "activation", ("batch_size", c.channels, c.length)) for c in dims.conv_caches),
        ),
        outputs=(
            TensorSpec(AUDIO_FEATURES, "activation", ("batch_size", "num_audio_tokens", dims.hidden_size)),
            *(TensorSpec(c.output_name, "activation", ("batch_size", c.channels, c.length)) for c in dims.conv_caches),
        ),
    )
    embed = GraphSpec(
        EMBED_TOKENS,
        inputs=(TensorSpec(INPUT_IDS, "int64", ("batch_size", "sequence_length")),),
        outputs=(TensorSpec(INPUTS_EMBEDS, "activation", ("batch_size", "sequence_length", dims.hidden_size)),),
    )
    decoder = GraphSpec(
        DECODER,
        inputs=(
            TensorSpec(INPUTS_EMBEDS, "activation", ("batch_size", "sequence_length", dims.hidden_size)),
            TensorSpec(ATTENTION_MASK, "int64", ("batch_size", "total_sequence_length")),
            TensorSpec(POSITION_IDS, "int64", ("batch_size", "sequence_length")),
            TensorSpec(NUM_LOGITS_TO_KEEP, "int64", ()),
            *(TensorSpec(name, "activation", kv("past_sequence_length")) for name in dims.kv_names(PAST_KEY_VALUES)),
        ),
        outputs=(
            TensorSpec(LOGITS, "activation", ("batch_size", "num_logits", dims.vocab_size)),
            *(TensorSpec(name, "activation", kv("total_sequence_length")) for name in dims.kv_names(PRESENT)),
        ),
    )
    return {g.name: g for g in (audio, embed, decoder)}
