// The transcript section: meta line, segment table, raw output, copy and JSON/SRT/VTT downloads.
import { cleanOutput, cutOffSegmentText, subtitleSegments, toJson, toSrt, toVtt, type TranscriptionResult } from '../vibevoice/client';
import { byId, formatDuration, show } from './dom';
import { baseName, copyText, downloadText } from './downloads';
import { renderSegments } from './segments';

function summary(r: TranscriptionResult): string {
  const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
  const notes = [
    r.parsed || isEmptyResult(r) ? (r.truncated ? 'output was cut off; complete segments kept' : '') : 'the output was not a segment list: see the raw text',
    r.stopReason === 'repetition' ? 'stopped a repetition loop' : r.stopReason === 'max_new_tokens' ? 'reached the token limit' : '',
  ].filter(Boolean);
  return (
    `${r.segments.length} segment(s) from ${formatDuration(r.audio.durationS)} of audio · ${r.dtype} on ${r.device} · ` +
    `${r.generatedIds.length} tokens at ${r.tokensPerSecond.toFixed(1)} tokens/s · encode ${s(r.timings.encodeAudioMs)}, ` +
    `prefill ${s(r.timings.prefillMs)}, decode ${s(r.timings.decodeMs)}, total ${s(r.timings.totalMs)}` +
    notes.map((n) => ` · ${n}`).join('')
  );
}

/**
 * Nothing to copy or download: no segment, and no letter or digit in the text (an empty list "[]"),
 * or a list cut off (token limit, Stop) before its first segment was complete, like
 * '[{"Start":0,"End":14', which parses as no list.
 */
export function isEmptyResult(r: TranscriptionResult): boolean {
  if (r.segments.length) return false;
  const cutOffList = r.stopReason !== 'eos' && /^[[{]/.test(cleanOutput(r.rawText));
  return cutOffList || !/[\p{L}\p{N}]/u.test(r.text);
}

/** Why the result is empty, in words: the model found no speech, or stopped before its first segment. */
export function emptyResultMessage(r: TranscriptionResult): string {
  const partial = cutOffSegmentText(r.rawText);
  const soFar = partial ? ` Written so far: “${partial}”` : '';
  if (r.stopReason === 'max_new_tokens') {
    return `No complete segment within the token limit (${r.generatedIds.length} ${r.generatedIds.length === 1 ? 'token' : 'tokens'}): raise "Max new tokens" and transcribe again.${soFar}`;
  }
  if (r.stopReason === 'aborted') return `Stopped before the first segment was complete.${soFar}`;
  return 'No speech was found in this audio.';
}

const EXPORT_BUTTONS = ['copy-button', 'download-json', 'download-srt', 'download-vtt'];

/** The JSON download: the result without token ids and logits, plus the audio's name. */
export function exportJson(r: TranscriptionResult, source: string | undefined): string {
  const { text, segments, parsed, truncated, rawText, stopReason, device, dtype, audio, timings, tokensPerSecond } = r;
  return toJson({ text, segments, parsed, truncated, rawText, stopReason, device, dtype, audio, timings, tokensPerSecond, source });
}

export class ResultView {
  private result: TranscriptionResult | null = null;
  private sourceName = 'transcript';

  constructor(
    private readonly onMessage: (text: string) => void,
    private readonly onError: (error: unknown) => void,
  ) {
    byId('copy-button').addEventListener('click', () => void this.copy());
    byId('download-json').addEventListener('click', () => this.save('json', 'application/json', (r) => exportJson(r, this.sourceName)));
    byId('download-srt').addEventListener('click', () => this.save('srt', 'application/x-subrip', (r) => toSrt(subtitleSegments(r, r.audio.durationS), r.audio.durationS)));
    byId('download-vtt').addEventListener('click', () => this.save('vtt', 'text/vtt', (r) => toVtt(subtitleSegments(r, r.audio.durationS), r.audio.durationS)));
  }

  hide(): void {
    show(byId('result'), false);
  }

  render(r: TranscriptionResult, sourceName: string): void {
    this.result = r;
    this.sourceName = sourceName;
    renderSegments(byId<HTMLTableElement>('segments-table').tBodies[0], r.segments);
    byId('raw-text').textContent = r.rawText;
    byId('result-meta').textContent = summary(r);
    const empty = isEmptyResult(r);
    const notice = byId('empty-result');
    notice.textContent = empty ? emptyResultMessage(r) : '';
    show(notice, empty);
    for (const id of EXPORT_BUTTONS) byId<HTMLButtonElement>(id).disabled = empty;
    const section = byId('result');
    section.dataset.parsed = String(r.parsed);
    section.dataset.empty = String(empty);
    byId<HTMLDetailsElement>('raw-details').open = !r.parsed && !empty;
    show(section);
    section.scrollIntoView({ behavior: 'smooth', block: 'start' });
  }

  private async copy(): Promise<void> {
    if (!this.result || isEmptyResult(this.result)) return;
    try {
      await copyText(this.result.text);
      this.onMessage('Copied the transcript.');
    } catch (error) {
      this.onError(error);
    }
  }

  private save(extension: string, mimeType: string, make: (r: TranscriptionResult) => string): void {
    if (this.result && !isEmptyResult(this.result)) downloadText(`${baseName(this.sourceName)}.${extension}`, mimeType, make(this.result));
  }
}
