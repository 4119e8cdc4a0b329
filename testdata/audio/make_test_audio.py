#!/usr/bin/env python3
"""Regenerate the test audio in this folder from text, with espeak-ng, sox and ffmpeg.

    python3 testdata/audio/make_test_audio.py            # rewrite the clips, transcripts.json, manifest.json
    python3 testdata/audio/make_test_audio.py --check    # regenerate into a temporary folder and compare bytes
    python3 testdata/audio/make_test_audio.py --out DIR  # write somewhere else

Standard library only (plus the three programs on PATH). espeak-ng speaks every clip with a fixed
voice, speed and pitch, so its 22050 Hz mono 16-bit WAV output is deterministic; sox runs with -R
(repeatable: fixed random seeds, so the Ogg stream serial number is fixed) and -D (no dither); ffmpeg
runs with the bitexact flags and without metadata, so no encoder version or time stamp lands in the
files. manifest.json records, for each clip, what the loader should find: format, sample rate,
channels, and the duration of the speech that espeak-ng produced (the reference the tests compare
decoded lengths with).
"""

from __future__ import annotations

import argparse
import filecmp
import json
import shutil
import subprocess
import sys
import tempfile
import wave
from pathlib import Path

HERE = Path(__file__).resolve().parent

# espeak-ng settings: American English voice, 150 words per minute, pitch 50, amplitude 100.
ESPEAK = ["espeak-ng", "-v", "en-us", "-s", "150", "-p", "50", "-a", "100"]
SOX = ["sox", "-R", "-D", "-V1"]
FFMPEG = ["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y"]
FFMPEG_BITEXACT = ["-map_metadata", "-1", "-fflags", "+bitexact", "-flags:a", "+bitexact"]

# name, text, how to convert espeak-ng's WAV, and what the result is (format, rate, channels).
CLIPS = [
    {
        "name": "hello.wav",
        "text": "Hello world.",
        "convert": "copy",  # espeak-ng's own output, 22050 Hz mono 16-bit PCM
        "format": "WAV (PCM 16-bit)",
        "sample_rate": 22050,
        "channels": 1,
    },
    {
        "name": "numbers.flac",
        "text": "One, two, three, four, five.",
        "convert": "sox",
        "args": ["-r", "16000", "-c", "1", "-b", "16", "-C", "8"],
        "format": "FLAC (16-bit)",
        "sample_rate": 16000,
        "channels": 1,
    },
    {
        "name": "weather.ogg",
        "text": "The weather today is sunny and warm, with a light breeze.",
        "convert": "sox",
        # Stereo with different channels: left is the speech, right the same at half amplitude.
        "args": ["-r", "44100", "-C", "3"],
        "effects": ["remix", "1", "1v0.5"],
        "format": "Ogg Vorbis",
        "sample_rate": 44100,
        "channels": 2,
    },
    {
        "name": "long_story.wav",
        "text": (
            "Once upon a time, a small robot lived in a quiet village by the sea. "
            "Every morning it walked to the harbor to count the boats. "
            "One stormy night, it turned on the lighthouse lamp, and every sailor found the way home."
        ),
        "convert": "sox",
        "args": ["-r", "16000", "-c", "1", "-b", "16", "-e", "signed-integer"],
        "format": "WAV (PCM 16-bit)",
        "sample_rate": 16000,
        "channels": 1,
    },
    {
        "name": "short.mp3",
        "text": "Good morning, how are you?",
        "convert": "ffmpeg",
        "args": ["-ar", "24000", "-ac", "1", "-c:a", "libmp3lame", "-b:a", "48k"],
        "format": "MP3 (MPEG-2 Layer III, 48 kbit/s)",
        "sample_rate": 24000,
        "channels": 1,
    },
    {
        "name": "thanks.opus",
        "text": "Thank you very much.",
        "convert": "ffmpeg",
        "args": ["-ar", "48000", "-ac", "1", "-c:a", "libopus", "-b:a", "32k"],
        "format": "Ogg Opus (32 kbit/s)",
        "sample_rate": 48000,
        "channels": 1,
    },
]


def run(cmd: list[str]) -> None:
    result = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        sys.exit(f"command failed ({result.returncode}): {' '.join(cmd)}\n{result.stderr}")


def make(out: Path) -> list[dict]:
    for tool in ("espeak-ng", "sox", "ffmpeg"):
        if shutil.which(tool) is None:
            sys.exit(f"{tool} is not on PATH; on Debian: sudo apt-get install espeak-ng sox libsox-fmt-all ffmpeg")
    out.mkdir(parents=True, exist_ok=True)
    manifest = []
    with tempfile.TemporaryDirectory() as tmp:
        for clip in CLIPS:
            source = Path(tmp) / (Path(clip["name"]).stem + ".espeak.wav")
            run(ESPEAK + ["-w", str(source), clip["text"]])
            with wave.open(str(source), "rb") as w:
                assert (w.getframerate(), w.getnchannels(), w.getsampwidth()) == (22050, 1, 2)
                duration = w.getnframes() / w.getframerate()
            target = out / clip["name"]
            if clip["convert"] == "copy":
                shutil.copyfile(source, target)
            elif clip["convert"] == "sox":
                run(SOX + [str(source)] + clip["args"] + [str(target)] + clip.get("effects", []))
            else:
                run(FFMPEG + ["-i", str(source)] + clip["args"] + FFMPEG_BITEXACT + [str(target)])
            manifest.append(
                {
                    "name": clip["name"],
                    "text": clip["text"],
                    "format": clip["format"],
                    "sample_rate": clip["sample_rate"],
                    "channels": clip["channels"],
                    "duration_s": round(duration, 6),
                    "bytes": target.stat().st_size,
                }
            )
    (out / "transcripts.json").write_text(
        json.dumps({m["name"]: m["text"] for m in manifest}, indent=2) + "\n", encoding="utf-8"
    )
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return manifest


def print_table(manifest: list[dict]) -> None:
    print("| file | text | format | rate (Hz) | channels | duration (s) | bytes |")
    print("|---|---|---|---|---|---|---|")
    for m in manifest:
        print(
            f"| `{m['name']}` | {m['text']} | {m['format']} | {m['sample_rate']} | {m['channels']} "
            f"| {m['duration_s']:.2f} | {m['bytes']} |"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=HERE, help="output folder (default: this script's folder)")
    parser.add_argument("--check", action="store_true", help="regenerate into a temporary folder and compare bytes")
    args = parser.parse_args()
    if not args.check:
        print_table(make(args.out))
        return 0
    names = [c["name"] for c in CLIPS] + ["transcripts.json", "manifest.json"]
    with tempfile.TemporaryDirectory() as tmp:
        make(Path(tmp))
        _, mismatch, errors = filecmp.cmpfiles(args.out, tmp, names, shallow=False)
    for name in mismatch + errors:
        print(f"differs or missing: {name}")
    if mismatch or errors:
        return 1
    print(f"all {len(names)} files are byte-identical to a fresh regeneration")
    return 0


if __name__ == "__main__":
    sys.exit(main())
