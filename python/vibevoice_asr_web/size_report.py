"""`vibevoice-asr-web size-report`: every variant's size, largest tensor and browser memory, from
the configuration alone (the real 7B's by default, or VibeVoice-ASR-BitNet's next to it). Each
tensor's bytes are those of the quantizer's transform for it (their output shapes), so the report
and the writer cannot disagree."""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass

from onnx import TensorProto

from vibevoice_asr_web import inventory
from vibevoice_asr_web.artifact import contract
from vibevoice_asr_web.fixtures.real_model import bitnet_config, real_config
from vibevoice_asr_web.quantize.transforms import Int4Gather, Int4MatMul, TernaryMatMul
from vibevoice_asr_web.tensor_reader import TensorSource

GIB = contract.GPU_BUFFER_BYTES
AUDIO_TOKENS_PER_MINUTE = contract.SAMPLE_RATE * 60 // contract.HOP_LENGTH  # 450
TEXT_TOKENS_PER_MINUTE = contract.TRANSCRIPT_TOKENS_PER_MINUTE
# q2 / q2f16 (DESIGN §3): the ternary decoder projections as 2-bit MatMulNBits, the rest as q4 / q4f16;
# only the BitNet model has them.
TERNARY_DTYPES = {"q2": "q4", "q2f16": "q4f16"}
assert tuple(TERNARY_DTYPES) == contract.TERNARY_DTYPES
MODELS = {
    "7b": (real_config, tuple(d for d in contract.DTYPE_SUFFIX if d not in contract.TERNARY_DTYPES)),
    "bitnet": (bitnet_config, tuple(contract.DTYPE_SUFFIX)),
}
MODEL_TITLES = {"7b": "VibeVoice-ASR (7B decoder)", "bitnet": "VibeVoice-ASR-BitNet (ternary 1.5B decoder)"}
BROWSER_GOAL_BYTES = {"bitnet": 1.3e9}  # q2f16 in total, every tensor within one GPU buffer


def _int4_dtype(dtype: str) -> str:
    """The contract dtype a variant is otherwise like (q2 -> q4, q2f16 -> q4f16)."""
    return contract.canonical_dtype(TERNARY_DTYPES.get(dtype, dtype))


def tensor_outputs(p: inventory.Parameter, dtype: str) -> tuple[int, ...]:
    """Bytes of each initializer one parameter becomes in a variant, from the quantizer's own transforms."""
    half = _int4_dtype(dtype) in contract.HALF_PRECISION_DTYPES
    if _int4_dtype(dtype) not in contract.INT4_DTYPES or p.kind not in (inventory.MATMUL, inventory.EMBEDDING):
        return (p.numel * (2 if half else 4),)
    # Linear [out, in] and embedding [vocab, hidden]: blocks run along the last dim, as the graph's MatMul [K, N] reads it
    source = TensorSource(p.name, TensorProto.FLOAT16 if half else TensorProto.FLOAT, p.shape)
    compute_dtype = "float16" if half else "float32"
    if p.kind == inventory.EMBEDDING:
        transform = Int4Gather(source, compute_dtype=compute_dtype)
    elif dtype in TERNARY_DTYPES and inventory.is_decoder_projection(p.name):
        transform = TernaryMatMul(source, layout="NK", compute_dtype=compute_dtype)
    else:
        transform = Int4MatMul(source, layout="NK", compute_dtype=compute_dtype)
    return tuple(spec.nbytes for spec in transform.outputs)


@dataclass
class VariantSize:
    dtype: str
    graph_bytes: dict[str, int]
    largest: tuple[str, int]
    kv_bytes_per_token: int

    @property
    def total(self) -> int:
        return sum(self.graph_bytes.values())

    def memory_for(self, minutes: float) -> int:
        tokens = minutes * (AUDIO_TOKENS_PER_MINUTE + TEXT_TOKENS_PER_MINUTE)
        return self.total + int(tokens * self.kv_bytes_per_token)


