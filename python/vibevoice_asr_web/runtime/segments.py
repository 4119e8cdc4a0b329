"""The model's answer -> segments {start, end, speaker, text}.

VibeVoice-ASR answers `assistant\\n[{"Start":0,"End":1.5,"Speaker":0,"Content":"..."}, ...]` (the
prompt asks for "Start time, End time, Speaker ID, Content", so both spellings are accepted). A
decode cut short (max tokens, repetition) leaves the array unfinished: its complete segments are
kept, as transformers' `VibeVoiceAsrProcessor.decode(return_format="parsed")` does. Anything else
(not a JSON array of objects with content and numeric times) comes back as the raw text with
`parsed=False`; this module never raises on model output.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import asdict, dataclass

# canonical field <- spellings (compared lower-case, with "_" and runs of spaces as one space)
FIELDS = {
    "start": ("start", "start time"),
    "end": ("end", "end time"),
    "speaker": ("speaker", "speaker id"),
    "text": ("content",),
}
_FIELD_OF = {spelling: field for field, spellings in FIELDS.items() for spelling in spellings}
_HEADER = re.compile(r"^\s*(?:<\|im_start\|>)?\s*assistant[ \t]*(?:\n|$)")
_TRAILER = re.compile(r"(?:\s*<\|(?:im_end|endoftext)\|>)+\s*$")
_SEPARATOR = re.compile(r"[\s,]*")


@dataclass(frozen=True)
class Segment:
    start: float | None
    end: float | None
    speaker: int | str | None
    text: str


@dataclass(frozen=True)
class Transcript:
    text: str  # the segments' texts joined by spaces, or the raw answer when not parsed
    segments: tuple[Segment, ...]
    parsed: bool
    complete: bool  # False when segments were salvaged from an unfinished JSON array

    def segments_as_dicts(self) -> list[dict]:
        return [asdict(s) for s in self.segments]


def strip_header(answer: str) -> str:
    """Drops a leading `<|im_start|>assistant\\n` (or `assistant\\n`) and trailing end-of-turn tokens."""
    return _TRAILER.sub("", _HEADER.sub("", answer, count=1)).strip()


def _complete_items(body: str) -> list:
    """The values of an unfinished JSON array that are complete, in order."""
    decoder = json.JSONDecoder()
    items, pos = [], _SEPARATOR.match(body, 1).end()
    while pos < len(body):
        try:
            item, pos = decoder.raw_decode(body, pos)
        except (ValueError, RecursionError):  # unfinished, or nested too deep for the decoder
            break
        items.append(item)
        pos = _SEPARATOR.match(body, pos).end()
    return items


def _seconds(value) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValueError("a boolean is not a time")
    seconds = float(value)  # numbers, and numeric strings such as "1.50"
    if not math.isfinite(seconds) or seconds < 0:
        raise ValueError(f"{value!r} is not a time")
    return seconds


def _speaker(value) -> int | str | None:
    if value is None or isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    text = str(value).strip()
    return int(text) if text.isdigit() else text


def _segment(item) -> Segment | None:
    if not isinstance(item, dict):
        return None
    fields = {}
    for key, value in item.items():
        field = _FIELD_OF.get(re.sub(r"[\s_]+", " ", str(key)).strip().lower())
        if field:
            fields.setdefault(field, value)
    if "text" not in fields:
        return None
    try:
        start, end = _seconds(fields.get("start")), _seconds(fields.get("end"))
    except (TypeError, ValueError):
        return None
    text = fields["text"] if isinstance(fields["text"], str) else json.dumps(fields["text"], ensure_ascii=False)
    return Segment(start, end, _speaker(fields.get("speaker")), text.strip())


def parse(answer: str) -> Transcript:
    """Segments from the decoded answer (special tokens skipped or not)."""
    body = strip_header(answer)
    raw = Transcript(body, (), parsed=False, complete=False)
    if not body.startswith("["):
        return raw
    try:
        items, complete = json.loads(body), True
    except (ValueError, RecursionError):
        items, complete = _complete_items(body), False
        if not items:
            return raw
    if not isinstance(items, list):
        return raw
    segments = [_segment(item) for item in items]
    if any(s is None for s in segments):
        return raw
    return Transcript(" ".join(s.text for s in segments if s.text), tuple(segments), parsed=True, complete=complete)
