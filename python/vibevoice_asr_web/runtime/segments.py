"""The model's answer -> segments {start, end, speaker, text}.

VibeVoice-ASR answers `assistant\\n[{"Start":0,"End":1.5,"Speaker":0,"Content":"..."}, ...]`. The
browser library (web/src/vibevoice/output/parse.ts) implements the same rules line for line, and
both are held to the shared fixtures in testdata/model_outputs/ (made by its make_fixtures.py):

- chat markup is dropped: `<|im_start|>`, `<|im_end|>`, `<|endoftext|>` anywhere, a first line that
  is just `assistant`, and a code fence (```json ... ```) around the rest;
- a JSON list of segments, or a bare object / a list without its `[` (the model sometimes drops it);
- keys in any casing, with spaces, "_" or "-" ignored: Start/"Start time"/start_time/begin,
  End/"End time"/stop, Speaker/"Speaker ID"/spk, Content/text/transcript/transcription;
- times as numbers, numeric strings ("1.50", "4.5s") or clock times ("01:02.5", "1:02:03,25");
  a time that is none of these (or negative, or not finite) is left empty rather than losing the
  whole transcript, and the subtitles fill it in (formats.cues);
- a decode cut short (max tokens, repetition) leaves the list unfinished: its complete segments are
  kept (`truncated=True`), as transformers' `VibeVoiceAsrProcessor.decode(return_format="parsed")`
  does; text after the list's closing bracket (a repeated list) is ignored.

Anything else (no segment list, an element without content) comes back as the cleaned text with
`parsed=False`; this module never raises on model output.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass

# canonical field <- spellings, compared lower-case with spaces, "_" and "-" removed
FIELDS = {
    "start": ("start", "starttime", "begin", "begintime"),
    "end": ("end", "endtime", "stop", "stoptime"),
    "speaker": ("speaker", "speakerid", "spk", "speakerlabel"),
    "text": ("content", "text", "transcript", "transcription"),
}
_FIELD_OF = {spelling: field for field, spellings in FIELDS.items() for spelling in spellings}
_SPECIAL = re.compile(r"<\|(?:im_start|im_end|endoftext)\|>")
_HEADER = re.compile(r"^assistant[ \t]*(?:\n|$)")
_FENCE = re.compile(r"```[a-z]*\s*(.*?)\s*(?:```\s*)?", re.S | re.I)
_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")
_CLOCK = re.compile(r"(?:([0-9]+):)?([0-9]{1,2}):([0-9]{1,2}(?:[.,][0-9]+)?)")
_SCALAR_END = re.compile(r"[,\]}\s]")


@dataclass(frozen=True)
class Segment:
    start: float | None
    end: float | None
    speaker: int | float | str | None
    text: str

    def as_dict(self) -> dict:
        return {"start": _js_number(self.start), "end": _js_number(self.end), "speaker": _js_number(self.speaker), "text": self.text}


@dataclass(frozen=True)
class Transcript:
    text: str  # the segments' texts joined by spaces, or the cleaned answer when not parsed
    segments: tuple[Segment, ...]
    parsed: bool
    truncated: bool  # True when segments were salvaged from an unfinished JSON list

    def segments_as_dicts(self) -> list[dict]:
        return [s.as_dict() for s in self.segments]

    def as_dict(self) -> dict:
        """What both languages' JSON export holds for a transcript."""
        return {"text": self.text, "segments": self.segments_as_dicts(), "parsed": self.parsed, "truncated": self.truncated}


