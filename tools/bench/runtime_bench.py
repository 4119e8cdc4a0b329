"""The Python runtime (onnxruntime) against PyTorch on the same weights, at real widths (issue 19, point 5).

Makes a checkpoint with the real configuration and `--layers` decoder layers of random weights
(make-synthetic), exports it to fp32 and to q4, then measures in this one process, each model after
the last has been freed:
- the audio encoder's ms per audio-second, on `--audio-seconds` of noise (one chunk: the real chunk
  is 60 s);
- decode ms/token after a past of `--past` tokens, the median of `--steps` steps.
PyTorch (transformers' VibeVoiceAsrForConditionalGeneration, fp32, no grad) is the anchor: each
onnxruntime row prints its ratio to it. Numbers move between runs on a shared machine; ratios less.

    ./bazelw run //tools/bench:runtime -- [--layers 1] [--audio-seconds 5] [--past 500] [--steps 8] [--work-dir DIR]
"""

from __future__ import annotations

import argparse
import gc
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np


def cli(*args: str) -> None:
    """One vibevoice-asr-web command in its own process (as the tools run it), with its progress on stderr."""
    started = time.perf_counter()
    if subprocess.run([sys.executable, "-m", "vibevoice_asr_web", *args, "--quiet"]).returncode != 0:
        raise SystemExit(f"vibevoice-asr-web {args[0]} failed")
    dtype = f" --dtype {args[args.index('--dtype') + 1]}" if "--dtype" in args else ""
    print(f"{args[0]}{dtype}: {time.perf_counter() - started:.0f} s", flush=True)


def timed(fn: Callable[[], object]) -> float:
    started = time.perf_counter()
    fn()
    return (time.perf_counter() - started) * 1000


def median_step_ms(step: Callable[[], object], steps: int) -> float:
    step()  # the first step after the past allocates what the new shape needs
    return statistics.median(timed(step) for _ in range(steps))


def bench_pytorch(checkpoint: Path, audio: np.ndarray, past: int, steps: int, rng) -> dict:
    import torch
    from transformers import DynamicCache

    from vibevoice_asr_web.checkpoint_model import load_model

    model = load_model(checkpoint)
    hidden = model.config.text_config.hidden_size
    with torch.no_grad():
        x = torch.from_numpy(audio)[None, None]
        model.model.get_audio_features(x, sample=False)  # warm
        encode_ms = timed(lambda: model.model.get_audio_features(x, sample=False))
        cache = DynamicCache(config=model.config.text_config)
        model(inputs_embeds=torch.from_numpy(rng.standard_normal((1, past, hidden)).astype(np.float32)), past_key_values=cache, use_cache=True)
        one = torch.from_numpy(rng.standard_normal((1, 1, hidden)).astype(np.float32))
        decode_ms = median_step_ms(lambda: model(inputs_embeds=one, past_key_values=cache, use_cache=True), steps)
    del model
    gc.collect()
    return {"encode_ms": encode_ms, "decode_ms": decode_ms}


def bench_onnxruntime(folder: Path, dtype: str, audio: np.ndarray, past: int, steps: int, rng) -> dict:
    from vibevoice_asr_web.runtime.sessions import OnnxAsrModel

    model = OnnxAsrModel(folder, dtype)
    model.encode_audio(audio)  # warm
    encode_ms = timed(lambda: model.encode_audio(audio))
    hidden = model.dims.hidden_size
    _, state = model.decode(rng.standard_normal((1, past, hidden)).astype(model.activation), model.empty_state())
    one = rng.standard_normal((1, 1, hidden)).astype(model.activation)

    def step():
        nonlocal state
        _, state = model.decode(one, state)

    decode_ms = median_step_ms(step, steps)
    del model, state
    gc.collect()
    return {"encode_ms": encode_ms, "decode_ms": decode_ms}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--layers", type=int, default=1, help="decoder layers of the synthetic model (default 1)")
    parser.add_argument("--audio-seconds", type=float, default=5.0)
    parser.add_argument("--past", type=int, default=500, help="tokens in the KV cache before the timed decode steps")
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--work-dir", help="keep the checkpoint and exports here (default: a temporary folder, removed after)")
    args = parser.parse_args()
    if args.layers < 1 or args.audio_seconds <= 0 or args.past < 1 or args.steps < 1:
        parser.error("--layers, --past and --steps must be at least 1, --audio-seconds above 0")
    from vibevoice_asr_web.artifact import contract

    work = Path(args.work_dir) if args.work_dir else Path(tempfile.mkdtemp(prefix="vibevoice-runtime-bench-"))
    try:
        checkpoint, fp32, int4 = work / "checkpoint", work / "fp32", work / "int4"
        if not (checkpoint / "config.json").is_file():
            cli("make-synthetic", "--layers", str(args.layers), "--output-dir", str(checkpoint), "--overwrite")
        if not (fp32 / "manifest.json").is_file():
            cli("export", "--checkpoint", str(checkpoint), "--output-dir", str(fp32), "--no-validate", "--overwrite")
        if not (int4 / "manifest.json").is_file():
            cli("export", "--checkpoint", str(checkpoint), "--output-dir", str(int4), "--dtype", "q4", "--no-validate", "--overwrite")
        rng = np.random.default_rng(0)
        samples = int(args.audio_seconds * contract.SAMPLE_RATE) // contract.HOP_LENGTH * contract.HOP_LENGTH
        audio = (rng.standard_normal(samples) * 0.1).astype(np.float32)
        seconds = samples / contract.SAMPLE_RATE
        rows = {"PyTorch fp32": bench_pytorch(checkpoint, audio, args.past, args.steps, rng)}
        print(f"PyTorch: {rows['PyTorch fp32']}", flush=True)
        for name, folder, dtype in (("onnxruntime fp32", fp32, "fp32"), ("onnxruntime q4", int4, "q4")):
            rows[name] = bench_onnxruntime(folder, dtype, audio, args.past, args.steps, rng)
            print(f"{name}: {rows[name]}", flush=True)
        anchor = rows["PyTorch fp32"]
        print(f"\nReal widths, {args.layers} decoder layer(s), {seconds:.1f} s of audio, decode after {args.past} tokens "
              f"(median of {args.steps} steps); ratio: onnxruntime / PyTorch\n")
        print("| runtime | encoder ms / audio-second | ratio | decode ms / token | ratio |\n|---|---:|---:|---:|---:|")
        for name, row in rows.items():
            print(f"| {name} | {row['encode_ms'] / seconds:.0f} | {row['encode_ms'] / anchor['encode_ms']:.2f} | "
                  f"{row['decode_ms']:.1f} | {row['decode_ms'] / anchor['decode_ms']:.2f} |")
        return 0
    finally:
        if not args.work_dir:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
