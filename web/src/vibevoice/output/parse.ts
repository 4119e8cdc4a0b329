// VibeVoice-ASR's output -> segments. The model writes a JSON list of
// {"Start": s, "End": s, "Speaker": n, "Content": text}. The rules are the Python runtime's
// (python/vibevoice_asr_web/runtime/segments.py, which lists them), rule for rule, and the shared
// fixtures in testdata/model_outputs/ hold both to the same segments: chat markup and code fences
// dropped, a bare object accepted, keys in any casing and the prompt's spellings ("Start time",
// "Speaker ID"), clock times, an unreadable or negative time left null. A cut-off list keeps its
// complete segments; anything else comes back as the cleaned text with `parsed: false`. Never throws.
import { scanJsonArray } from './json_scan';

export interface Segment {
  /** Seconds from the start of the audio, or null when the model gave none. */
  start: number | null;
  end: number | null;
  /** Speaker id (0, 1, ...), a label if the model wrote one, or null. */
  speaker: number | string | null;
  text: string;
}

export interface ParsedTranscript {
  segments: Segment[];
  /** True when the output was a JSON list of segments (possibly salvaged from a cut-off list). */
  parsed: boolean;
  /** True when the list was cut off and only its complete segments were kept. */
  truncated: boolean;
  /** The transcript as plain text: the segments' texts joined, or the cleaned raw output. */
  text: string;
  /** The model output this was parsed from. */
  raw: string;
}

const KEYS: Record<keyof Segment, string[]> = {
  start: ['start', 'starttime', 'begin', 'begintime'],
  end: ['end', 'endtime', 'stop', 'stoptime'],
  speaker: ['speaker', 'speakerid', 'spk', 'speakerlabel'],
  text: ['content', 'text', 'transcript', 'transcription'],
};

function canonicalKey(key: string): string {
  return key.toLowerCase().replace(/[\s_-]+/g, '');
}

function field(record: Record<string, unknown>, names: string[]): unknown {
  for (const [key, value] of Object.entries(record)) if (names.includes(canonicalKey(key))) return value;
  return undefined;
}

/** Seconds from a number, "12.5", "4.5s", "01:02.5" or "1:02:03,25"; null otherwise (or when negative). */
export function parseSeconds(value: unknown): number | null {
  let result: number | null = null;
  if (typeof value === 'number') result = value;
  else if (typeof value === 'string') {
    const s = value.trim().replace(/s$/i, '');
    const clock = /^(?:([0-9]+):)?([0-9]{1,2}):([0-9]{1,2}(?:[.,][0-9]+)?)$/.exec(s);
    if (/^[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)$/.test(s)) result = Number(s);
    else if (clock) result = Number(clock[1] ?? 0) * 3600 + Number(clock[2]) * 60 + Number(clock[3].replace(',', '.'));
  }
  return result !== null && Number.isFinite(result) && result >= 0 ? result : null;
}

function parseSpeaker(value: unknown): number | string | null {
  if (typeof value === 'number') return Number.isFinite(value) ? value : null;
  if (typeof value === 'string') {
    const s = value.trim();
    if (/^\d+$/.test(s)) return Number(s);
    return s || null;
  }
  return null;
}

function toSegment(value: unknown): Segment | null {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return null;
  const record = value as Record<string, unknown>;
  const text = field(record, KEYS.text);
  if (text === undefined) return null;
  return {
    start: parseSeconds(field(record, KEYS.start)),
    end: parseSeconds(field(record, KEYS.end)),
    speaker: parseSpeaker(field(record, KEYS.speaker)),
    text: typeof text === 'string' ? text.trim() : text === null ? '' : JSON.stringify(text),
  };
}

/**
 * The text of a segment the output was cut off in, as far as it was written ("" when the output
 * does not end inside a segment's text): what a live view or a stopped run shows of the segment
 * being written, besides the complete ones.
 */
export function cutOffSegmentText(raw: string): string {
  const cleaned = cleanOutput(typeof raw === 'string' ? raw : '');
  if (!cleaned.startsWith('[') && !cleaned.startsWith('{')) return '';
  const last = Math.max(cleaned.lastIndexOf('{'), 0);
  const open = /"([^"]*)"\s*:\s*"((?:[^"\\]|\\.)*)$/.exec(cleaned.slice(last)); // a key, then a string that never closes
  if (!open || !KEYS.text.includes(canonicalKey(open[1]))) return '';
  const written = open[2].replace(/\\(u[0-9a-fA-F]{0,3}|)$/, ''); // an escape cut in half
  try {
    return (JSON.parse(`"${written}"`) as string).trim();
  } catch {
    return written.trim();
  }
}

/** The model output without chat markup: special tokens, an `assistant` first line, a code fence. */
export function cleanOutput(raw: string): string {
  let t = raw.replace(/<\|(?:im_start|im_end|endoftext)\|>/g, '').trim();
  t = t.replace(/^assistant[ \t]*(?:\n|$)/, '').trim();
  const fence = /^```[a-z]*\s*([\s\S]*?)\s*(?:```\s*)?$/i.exec(t);
  return (fence ? fence[1] : t).trim();
}

/** Parses VibeVoice-ASR output into segments; never throws. */
export function parseTranscription(raw: string): ParsedTranscript {
  const input = typeof raw === 'string' ? raw : String(raw ?? '');
  const cleaned = cleanOutput(input);
  const unparsed: ParsedTranscript = { segments: [], parsed: false, truncated: false, text: cleaned, raw: input };
  try {
    let values: unknown[];
    let complete: boolean;
    if (cleaned.startsWith('[')) {
      ({ values, complete } = scanJsonArray(cleaned, 0));
    } else if (cleaned.startsWith('{')) {
      ({ values, complete } = scanJsonArray(`[${cleaned}`, 0)); // a bare object, or a list without its '['
      complete = complete || values.length > 0;
    } else {
      return unparsed;
    }
    if (!complete && values.length === 0) return unparsed;
    const segments = values.map(toSegment);
    if (segments.some((s) => s === null)) return unparsed;
    const kept = segments as Segment[];
    return {
      segments: kept,
      parsed: true,
      truncated: !complete,
      text: kept.map((s) => s.text).filter(Boolean).join(' ').trim(),
      raw: input,
    };
  } catch {
    return unparsed;
  }
}
