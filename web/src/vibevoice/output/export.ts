// Subtitles and JSON from segments. Missing times are filled in so every cue is well-formed: a
// missing start follows the previous cue, a missing (or non-increasing) end runs to the next start
// or lasts DEFAULT_CUE_SECONDS.
import type { Segment } from './parse';

export const DEFAULT_CUE_SECONDS = 2;

export interface Cue {
  start: number;
  end: number;
  speaker: number | string | null;
  text: string;
}

/** Segments with every start and end filled in, in order. */
export function toCues(segments: Segment[]): Cue[] {
  const cues: Cue[] = [];
  let previousEnd = 0;
  segments.forEach((segment, i) => {
    const start = Math.max(0, segment.start ?? previousEnd);
    let end = segment.end ?? NaN;
    if (!(end > start)) {
      const next = segments.slice(i + 1).find((s) => s.start !== null && s.start > start)?.start;
      end = next ?? start + DEFAULT_CUE_SECONDS;
    }
    cues.push({ start, end, speaker: segment.speaker, text: segment.text });
    previousEnd = end;
  });
  return cues;
}

/**
 * The segments subtitles show: the parsed ones, or, when the answer was not the model's segment
 * list, one cue spanning the audio with the raw text (as the Python runtime does).
 */
export function subtitleSegments(result: { segments: Segment[]; rawText: string }, durationS: number): Segment[] {
  if (result.segments.length > 0 || !result.rawText.trim()) return result.segments;
  return [{ start: 0, end: Math.max(durationS, 0.001), speaker: null, text: result.rawText.trim() }];
}

/** "HH:MM:SS,mmm" (SRT) or "HH:MM:SS.mmm" (WebVTT). */
export function formatTimestamp(seconds: number, separator: ',' | '.'): string {
  const totalMs = Math.max(0, Math.round(seconds * 1000));
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

/** SubRip subtitles; the speaker prefixes each cue ("Speaker 0: ..."). */
export function toSrt(segments: Segment[]): string {
  return toCues(segments)
    .map((cue, i) => {
      const label = speakerLabel(cue.speaker);
      const text = (label ? `${label}: ${cue.text}` : cue.text).replace(/\n{2,}/g, '\n');
      return `${i + 1}\n${formatTimestamp(cue.start, ',')} --> ${formatTimestamp(cue.end, ',')}\n${text}\n`;
    })
    .join('\n');
}

function escapeVtt(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** WebVTT subtitles; the speaker is a voice span ("<v Speaker 0>..."). */
export function toVtt(segments: Segment[]): string {
  const cues = toCues(segments).map((cue) => {
    const label = speakerLabel(cue.speaker);
    const text = escapeVtt(cue.text.replace(/\n{2,}/g, '\n').replace(/-->/g, '->'));
    const body = label ? `<v ${escapeVtt(label)}>${text}` : text;
    return `${formatTimestamp(cue.start, '.')} --> ${formatTimestamp(cue.end, '.')}\n${body}\n`;
  });
  return ['WEBVTT\n', ...cues].join('\n');
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
