"""Export at real shapes with bounded memory: synthetic bf16 checkpoint -> fp32, and -> q4 + q4f16.

Makes a checkpoint with the real configuration (hidden 3584, vocab 152064, full encoders and
connectors) and `--layers` decoder layers of random bf16 weights, exports it to fp32, and exports it
to q4 + q4f16 straight from the bf16 weights (no fp32 written), each step in its own process so its
peak RSS is its own. Prints peak RSS and
GB/s per step, then checks every output against the contract (files, graph inputs/outputs, 1 GiB
buffers, chunks) and runs each variant's three graphs once in onnxruntime.

    ./bazelw run //tools/bench:real_size -- [--layers 2] [--work-dir DIR]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def step(name: str, args: list[str], output: Path) -> dict:
    """Runs one CLI command in its own process; its peak RSS, wall time and output rate."""
    started = time.perf_counter()
    process = subprocess.Popen([sys.executable, "-m", "vibevoice_asr_web", *args, "--quiet"])
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{name} failed (exit {os.waitstatus_to_exitcode(status)})")
    written = folder_bytes(output)
    row = {"step": name, "peak_rss_mb": usage.ru_maxrss / 1024, "wall_s": wall, "written_gb": written / 1e9}
    print(f"{name}: {wall:.1f} s, peak RSS {row['peak_rss_mb']:.0f} MB, wrote {written / 1e9:.2f} GB ({written / 1e9 / wall:.2f} GB/s)", flush=True)
    return row


def run_once(folder: Path, dtype: str) -> None:
    """Each graph of the variant loads and runs in onnxruntime (one encoder chunk, a short prefill)."""
    from vibevoice_asr_web.runtime.sessions import OnnxAsrModel

    model = OnnxAsrModel(folder, dtype)
    samples = (np.random.default_rng(0).standard_normal(2 * model.dims.hop_length) * 0.1).astype(np.float32)
    features = model.encode_audio(samples)
    ids = np.array([[model.dims.audio_bos_token_id, 1, 2, model.dims.audio_eos_token_id]], np.int64)
    logits, _ = model.decode(np.concatenate([model.embed(ids), features[None].astype(model.activation)], axis=1), model.empty_state())
    assert np.isfinite(logits.astype(np.float32)).all(), f"{dtype}: non-finite logits"
    print(f"{dtype}: runs in onnxruntime (features {features.shape}, logits {logits.shape})")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--work-dir", help="keep the outputs here (default: a temporary folder, removed after)")
    args = parser.parse_args()
    from vibevoice_asr_web.progress import Progress
    from vibevoice_asr_web.release import gates

    work = Path(args.work_dir) if args.work_dir else Path(tempfile.mkdtemp(prefix="vibevoice-real-size-"))
    try:
        checkpoint, fp32, int4 = work / "checkpoint", work / "fp32", work / "int4"
        rows = [
            step("make-synthetic", ["make-synthetic", "--layers", str(args.layers), "--output-dir", str(checkpoint), "--overwrite"], checkpoint),
            step("export fp32", ["export", "--checkpoint", str(checkpoint), "--output-dir", str(fp32), "--no-validate", "--overwrite"], fp32),
            step("export q4,q4f16 from bf16", ["export", "--checkpoint", str(checkpoint), "--output-dir", str(int4), "--dtype", "q4,q4f16", "--no-validate", "--overwrite"], int4),
        ]
        print("\n| step | wall | peak RSS | written | rate |\n|---|---|---|---|---|")
        for r in rows:
            print(f"| {r['step']} | {r['wall_s']:.1f} s | {r['peak_rss_mb']:.0f} MB | {r['written_gb']:.2f} GB | {r['written_gb'] / r['wall_s']:.2f} GB/s |")
        print()
        failed = False
        for folder, dtypes in ((fp32, ["fp32"]), (int4, ["q4", "q4f16"])):
            for gate in gates.structural(folder, dtypes, Progress(quiet=True)):
                print(f"{gate.gate:<9} {gate.variant:<6} {gate.result:<5} {gate.detail}")
                failed |= gate.result == gates.FAIL
            for dtype in dtypes:
                run_once(folder, dtype)
        return 1 if failed else 0
    finally:
        if not args.work_dir:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
