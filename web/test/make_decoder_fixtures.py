"""Writes web/test/fixtures/decoders.json: the Python front end's decoding of the compressed test clips.

web/test/wasm_decoders.test.mjs decodes the same files with the library's wasm decoders (the tier
used where there is neither WebAudio nor WebCodecs, as in Node) and compares with these numbers.
Run it again whenever testdata/audio or `vibevoice_asr_web.audio` changes, and commit the result:

    PYTHONPATH=python python3 web/test/make_decoder_fixtures.py

Needs numpy and soundfile (the Python package's own dependencies).
"""

from __future__ import annotations

import base64
import hashlib
import json
import sys
from pathlib import Path

import numpy as np
import soundfile

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(REPO / "python"))

from vibevoice_asr_web import atomic, audio  # noqa: E402

CLIPS = ["short.mp3", "numbers.flac", "thanks.opus", "weather.ogg"]
STRIDE = 53  # every 53rd mono sample keeps the fixture small and still spans every frame


def clip_entry(name: str) -> dict:
    path = REPO / "testdata" / "audio" / name
    mono, rate = audio.load_audio(path)
    mono = np.ascontiguousarray(mono, dtype="<f4")
    return {
        "file": f"testdata/audio/{name}",
        "sample_rate": rate,
        "channels": soundfile.info(str(path)).channels,
        "num_frames": len(mono),
        "mono_sha256": hashlib.sha256(mono.tobytes()).hexdigest(),
        "mono_sum_squares": float(np.sum(np.square(mono, dtype=np.float64))),
        "stride": STRIDE,
        "mono_strided": base64.b64encode(mono[::STRIDE].tobytes()).decode("ascii"),
    }


def main() -> int:
    fixture = {"made_by": "web/test/make_decoder_fixtures.py", "clips": {name: clip_entry(name) for name in CLIPS}}
    out = HERE / "fixtures" / "decoders.json"
    atomic.write_text_atomic(out, json.dumps(fixture, indent=1) + "\n")
    print(f"wrote {out.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
