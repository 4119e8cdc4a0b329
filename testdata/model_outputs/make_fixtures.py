"""Writes model_outputs.json: raw VibeVoice-ASR answers and what both runtimes must make of them.

Each case is an answer the model writes (or could: cut off, repeated, other key spellings, code
fences, clock times, missing ends, empty) with the audio's duration; its `expected` values are the
Python runtime's (segments.parse and formats): text, segments, parsed, truncated, and the SRT,
WebVTT, text and JSON exports. python/tests/test_runtime_segments.py checks that Python still gives
them and web/test/parse.test.mjs that the browser library gives exactly the same. Run it again when
the rules change on purpose, and commit the result:

    PYTHONPATH=python python3 testdata/model_outputs/make_fixtures.py   (any Python with the runtime's dependencies)
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1] / "python"))

from vibevoice_asr_web.runtime import formats, segments  # noqa: E402
from vibevoice_asr_web.runtime.pipeline import DEFAULT_MAX_NEW_TOKENS  # noqa: E402

REAL = (
    '[{"Start":0.0,"End":1.26,"Speaker":0,"Content":"Hello world."},'
    '{"Start":1.3,"End":3.5,"Speaker":1,"Content":"Hi, how are you?"},'
    '{"Start":3.62,"End":5.01,"Speaker":0,"Content":"Fine, thanks."}]'
)
LOOP = '{"Start":2.0,"End":3.0,"Speaker":0,"Content":"again and again"}'

# (name, raw answer, audio duration in seconds)
CASES = [
    ("canonical", "assistant\n" + REAL, 6.0),
    ("canonical, special tokens kept", "<|im_start|>assistant\n" + REAL + "<|im_end|>\n<|endoftext|>", 6.0),
    ("canonical, pretty-printed", "assistant\n" + json.dumps(json.loads(REAL), indent=2), 6.0),
    ("truncated inside a string", "assistant\n" + REAL[:150], 6.0),
    ("truncated after a comma", "assistant\n" + REAL[: REAL.index("},{") + 2], 6.0),
    ("truncated inside a number", 'assistant\n[{"Start":0,"End":1,"Speaker":0,"Content":"a"},{"Start":1.', 6.0),
    ("truncated, nothing complete", 'assistant\n[{"Start":0,"End":1,"Speaker":0,"Content":"a', 6.0),
    ("repeated segment, cut off", "assistant\n[" + ",".join([LOOP] * 6) + ',{"Start":2.0,"End"', 9.0),
    ("repeated list", "assistant\n" + REAL + "\n" + REAL, 6.0),
    ("prompt spellings", '[{"Start time":0,"End time":2,"Speaker ID":3,"Content":"a"}]', 4.0),
    ("lowercase keys", '[{"start":0.5,"end":1.5,"speaker":1,"text":"lower case"}]', 4.0),
    ("snake_case keys", '[{"start_time":"0","end_time":"2.0","speaker_id":"3","content":" padded "}]', 4.0),
    ("other synonyms", '[{"BEGIN":1,"Stop":2,"spk":0,"Transcript":"x"},{"Begin-Time":2,"stop_time":3,"Speaker Label":1,"transcription":"y"}]', 4.0),
    ("bare object", 'assistant\n{"Start":1,"End":2,"Speaker":0,"Content":"one object"}', 3.0),
    ("list without its bracket", '{"Start":0,"End":1,"Speaker":0,"Content":"a"},{"Start":1,"End":2,"Speaker":1,"Content":"b"}]', 3.0),
    ("code fence", "assistant\n```json\n" + REAL + "\n```", 6.0),
    ("code fence, unclosed and cut off", "```\n" + REAL[:150], 6.0),
    ("code fence around plain text", "```\nJust words.\n```", 2.0),
    ("clock times", '[{"Start":"00:01:02.5","End":"00:01:04,25","Speaker":0,"Content":"a"},{"Start":"01:05","End":"1:01:06.125","Speaker":1,"Content":"b"}]', 3700.0),
    ("numeric strings and units", '[{"Start":"1.50","End":"2.5s","Speaker":"02","Content":"a"},{"Start":" 3 ","End":"4S","Speaker":" 1 ","Content":"b"}]', 5.0),
    ("missing end: next start, else end of audio", '[{"Start":0,"Speaker":0,"Content":"a"},{"Start":2.5,"End":3,"Speaker":1,"Content":"b"},{"Start":4,"Speaker":0,"Content":"c"}]', 7.25),
    ("end not after start", '[{"Start":1,"End":1,"Content":"a"},{"Start":3,"End":2,"Content":"b"},{"Start":3,"End":2.5,"Content":"c"},{"Start":5,"End":6,"Content":"d"}]', 8.0),
    ("missing starts", '[{"Content":"a"},{"Start":2,"Content":"b"},{"End":4,"Content":"c"},{"Content":"d"}]', 9.0),
    ("start beyond the audio", '[{"Start":1,"End":2,"Content":"a"},{"Start":12,"Content":"b"}]', 10.0),
    ("unreadable times", '[{"Start":"soon","End":null,"Speaker":"Alice","Content":"a"},{"Start":-1,"End":true,"Speaker":"","Content":"b"},{"Start":1e400,"End":"1:2:3:4","Speaker":null,"Content":"c"}]', 5.0),
    ("speaker labels", '[{"Start":0,"End":1,"Speaker":"Alice","Content":"a"},{"Start":1,"End":2,"Speaker":1.5,"Content":"b"},{"Start":2,"End":3,"Speaker":2.0,"Content":"c"},{"Start":3,"End":4,"Speaker":[1],"Content":"d"},{"Start":4,"End":5,"Speaker":false,"Content":"e"}]', 5.0),
    ("content that is not a string", '[{"Start":0,"End":1,"Speaker":0,"Content":null},{"Start":1,"End":2,"Speaker":0,"Content":["x",{"y":true}]},{"Start":2,"End":3,"Speaker":0,"Content":""}]', 3.0),
    ("text that subtitles must escape", '[{"Start":0,"End":1,"Speaker":"<b>&","Content":"a <i>x</i> & b --> c"},{"Start":1,"End":2,"Speaker":0,"Content":"line one\\n\\n  \\nline two\\r\\nthree\\rfour"}]', 2.0),
    ("unicode", '[{"Start":0,"End":1.5,"Speaker":0,"Content":"Zürich, naïve café, 東京 — \\u00e9\\ud83d\\ude00"}]', 2.0),
    ("millisecond halves", '[{"Start":0.0005,"End":1.0015,"Speaker":0,"Content":"a"},{"Start":1.0025,"End":3661.9995,"Speaker":0,"Content":"b"}]', 4000.0),
    ("empty output", "", 3.0),
    ("only the header", "assistant\n", 3.0),
    ("only special tokens", "<|im_end|><|endoftext|>", 3.0),
    ("empty list", "assistant\n[]", 3.0),
    ("plain text", "assistant\nHello world, plain text.", 3.0),
    ("plain text starting with a bracket", "[Music] hello --> there", 3.0),
    ("garbage", "9 mpokeGtres\ufffdven some garbage <|repo_name|>", 3.0),
    ("an element without content", '[{"Start":0,"End":1,"Speaker":0,"Content":"a"},{"Start":0,"End":1,"Speaker":0}]', 3.0),
    ("a list of strings", '["just", "strings"]', 3.0),
    ("NaN is not JSON", '[{"Start":0,"End":1,"Content":"a"},{"Start":NaN,"End":1,"Content":"x"}]', 3.0),
    ("a scalar cut off", '[{"Start":0,"End":1,"Content":"a"}, 2', 3.0),
    ("nested too deep", "[" * 3000, 3.0),
]


def expected(raw: str, duration: float) -> dict:
    t = segments.parse(raw)
    return {
        **t.as_dict(),
        "srt": formats.srt(t, duration),
        "vtt": formats.vtt(t, duration),
        "txt": formats.text(t),
        "json": formats.json_text(t),
    }


def fixtures() -> dict:
    return {
        "about": "made by testdata/model_outputs/make_fixtures.py from the Python runtime; read by the Python and Node tests",
        "default_max_new_tokens": DEFAULT_MAX_NEW_TOKENS,
        "cases": [{"name": name, "raw": raw, "duration": duration, "expected": expected(raw, duration)} for name, raw, duration in CASES],
    }


def main() -> int:
    path = HERE / "model_outputs.json"
    path.write_text(json.dumps(fixtures(), ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {path} ({path.stat().st_size} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
