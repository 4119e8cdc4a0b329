"""Peak memory of the onnxruntime pipeline against audio length (1, 10 and 60 minutes).

Transcribes long clips (speech from testdata, repeated) with the tiny checkpoint's fp32
artifacts, each in its own process so its peak RSS is its own, and prints peak RSS, the growth per
minute between lengths, and the KV cache for comparison. Memory must grow linearly with length,
as the KV cache does (chunked encoding and chunked prefill keep every step's working set bounded);
a quadratic term, e.g. a [heads, tokens, tokens] score tensor, would show as a rising slope.

    ./bazelw run //tools/bench:long_audio -- [--minutes 1,10,60] [--onnx-dir DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile

from vibevoice_asr_web import runfiles

from vibevoice_asr_web.artifact import contract, manifest


RATE = 16_000
REAL_CONTEXT = 65_536  # the real model's max_position_embeddings


def make_clip(path: Path, minutes: float, speech: np.ndarray) -> None:
    """`minutes` of speech at 16 kHz, written block by block (the 60-minute file is 115 MB)."""
    total = int(minutes * 60 * RATE)
    with soundfile.SoundFile(path, "w", RATE, 1, "PCM_16") as f:
        written, gain = 0, 0
        while written < total:
            block = speech[: total - written] * (0.6 + 0.4 * ((gain % 5) / 4))  # vary the level a little
            f.write(block)
            written += len(block)
            gain += 1


def peak_rss_mb(command: list[str]) -> tuple[float, str, float]:
    """Runs `command`, returns (its own peak RSS in MB, its stdout, wall seconds)."""
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out_chunks = []
    while True:  # read as we go, so a large output cannot block the child
        chunk = process.stdout.read(1 << 16)
        if not chunk:
            break
        out_chunks.append(chunk)
    _, status, usage = os.wait4(process.pid, 0)
    stderr = process.stderr.read().decode()
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(command[:4])} failed:\n{stderr[-2000:]}")
    return usage.ru_maxrss / 1024, b"".join(out_chunks).decode(), time.perf_counter() - started


def with_context(onnx_dir: Path, copy: Path, positions: int) -> Path:
    """A copy whose config allows the real model's context: the tiny one (4,096 positions) refuses an hour.

    Only config.json changes (the decoder computes rotary angles from position_ids, so the graphs serve
    any length); the manifest is written again so that the copy still verifies."""
    config = json.loads((onnx_dir / "config.json").read_text())
    if config["text_config"].get("max_position_embeddings", 0) >= positions:
        return onnx_dir
    shutil.copytree(onnx_dir, copy)
    config["text_config"]["max_position_embeddings"] = positions
    (copy / "config.json").write_text(json.dumps(config, indent=2))
    info = manifest.read(copy)
    manifest.write(copy, **{k: v for k, v in info.items() if k not in ("format", "tool", "files")})
    return copy


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", default="1,10,60", help="audio lengths in minutes (default 1,10,60)")
    parser.add_argument("--onnx-dir", help="artifact folder (default: //models:fp32, the tiny checkpoint's)")
    parser.add_argument("--max-new-tokens", type=int, default=32)
    args = parser.parse_args()
    onnx_dir = Path(args.onnx_dir) if args.onnx_dir else runfiles.locate("models/fp32")
    dims = contract.ModelDims.from_config(json.loads((onnx_dir / "config.json").read_text()))
    kv_per_token = 2 * dims.num_layers * dims.num_kv_heads * dims.head_dim * 4
    speech, rate = soundfile.read(runfiles.locate("testdata/audio") / "long_story.wav", dtype="float32")
    assert rate == RATE, rate
    rows = []
    name = onnx_dir.name
    with tempfile.TemporaryDirectory() as tmp:
        onnx_dir = with_context(onnx_dir, Path(tmp) / "artifacts", REAL_CONTEXT)
        for minutes in [float(m) for m in args.minutes.split(",")]:
            clip = Path(tmp) / f"speech_{minutes:g}min.wav"
            make_clip(clip, minutes, speech)
            rss, out, wall = peak_rss_mb([
                sys.executable, "-m", "vibevoice_asr_web", "transcribe", str(clip), "--onnx-dir", str(onnx_dir),
                "--max-new-tokens", str(args.max_new_tokens), "--format", "json", "--quiet",
            ])
            result = json.loads(out)
            tokens = len(result["prompt_ids"]) + len(result["generated_ids"])
            rows.append((minutes, result["audio"]["num_audio_tokens"], tokens, rss, wall, result["timings"]))
            clip.unlink()
            print(f"{minutes:g} min: peak RSS {rss:.0f} MB, {tokens} tokens, {wall:.1f} s", flush=True)
    print()
    print(f"onnx dir: {name} (context {REAL_CONTEXT:,} positions); KV cache {kv_per_token} bytes/token (fp32)")
    print("| audio | audio tokens | tokens in context | peak RSS | RSS growth per minute | KV cache | encode | prefill | wall |")
    print("|---|---|---|---|---|---|---|---|---|")
    previous = None
    for minutes, audio_tokens, tokens, rss, wall, t in rows:
        slope = "" if previous is None else f"{(rss - previous[1]) / (minutes - previous[0]):.1f} MB/min"
        print(f"| {minutes:g} min | {audio_tokens:,} | {tokens:,} | {rss:.0f} MB | {slope} | {tokens * kv_per_token / 1e6:.1f} MB | "
              f"{t['encode_s']:.1f} s | {t['prefill_s']:.1f} s | {wall:.1f} s |")
        previous = (minutes, rss)
    if len(rows) >= 3:
        (m0, _, _, r0, _, _), (m1, _, _, r1, _, _), (m2, _, _, r2, _, _) = rows[:3]
        early, late = (r1 - r0) / (m1 - m0), (r2 - r1) / (m2 - m1)
        print(f"\nRSS growth per minute: {early:.1f} MB/min ({m0:g}-{m1:g} min), {late:.1f} MB/min ({m1:g}-{m2:g} min). "
              "Both are constant-order: every buffer (decoded audio, features, KV cache, one prefill chunk's "
              "attention over the context) is linear in the length. At short lengths the peak is set by loading "
              "the sessions, not by the audio, which flattens the first slope.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