def variant_sizes(config: dict, dtypes=tuple(contract.DTYPE_SUFFIX)) -> dict[str, VariantSize]:
    params = inventory.parameters(config)
    dims = contract.ModelDims.from_config(config)
    sizes = {}
    for dtype in dtypes:
        graphs = {g: 0 for g in contract.GRAPH_NAMES}
        largest = ("", 0)
        for p in params:
            outputs = tensor_outputs(p, dtype)
            graphs[p.graph] += sum(outputs)
            largest = max(largest, (p.name, max(outputs)), key=lambda item: item[1])
        activation = 2 if _int4_dtype(dtype) in contract.HALF_PRECISION_DTYPES else 4
        kv = 2 * dims.num_layers * dims.num_kv_heads * dims.head_dim * activation
        sizes[dtype] = VariantSize(dtype, graphs, largest, kv)
    return sizes


def render(sizes: dict[str, VariantSize], minutes=(1, 10, 60)) -> str:
    lines = [
        "| variant | audio_encoder | embed_tokens | decoder | total | largest tensor | fits 1 GiB buffers | "
        + " | ".join(f"browser memory, {m} min" for m in minutes) + " |",
        "|---|---|---|---|---|---|---|" + "---|" * len(minutes),
    ]
    for s in sizes.values():
        g = s.graph_bytes
        name, size = s.largest
        lines.append(
            f"| {s.dtype} | {g[contract.AUDIO_ENCODER] / 1e9:.2f} GB | {g[contract.EMBED_TOKENS] / 1e9:.2f} GB | "
            f"{g[contract.DECODER] / 1e9:.2f} GB | **{s.total / 1e9:.2f} GB** | {name} ({size / 1e9:.2f} GB) | "
            f"{'yes' if size <= GIB else 'no'} | " + " | ".join(f"{s.memory_for(m) / 1e9:.2f} GB" for m in minutes) + " |"
        )
    kv = {s.dtype: s.kv_bytes_per_token for s in sizes.values()}
    lines.append("")
    lines.append(
        f"KV cache: {kv['fp32'] / 1024:.0f} KiB/token with fp32 activations, {kv['fp16'] / 1024:.0f} KiB/token with fp16; "
        f"one minute of audio is {AUDIO_TOKENS_PER_MINUTE} audio tokens plus about {TEXT_TOKENS_PER_MINUTE} transcript tokens."
    )
    return "\n".join(lines)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", choices=MODELS, default="7b",
                        help="whose config to size: the 7B (default) or VibeVoice-ASR-BitNet (printed next to the 7B's)")
    parser.add_argument("--checkpoint", help="a checkpoint folder or Hub id whose config.json to use instead")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a markdown table")


def run(args: argparse.Namespace) -> int:
    if args.checkpoint:
        from vibevoice_asr_web import checkpoint_source
        from vibevoice_asr_web.checkpoint_layout import read_config

        config = read_config(checkpoint_source.resolve(args.checkpoint).path)
        tables = {args.checkpoint: variant_sizes(config)}
    else:
        models = [args.model] if args.model == "7b" else [args.model, "7b"]
        tables = {MODEL_TITLES[m]: variant_sizes(MODELS[m][0](), MODELS[m][1]) for m in models}
    if args.json:
        as_json = {title: {d: {"total_bytes": s.total, "graph_bytes": s.graph_bytes, "largest": s.largest,
                               "kv_bytes_per_token": s.kv_bytes_per_token} for d, s in sizes.items()}
                   for title, sizes in tables.items()}
        print(json.dumps(as_json if len(as_json) > 1 else next(iter(as_json.values())), indent=2))
        return 0
    for title, sizes in tables.items():
        print(f"\n{title}\n\n{render(sizes)}" if len(tables) > 1 else render(sizes))
    goal = None if args.checkpoint else BROWSER_GOAL_BYTES.get(args.model)
    if goal:
        browser = tables[MODEL_TITLES[args.model]]["q2f16"]
        met = browser.total < goal and browser.largest[1] <= GIB
        print(f"\nBrowser variant q2f16: {browser.total / 1e9:.2f} GB against the {goal / 1e9:.1f} GB goal, largest tensor "
              f"{browser.largest[1] / 2**20:.0f} MiB against one {GIB / 2**30:.0f} GiB buffer: {'met' if met else 'NOT met'}.")
    return 0
