"""Decode attention alone, per adapter: one GroupQueryAttention node (fixtures/attention_graphs.py, as the
decoder's fusion writes it) taking one new token after 500 and after 4,000 cached ones, at the tiny
decoder's head layout and the real one's (issue 19, point 4: why decode slows with the context).

Per case: the warm wall time of one call (median of runs 2-5), onnxruntime-web's profile of the same
runs (on WebGPU each program's GPU time: the KV-cache copy and the two decode-attention programs; on
WASM the kernel's CPU time), and the ratio of past 4,000 to past 500 against the ratio of positions
read (4,001 / 501 = 7.99): attention's work is linear in the context, so a ratio near 8 is the
kernel doing what it must, and a larger one a kernel problem. Ratios are within one run.

    ./bazelw run //tools/bench:attention -- [--adapters webgpu,wasm] [--bundle DIR]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

import onnx

from browser import DECODE_PASTS, adapter_name, add_adapters_argument, bench_page, chosen_adapters, progress
from vibevoice_asr_web import runfiles
from vibevoice_asr_web.errors import UserError
from vibevoice_asr_web.fixtures.attention_graphs import AttentionShape, build
from vibevoice_asr_web.runtime import ort_profile
from vibevoice_asr_web.serve import Server

LAYOUTS = {"tiny": AttentionShape(1, heads=4, kv_heads=2, head_size=16), "real": AttentionShape(1, heads=28, kv_heads=4, head_size=128)}
RUNS = 5  # the first pays compilation; the median of the rest is the warm time


def feed_specs(shape: AttentionShape, past: int) -> dict:
    """bench.ts feed specs of one decode call: random new token and past, no masking (all positions visible)."""
    total = past + 1
    cache = [1, shape.kv_heads, past, shape.head_size]
    return {
        "query": {"type": "float32", "dims": [1, 1, shape.heads * shape.head_size], "fill": "random"},
        "key": {"type": "float32", "dims": [1, 1, shape.kv_heads * shape.head_size], "fill": "random"},
        "value": {"type": "float32", "dims": [1, 1, shape.kv_heads * shape.head_size], "fill": "random"},
        "past_key": {"type": "float32", "dims": cache, "fill": "random"},
        "past_value": {"type": "float32", "dims": cache, "fill": "random"},
        "seqlens_k": {"type": "int32", "dims": [1], "fill": "range", "start": past},
        "total_length": {"type": "int32", "dims": [], "fill": "range", "start": total},
        "bias": {"type": "float32", "dims": [1, 1, 1, total], "fill": "zeros"},
    }


def measure(page, url: str, shape: AttentionShape, past: int) -> dict:
    name = f"attention-{past}"
    page.call("load", name, url, [], ["present_key", "present_value"], True)
    walls = [page.call("run", name, feed_specs(shape, past))["ms"] for _ in range(RUNS)]
    profile = ort_profile.summarize(page.profile_events(name), 5, by_program=True)
    page.call("release", name)
    return {"warm_ms": statistics.median(walls[1:]), "cold_ms": walls[0], **profile}


def table(device: str, adapter: str, results: dict[str, dict[int, dict]]) -> str:
    low, high = DECODE_PASTS
    lines = [f"**{device}** ({adapter}):", "", "| heads / kv heads x head size | past | warm ms per call | top programs or kernels (ms) |", "|---|---:|---:|---|"]
    for layout, by_past in results.items():
        shape = LAYOUTS[layout]
        for past, r in by_past.items():
            ops = ", ".join(f"{op} {ms:.2f}" for op, ms in r["ops"])
            lines.append(f"| {layout}: {shape.heads} / {shape.kv_heads} x {shape.head_size} | {past} | {r['warm_ms']:.1f} | {ops} |")
        ratio = by_past[high]["warm_ms"] / by_past[low]["warm_ms"]
        lines.append(f"| {layout}: past {high} / past {low} | | **{ratio:.2f}** (positions: {(high + 1) / (low + 1):.2f}) | |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_adapters_argument(parser)
    parser.add_argument("--bundle", type=Path, help="the web bundle (default: //web:bundle)")
    args = parser.parse_args(argv)
    adapters = chosen_adapters(parser, args)
    bundle = args.bundle or runfiles.locate("web/bundle")
    tables = []
    with tempfile.TemporaryDirectory(prefix="bench-attention-") as work:
        graphs = Path(work) / "graphs"
        graphs.mkdir()
        for layout, shape in LAYOUTS.items():
            onnx.save(build(shape), str(graphs / f"{layout}.onnx"))
        links = Path(work) / "links"
        links.mkdir()
        (links / "attention").symlink_to(graphs, target_is_directory=True)
        with Server(bundle, links, extra_roots=[graphs]) as server:
            for device in adapters:
                with bench_page(server, device) as page:
                    adapter = adapter_name(page)
                    results = {}
                    for layout, shape in LAYOUTS.items():
                        results[layout] = {}
                        for past in DECODE_PASTS:
                            progress(f"{device}: {layout} attention, past {past}")
                            results[layout][past] = measure(page, f"models/attention/{layout}.onnx", shape, past)
                    tables.append(table(device, adapter, results))
    print("\n\n".join(tables))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except UserError as error:
        sys.exit(f"error: {error}")
