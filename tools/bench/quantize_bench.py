"""Benchmark: our streaming int4 quantizer vs onnxruntime's MatMulNBitsQuantizer on the same model.

Makes a synthetic fp32 model of --size-gb with VibeVoice-shaped MatMul weights (Qwen2.5-7B's
[3584, 3584], [3584, 18944], [18944, 3584] and an lm_head-like [3584, V]), then quantizes it to
int4 (block 32, symmetric) with each tool in its own subprocess, so that wall time and peak RSS
(os.wait4's ru_maxrss) are per process. Prints both and their ratios (ours / onnxruntime's), and
checks that every packed tensor and scale is byte-identical. Both read a warm page cache (the
model was just written). Goals (DESIGN §3): our peak RSS under 512 MB whatever the size; wall
time no worse than onnxruntime's.

    ./bazelw run //tools/bench:quantize -- --size-gb 2
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

OURS = """
import sys
from vibevoice_asr_web.quantize.graph import Options, convert_graph
convert_graph(sys.argv[1], sys.argv[2], "q4", Options(block_size=int(sys.argv[3]), slab_bytes=int(sys.argv[4]) << 20))
"""

ONNXRUNTIME = """
import sys
import onnx
from onnxruntime.quantization.matmul_nbits_quantizer import DefaultWeightOnlyQuantConfig, MatMulNBitsQuantizer
block = int(sys.argv[3])
config = DefaultWeightOnlyQuantConfig(block_size=block, is_symmetric=True, bits=4)
quantizer = MatMulNBitsQuantizer(onnx.load(sys.argv[1]), bits=4, block_size=block, is_symmetric=True, algo_config=config)
quantizer.process()
quantizer.model.save_model_to_file(sys.argv[2], True)
"""


def run_measured(code: str, args: list[str]) -> dict:
    """Runs `python -c code args` and returns its wall time, CPU time and peak RSS (its own, not its parent's)."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    started = time.perf_counter()
    process = subprocess.Popen([sys.executable, "-c", code, *args], env=env)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise SystemExit(f"benchmark step failed with exit code {process.returncode}")
    return {"wall_s": wall, "cpu_s": usage.ru_utime + usage.ru_stime, "peak_rss_mib": usage.ru_maxrss / 1024}


def tensor_digests(graph: Path) -> dict[str, str]:
    """sha256 of every initializer's bytes, read in slabs."""
    from vibevoice_asr_web.onnx_io import load_graph
    from vibevoice_asr_web.tensor_reader import SlabReader

    _, sources = load_graph(graph)
    digests = {}
    with SlabReader() as reader:
        for name, source in sources.items():
            digest = hashlib.sha256()
            step = (16 << 20) // source.dtype.itemsize
            for start in range(0, source.size, step):
                digest.update(reader.read_flat(source, start, min(start + step, source.size)).tobytes())
            digests[name] = digest.hexdigest()
    return digests


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-gb", type=float, default=2.0, help="fp32 weight bytes of the synthetic model, in GB (default 2)")
    parser.add_argument("--block-size", type=int, default=32)
    parser.add_argument("--slab-mb", type=int, default=64, help="our quantizer's read slab (default 64)")
    parser.add_argument("--workdir", help="where to write the models (default: a new temporary folder, removed after)")
    parser.add_argument("--skip-onnxruntime", action="store_true", help="run only our quantizer")
    args = parser.parse_args(argv)

    from vibevoice_asr_web.fixtures.synthetic_graphs import vibevoice_shapes, write_matmul_chain

    workdir = Path(args.workdir) if args.workdir else Path(tempfile.mkdtemp(prefix="vibevoice-quantize-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        shapes = vibevoice_shapes(int(args.size_gb * 1e9))
        source = workdir / "fp32" / "model.onnx"
        source.parent.mkdir(exist_ok=True)
        started = time.perf_counter()
        size = write_matmul_chain(source, shapes)
        print(f"synthetic fp32 model: {len(shapes)} MatMul weights, {size / 1e9:.2f} GB (largest {max(shapes, key=lambda s: s[0] * s[1])}), "
              f"written in {time.perf_counter() - started:.1f} s to {source.parent}", flush=True)
        ours_out = workdir / "ours" / "model.onnx"
        ours_out.parent.mkdir(exist_ok=True)
        ours = run_measured(OURS, [str(source), str(ours_out), str(args.block_size), str(args.slab_mb)])
        print(f"ours:        {ours['wall_s']:7.1f} s wall, {ours['cpu_s']:7.1f} s CPU, peak RSS {ours['peak_rss_mib']:7.0f} MiB", flush=True)
        if args.skip_onnxruntime:
            return 0
        ort_out = workdir / "onnxruntime" / "model.onnx"
        ort_out.parent.mkdir(exist_ok=True)
        ort = run_measured(ONNXRUNTIME, [str(source), str(ort_out), str(args.block_size)])
        print(f"onnxruntime: {ort['wall_s']:7.1f} s wall, {ort['cpu_s']:7.1f} s CPU, peak RSS {ort['peak_rss_mib']:7.0f} MiB", flush=True)
        mine, theirs = tensor_digests(ours_out), tensor_digests(ort_out)
        quantized = [name for name in theirs if name.endswith(("_Q4", "_scales"))]
        same = [name for name in quantized if mine.get(name) == theirs[name]]
        print()
        print(f"| {size / 1e9:.2f} GB fp32, int4 b{args.block_size} sym | wall s | peak RSS MiB | CPU s |")
        print("|---|---:|---:|---:|")
        print(f"| ours (streaming, {args.slab_mb} MB slabs) | {ours['wall_s']:.1f} | {ours['peak_rss_mib']:.0f} | {ours['cpu_s']:.1f} |")
        print(f"| onnxruntime MatMulNBitsQuantizer | {ort['wall_s']:.1f} | {ort['peak_rss_mib']:.0f} | {ort['cpu_s']:.1f} |")
        print(f"| ratio ours / onnxruntime | {ours['wall_s'] / ort['wall_s']:.2f} | {ours['peak_rss_mib'] / ort['peak_rss_mib']:.3f} | {ours['cpu_s'] / ort['cpu_s']:.2f} |")
        print()
        print(f"onnxruntime's peak RSS is {ort['peak_rss_mib'] * 2**20 / size:.2f}x the fp32 model; ours is "
              f"{ours['peak_rss_mib']:.0f} MiB ({'under' if ours['peak_rss_mib'] < 512 else 'OVER'} the 512 MB goal)")
        print(f"byte-identical quantized tensors: {len(same)}/{len(quantized)}")
        return 0 if len(same) == len(quantized) and quantized else 1
    finally:
        if not args.workdir:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
