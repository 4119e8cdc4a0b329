"""`vibevoice-asr-web size-report`: every variant's size, largest tensor and browser memory, from
the configuration alone (the real model's by default)."""

from __future__ import annotations

import argparse
import json
import math
from dataclasses import dataclass

from vibevoice_asr_web import inventory

from vibevoice_asr_web.artifact import contract
from vibevoice_asr_web.fixtures.real_model import real_config

BLOCK = contract.INT4_BLOCK_SIZE
GIB = contract.GPU_BUFFER_BYTES
AUDIO_TOKENS_PER_MINUTE = contract.SAMPLE_RATE * 60 // contract.HOP_LENGTH  # 450
TEXT_TOKENS_PER_MINUTE = contract.TRANSCRIPT_TOKENS_PER_MINUTE


def tensor_bytes(p: inventory.Parameter, dtype: str) -> int:
    """Bytes of one parameter in a variant, as the quantizer stores it."""
    dtype = contract.canonical_dtype(dtype)
    activation = 2 if dtype in contract.HALF_PRECISION_DTYPES else 4
    if dtype in ("fp32", "fp16") or p.kind in (inventory.CONV, inventory.OTHER):
        return p.numel * activation
    rows, width = p.shape  # Linear [out, in] and embedding [vocab, hidden]: blocks run along the last dim
    blocks = math.ceil(width / BLOCK)
    return rows * blocks * (BLOCK // 2) + rows * blocks * activation  # packed int4 + one scale per block


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


def variant_sizes(config: dict) -> dict[str, VariantSize]:
    params = inventory.parameters(config)
    dims = contract.ModelDims.from_config(config)
    sizes = {}
    for dtype in contract.DTYPE_SUFFIX:
        graphs = {g: 0 for g in contract.GRAPH_NAMES}
        largest = ("", 0)
        for p in params:
            size = tensor_bytes(p, dtype)
            graphs[p.graph] += size
            if p.kind in (inventory.MATMUL, inventory.EMBEDDING) and dtype in contract.INT4_DTYPES:
                size = p.shape[0] * math.ceil(p.shape[1] / BLOCK) * (BLOCK // 2)  # the packed tensor is the largest part
            largest = max(largest, (p.name, size), key=lambda item: item[1])
        activation = 2 if dtype in contract.HALF_PRECISION_DTYPES else 4
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
        f"KV cache: {kv['fp32'] / 1024:.0f} KiB/token in fp32 and q4, {kv['fp16'] / 1024:.0f} KiB/token in fp16 and q4f16; "
        f"one minute of audio is {AUDIO_TOKENS_PER_MINUTE} audio tokens plus about {TEXT_TOKENS_PER_MINUTE} transcript tokens."
    )
    return "\n".join(lines)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--checkpoint", help="a checkpoint folder or Hub id whose config.json to use (default: the real model's config)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a markdown table")


def run(args: argparse.Namespace) -> int:
    if args.checkpoint:
        from vibevoice_asr_web import checkpoint_source
        from vibevoice_asr_web.checkpoint_layout import read_config

        config = read_config(checkpoint_source.resolve(args.checkpoint).path)
    else:
        config = real_config()
    sizes = variant_sizes(config)
    if args.json:
        print(json.dumps({d: {"total_bytes": s.total, "graph_bytes": s.graph_bytes, "largest": s.largest,
                              "kv_bytes_per_token": s.kv_bytes_per_token} for d, s in sizes.items()}, indent=2))
    else:
        print(render(sizes))
    return 0