def _js_number(value):
    """1.0 -> 1, so that json.dumps writes numbers as JavaScript's JSON.stringify does ("1", not "1.0")."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    return value


def clean(answer: str) -> str:
    """The answer without chat markup: special tokens, an `assistant` first line, a code fence."""
    text = _SPECIAL.sub("", answer).strip()
    text = _HEADER.sub("", text, count=1).strip()
    fence = _FENCE.fullmatch(text)
    return (fence.group(1) if fence else text).strip()


def _value_end(text: str, start: int) -> int:
    """The index just past the JSON value starting at `start`, or -1 if the text ends inside it."""
    first, n = text[start], len(text)
    if first == '"':
        i = start + 1
        while i < n:
            if text[i] == "\\":
                i += 2
            elif text[i] == '"':
                return i + 1
            else:
                i += 1
        return -1
    if first in "{[":
        depth, i = 0, start
        while i < n:
            c = text[i]
            if c == '"':
                i += 1
                while i < n and text[i] != '"':
                    i += 2 if text[i] == "\\" else 1
                if i >= n:
                    return -1
            elif c in "{[":
                depth += 1
            elif c in "}]":
                depth -= 1
                if depth == 0:
                    return i + 1
            i += 1
        return -1
    # a scalar runs to the next delimiter; at the very end it may be cut off, so it does not count
    match = _SCALAR_END.search(text, start)
    return match.start() if match else -1


def _no_constant(name: str):
    raise ValueError(f"{name} is not JSON")  # as JSON.parse: NaN and Infinity are not JSON


def _scan_list(text: str) -> tuple[list, bool]:
    """The complete elements of the JSON list opening at text[0], and whether its `]` was reached.
    Each element is delimited by a bracket- and string-aware scan and parsed on its own, so a list
    cut off (or followed by junk) keeps what came before (json_scan.ts does the same)."""
    values, pos, n = [], 1, len(text)
    while pos < n:
        while pos < n and (text[pos] == "," or text[pos].isspace()):
            pos += 1
        if pos >= n:
            break
        if text[pos] == "]":
            return values, True
        end = _value_end(text, pos)
        if end < 0:
            break
        try:
            values.append(json.loads(text[pos:end], parse_constant=_no_constant))
        except (ValueError, RecursionError):
            break
        pos = end
    return values, False


def seconds(value) -> float | None:
    """Seconds from a number, "12.5", "4.5s", "01:02.5" or "1:02:03,25"; None otherwise (or when negative)."""
    result = None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        try:
            result = float(value)
        except OverflowError:
            return None
    elif isinstance(value, str):
        s = value.strip()
        s = s[:-1] if s[-1:] in ("s", "S") else s
        if _NUMBER.fullmatch(s):
            result = float(s)
        elif clock := _CLOCK.fullmatch(s):
            hours, minutes, secs = clock.groups()
            result = float(hours or 0) * 3600 + float(minutes) * 60 + float(secs.replace(",", "."))
    return result if result is not None and math.isfinite(result) and result >= 0 else None


def _speaker(value) -> int | float | str | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return (int(value) if value.is_integer() else value) if math.isfinite(value) else None
    if isinstance(value, str):
        s = value.strip()
        return int(s) if re.fullmatch(r"[0-9]+", s) else (s or None)
    return None


def _segment(item) -> Segment | None:
    if not isinstance(item, dict):
        return None
    fields = {}
    for key, value in item.items():
        field = _FIELD_OF.get(re.sub(r"[\s_-]+", "", key).lower())
        if field:
            fields.setdefault(field, value)
    if "text" not in fields:
        return None
    text = fields["text"]
    if not isinstance(text, str):
        text = "" if text is None else json.dumps(text, ensure_ascii=False, separators=(",", ":"))
    return Segment(seconds(fields.get("start")), seconds(fields.get("end")), _speaker(fields.get("speaker")), text.strip())


def parse(answer: str) -> Transcript:
    """Segments from the decoded answer (special tokens skipped or not)."""
    body = clean(answer)
    raw = Transcript(body, (), parsed=False, truncated=False)
    if body.startswith("["):
        items, complete = _scan_list(body)
    elif body.startswith("{"):  # a bare object, or a list without its "["
        items, complete = _scan_list("[" + body)
        complete = complete or bool(items)
    else:
        return raw
    if not complete and not items:
        return raw
    segments = [_segment(item) for item in items]
    if any(s is None for s in segments):
        return raw
    return Transcript(" ".join(s.text for s in segments if s.text), tuple(segments), parsed=True, truncated=not complete)
