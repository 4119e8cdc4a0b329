"""Writes the expected values the web library's Node tests compare against (web/test/fixtures/).

The references are the Python side of the project: transformers' VibeVoice-ASR feature extractor
and processor (the HF reference implementation) and `vibevoice_asr_web.audio` (decoding and
scipy's resample_poly). Run it again whenever those, the test audio or the tiny checkpoint's
tokenizer change, and commit the result:

    PYTHONPATH=python python3 web/test/make_fixtures.py [--checkpoint DIR]   # with the project venv's python3

Without --checkpoint the tiny test checkpoint is made in a temporary folder
(`python -m vibevoice_asr_web make-tiny`). Needs numpy, scipy, soundfile, torch and transformers.
"""

from __future__ import annotations

import argparse
import base64
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
FIXTURES = HERE / "fixtures"
sys.path.insert(0, str(REPO / "python"))

from vibevoice_asr_web import audio  # noqa: E402

CLIPS = ["hello.wav", "long_story.wav"]
SAMPLED_STRIDE = 97  # long clips: every 97th sample (plus stats) keeps the fixture small
RESAMPLE_RATES = [8000, 11025, 16000, 22050, 44100, 48000]
TOKENIZER_FILES = ["tokenizer.json", "tokenizer_config.json", "processor_config.json", "config.json"]
HOTWORDS = [None, "", "Alice, Bob", "Zürich, naïve café, 東京 — VibeVoice\nsecond line"]
# Sample counts at 24 kHz: 1 sample, around the hop, the 1/8-second ties that Python rounds to even
# (0.625 s -> "0.62", 1.125 s -> "1.12", 2.375 s -> "2.38"), a non-tie near a tie, long clips.
NUM_SAMPLES = [1, 3199, 3200, 3201, 15000, 21000, 24120, 27000, 30236, 57000, 349966, 1_440_001]


def b64(x: np.ndarray) -> str:
    return base64.b64encode(np.ascontiguousarray(x, dtype="<f4").tobytes()).decode("ascii")


def sawtooth(n: int, scale: float = 2000.0) -> np.ndarray:
    """A deterministic pseudo-noise signal both Python and JavaScript compute bit-identically."""
    i = np.arange(n, dtype=np.int64)
    return (((i * 7919 + 13) % 2001 - 1000) / scale).astype(np.float32)


def hf_normalize(feature_extractor, x: np.ndarray) -> np.ndarray:
    out = feature_extractor(x, sampling_rate=24000, return_tensors="pt")
    return out["input_values"][0, 0].numpy()


def clip_fixture(feature_extractor, name: str) -> dict:
    path = REPO / "testdata" / "audio" / name
    samples, rate = audio.load_audio(path)
    resampled = audio.resample(samples, rate, audio.SAMPLE_RATE)
    n = len(resampled)
    expected = hf_normalize(feature_extractor, resampled)
    python = audio.prepare(path).samples
    entry = {
        "file": f"testdata/audio/{name}",
        "source_rate": rate,
        "num_samples": n,
        "padded_length": len(expected),
        "num_audio_tokens": audio.num_audio_tokens(n),
        "duration": n / audio.SAMPLE_RATE,
        "sum": float(np.sum(expected, dtype=np.float64)),
        "sum_squares": float(np.sum(np.square(expected, dtype=np.float64))),
        "max_abs": float(np.max(np.abs(expected))),
        "argmax_abs": int(np.argmax(np.abs(expected))),
        "python_front_end_max_diff": float(np.max(np.abs(python - expected))),
    }
    if n <= 40000:
        entry["normalized"] = b64(expected)
        entry["resampled"] = b64(resampled)
    else:
        idx = np.arange(0, len(expected), SAMPLED_STRIDE)
        entry["stride"] = SAMPLED_STRIDE
        entry["normalized_strided"] = b64(expected[idx])
        entry["resampled_strided"] = b64(resampled[idx[idx < n]])
    return entry


def audio_fixtures(feature_extractor) -> dict:
    clips = {name: clip_fixture(feature_extractor, name) for name in CLIPS}
    resampling = {}
    for rate in RESAMPLE_RATES:
        x = sawtooth(rate // 10)
        resampling[str(rate)] = b64(audio.resample(x, rate, audio.SAMPLE_RATE))
    peak_input = sawtooth(4800, scale=200000.0)
    peak_input[1234] = np.float32(0.9)
    peak = hf_normalize(feature_extractor, peak_input)
    quiet = hf_normalize(feature_extractor, sawtooth(7000, scale=2000.0) * np.float32(0.001))
    return {
        "clips": clips,
        "resampling": {"input": "sawtooth(rate // 10)", "to_rate": audio.SAMPLE_RATE, "outputs": resampling},
        "peak_guard": {"input": "sawtooth(4800, 200000) with x[1234] = 0.9", "expected": b64(peak), "max_abs": float(np.max(np.abs(peak)))},
        "quiet": {"input": "sawtooth(7000, 2000) * 0.001", "expected": b64(quiet)},
    }


def prompt_fixtures(processor) -> dict:
    cases = []
    for n in NUM_SAMPLES:
        x = sawtooth(n)
        for hotwords in HOTWORDS:
            ids = processor.apply_transcription_request(audio=x, prompt=hotwords)["input_ids"][0].tolist()
            cases.append({"num_samples": n, "hotwords": hotwords, "ids": ids})
    return {"cases": cases}


def duration_fixtures() -> dict:
    values = sorted({n / 24000 for n in range(0, 24000 * 120, 1237)} | {n / 24000 for n in range(0, 24000 * 60, 3000)})
    values += [0.005, 0.015, 0.125, 1.005, 2.675, 1e-9, 99.995, 123456.125, -0.125, -1.5]
    return {"values": values, "python": [f"{v:.2f}" for v in values]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", type=Path, help="the tiny test checkpoint (made in a temporary folder if omitted)")
    args = parser.parse_args()
    from transformers import AutoProcessor

    with tempfile.TemporaryDirectory() as tmp:
        checkpoint = args.checkpoint
        if checkpoint is None:
            checkpoint = Path(tmp) / "ckpt"
            subprocess.run([sys.executable, "-m", "vibevoice_asr_web", "make-tiny", "--output-dir", str(checkpoint)],
                           check=True, env={"PYTHONPATH": str(REPO / "python"), "PATH": "/usr/bin:/bin"})  # fmt: skip
        processor = AutoProcessor.from_pretrained(checkpoint)
        FIXTURES.mkdir(exist_ok=True)
        tokenizer_dir = FIXTURES / "tiny_tokenizer"
        tokenizer_dir.mkdir(exist_ok=True)
        for name in TOKENIZER_FILES:
            shutil.copyfile(checkpoint / name, tokenizer_dir / name)
        outputs = {
            "audio.json": audio_fixtures(processor.feature_extractor),
            "prompts.json": prompt_fixtures(processor),
            "durations.json": duration_fixtures(),
        }
    for name, data in outputs.items():
        (FIXTURES / name).write_text(json.dumps(data, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        print(f"wrote {FIXTURES / name} ({(FIXTURES / name).stat().st_size} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
