"""Transcripts as subtitles (SRT, WebVTT) and plain text.

One cue per segment, labelled with its speaker ("Speaker 0: ..." in SRT, a `<v Speaker 0>` voice
span in WebVTT). A transcript that could not be parsed becomes one cue spanning the whole audio
with the raw text. Missing times are filled from the neighbours (start: the previous end, or 0;
end: the next start, or the end of the audio).
"""

from __future__ import annotations

from dataclasses import dataclass

from vibevoice_asr_web.runtime.segments import Transcript


@dataclass(frozen=True)
class Cue:
    start: float
    end: float
    speaker: int | str | None
    text: str


def cues(transcript: Transcript, duration: float) -> list[Cue]:
    if not transcript.parsed:
        return [Cue(0.0, duration, None, transcript.text)] if transcript.text.strip() else []
    result, previous_end = [], 0.0
    segments = transcript.segments
    for i, segment in enumerate(segments):
        start = segment.start if segment.start is not None else previous_end
        following = next((s.start for s in segments[i + 1 :] if s.start is not None), None)
        end = segment.end if segment.end is not None else (following if following is not None else max(duration, start))
        result.append(Cue(start, max(end, start), segment.speaker, segment.text))
        previous_end = max(end, start)
    return result


def timestamp(seconds: float, decimal: str) -> str:
    """HH:MM:SS,mmm (SRT) or HH:MM:SS.mmm (WebVTT), rounded to the millisecond."""
    ms = max(0, round(seconds * 1000))
    hours, ms = divmod(ms, 3_600_000)
    minutes, ms = divmod(ms, 60_000)
    secs, ms = divmod(ms, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{decimal}{ms:03d}"


def _lines(text: str) -> str:
    """Cue text without blank lines (a blank line ends a cue in both formats)."""
    return "\n".join(line.strip() for line in text.splitlines() if line.strip())


def _vtt_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def srt(transcript: Transcript, duration: float) -> str:
    blocks = []
    for index, cue in enumerate(cues(transcript, duration), start=1):
        label = f"Speaker {cue.speaker}: " if cue.speaker is not None else ""
        blocks.append(f"{index}\n{timestamp(cue.start, ',')} --> {timestamp(cue.end, ',')}\n{label}{_lines(cue.text)}\n")
    return "\n".join(blocks)


def vtt(transcript: Transcript, duration: float) -> str:
    blocks = ["WEBVTT\n"]
    for cue in cues(transcript, duration):
        text = _vtt_escape(_lines(cue.text))
        if cue.speaker is not None:
            text = f"<v Speaker {_vtt_escape(str(cue.speaker))}>{text}</v>"
        blocks.append(f"{timestamp(cue.start, '.')} --> {timestamp(cue.end, '.')}\n{text}\n")
    return "\n".join(blocks)


def text(transcript: Transcript) -> str:
    return transcript.text.strip() + "\n"
