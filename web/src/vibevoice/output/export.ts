// Subtitles, text and JSON from segments: the same bytes as the Python runtime's exporters
// (python/vibevoice_asr_web/runtime/formats.py), held to it by the shared fixtures in
// testdata/model_outputs/. Missing times are filled in so every cue is well-formed: a missing start
// is the previous cue's end (or 0); a missing end, or one not after its start, is the next later
// start, else the end of the audio (not an invented fixed length; formats.py says why).
import type { Segment } from './parse';

export interface Cue {
  start: number;
  end: number;
  speaker: number | string | null;
  text: string;
}

/** Segments with every start and end filled in, in order; `durationS` ends a cue nothing else ends. */
export function toCues(segments: Segment[], durationS: number): Cue[] {
  const cues: Cue[] = [];
  let previousEnd = 0;
  segments.forEach((segment, i) => {
    const start = segment.start ?? previousEnd;
    let end = segment.end;
    if (end === null || !(end > start)) {
      const next = segments.slice(i + 1).find((s) => s.start !== null && s.start > start)?.start;
      end = next ?? Math.max(durationS, start);
    }
    cues.push({ start, end, speaker: segment.speaker, text: segment.text });
    previousEnd = end;
  });
  return cues;
}

/**
 * The segments subtitles show: the parsed ones, or, when the answer was not the model's segment
 * list, one cue spanning the audio with its text (as the Python runtime does).
 */
export function subtitleSegments(result: { segments: Segment[]; parsed: boolean; text: string }, durationS: number): Segment[] {
  if (result.parsed) return result.segments;
  const text = result.text.trim();
  return text ? [{ start: 0, end: durationS, speaker: null, text }] : [];
}

/** "HH:MM:SS,mmm" (SRT) or "HH:MM:SS.mmm" (WebVTT), to the nearest millisecond (halves up). */
export function formatTimestamp(seconds: number, separator: ',' | '.'): string {
  const totalMs = Math.max(0, Math.floor(seconds * 1000 + 0.5));
  const ms = totalMs % 1000;
  const s = Math.floor(totalMs / 1000) % 60;
  const m = Math.floor(totalMs / 60000) % 60;
  const h = Math.floor(totalMs / 3600000);
  const two = (n: number) => String(n).padStart(2, '0');
  return `${two(h)}:${two(m)}:${two(s)}${separator}${String(ms).padStart(3, '0')}`;
}

export function speakerLabel(speaker: number | string | null): string | null {
  if (speaker === null || speaker === '') return null;
  return typeof speaker === 'number' ? `Speaker ${speaker}` : speaker;
}

/** Cue text without blank lines (a blank line ends a cue in both formats). */
function lines(text: string): string {
  return text
    .split(/\r\n|[\r\n]/)
    .map((line) => line.trim())
    .filter(Boolean)
    .join('\n');
}

/** SubRip subtitles; the speaker prefixes each cue ("Speaker 0: ..."). */
export function toSrt(segments: Segment[], durationS: number): string {
  return toCues(segments, durationS)
    .map((cue, i) => {
      const label = speakerLabel(cue.speaker);
      const prefix = label ? `${label}: ` : '';
      return `${i + 1}\n${formatTimestamp(cue.start, ',')} --> ${formatTimestamp(cue.end, ',')}\n${prefix}${lines(cue.text)}\n`;
    })
    .join('\n');
}

function escapeVtt(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** WebVTT subtitles; the speaker is a voice span ("<v Speaker 0>...</v>"). */
export function toVtt(segments: Segment[], durationS: number): string {
  const cues = toCues(segments, durationS).map((cue) => {
    const label = speakerLabel(cue.speaker);
    const text = escapeVtt(lines(cue.text));
    const body = label ? `<v ${escapeVtt(label)}>${text}</v>` : text;
    return `${formatTimestamp(cue.start, '.')} --> ${formatTimestamp(cue.end, '.')}\n${body}\n`;
  });
  return ['WEBVTT\n', ...cues].join('\n');
}

/** The plain-text download: the transcript and a final newline. */
export function toText(transcript: { text: string }): string {
  return `${transcript.text.trim()}\n`;
}

export interface TranscriptJson {
  text: string;
  segments: Segment[];
  parsed: boolean;
  [extra: string]: unknown;
}

/** Pretty JSON of a transcript (segments plus whatever else the caller adds). */
export function toJson(transcript: TranscriptJson): string {
  return `${JSON.stringify(transcript, null, 2)}\n`;
}
