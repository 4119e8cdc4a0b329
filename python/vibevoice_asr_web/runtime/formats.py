"""Transcripts as subtitles (SRT, WebVTT), plain text and JSON.

The browser's exporters (web/src/vibevoice/output/export.ts) write the same bytes; the shared
fixtures in testdata/model_outputs/ hold both to it. One cue per segment, labelled with its speaker
("Speaker 0: ..." in SRT, a `<v Speaker 0>` voice span in WebVTT; a speaker the model named, such
as "Alice", is its own label). A transcript that could not be parsed becomes one cue spanning the
whole audio with its text.

Missing times are filled in so every cue is well-formed: a missing start is the previous cue's end
(or 0); a missing end, or one not after its start, is the next segment's start that is later, else
the end of the audio. (The end of the audio, not a fixed length: the last segment of a cut-off or
sloppy answer then covers what is left of the audio instead of flashing for an invented 2 s; a start
beyond the audio gives an empty cue at that start rather than a made-up time.)
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass

from vibevoice_asr_web.runtime.segments import Transcript


@dataclass(frozen=True)
class Cue:
    start: float
    end: float
    speaker: int | float | str | None
    text: str


def cues(transcript: Transcript, duration: float) -> list[Cue]:
    if not transcript.parsed:
        return [Cue(0.0, duration, None, transcript.text)] if transcript.text.strip() else []
    result, previous_end = [], 0.0
    segments = transcript.segments
    for i, segment in enumerate(segments):
        start = segment.start if segment.start is not None else previous_end
        end = segment.end
        if end is None or not end > start:
            end = next((s.start for s in segments[i + 1 :] if s.start is not None and s.start > start), max(duration, start))
        result.append(Cue(start, end, segment.speaker, segment.text))
        previous_end = end
    return result


def timestamp(seconds: float, decimal: str) -> str:
    """HH:MM:SS,mmm (SRT) or HH:MM:SS.mmm (WebVTT), to the nearest millisecond (halves up, as JavaScript's Math.round)."""
    ms = max(0, math.floor(seconds * 1000 + 0.5))
    hours, ms = divmod(ms, 3_600_000)
    minutes, ms = divmod(ms, 60_000)
    secs, ms = divmod(ms, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{decimal}{ms:03d}"


def speaker_label(speaker) -> str | None:
    if speaker is None or speaker == "":
        return None
    return speaker if isinstance(speaker, str) else f"Speaker {speaker}"


def _lines(text: str) -> str:
    """Cue text without blank lines (a blank line ends a cue in both formats)."""
    return "\n".join(line.strip() for line in re.split(r"\r\n|[\r\n]", text) if line.strip())


def _vtt_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def srt(transcript: Transcript, duration: float) -> str:
    blocks = []
    for index, cue in enumerate(cues(transcript, duration), start=1):
        label = speaker_label(cue.speaker)
        prefix = f"{label}: " if label else ""
        blocks.append(f"{index}\n{timestamp(cue.start, ',')} --> {timestamp(cue.end, ',')}\n{prefix}{_lines(cue.text)}\n")
    return "\n".join(blocks)


def vtt(transcript: Transcript, duration: float) -> str:
    blocks = ["WEBVTT\n"]
    for cue in cues(transcript, duration):
        text = _vtt_escape(_lines(cue.text))
        label = speaker_label(cue.speaker)
        if label:
            text = f"<v {_vtt_escape(label)}>{text}</v>"
        blocks.append(f"{timestamp(cue.start, '.')} --> {timestamp(cue.end, '.')}\n{text}\n")
    return "\n".join(blocks)


def text(transcript: Transcript) -> str:
    return transcript.text.strip() + "\n"


def json_text(transcript: Transcript) -> str:
    """The transcript as the browser's JSON export writes it: text, segments, parsed, truncated."""
    return json.dumps(transcript.as_dict(), indent=2, ensure_ascii=False) + "\n"
