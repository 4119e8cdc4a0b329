// The pre-flight report as a person reads it: what the chosen variant downloads and needs here for
// the chosen audio, and each thing that will not fit with what would (PreflightReport.problems).
import type { PreflightReport } from '../vibevoice/client';
import { formatBytes, formatDuration, show } from './dom';

export class PreflightView {
  constructor(
    private readonly container: HTMLElement,
    private readonly summary: HTMLElement,
    private readonly problems: HTMLUListElement,
  ) {}

  hide(): void {
    show(this.container, false);
    delete this.container.dataset.fits;
    delete this.container.dataset.audio;
    delete this.container.dataset.codes;
  }

  render(report: PreflightReport, forAudio: boolean): void {
    const { download, memory, largestTensor, bufferLimit } = report;
    const where = report.device === 'webgpu' ? 'WebGPU' : 'WASM (CPU)';
    const fetch = download.toFetchBytes
      ? `downloads ${formatBytes(download.toFetchBytes)}${download.exact ? '' : ' (estimated)'}${download.cachedBytes ? ` (${formatBytes(download.cachedBytes)} already stored here)` : ''}`
      : `is stored in this browser (${formatBytes(download.bytes)}): nothing to download`;
    const buffer = bufferLimit ? `; largest tensor ${formatBytes(largestTensor.bytes)} of this GPU's ${formatBytes(bufferLimit.bytes)} buffers` : '';
    this.summary.textContent =
      `${report.dtype} on ${where} ${fetch}, and needs about ${formatBytes(memory.total)} of memory ` +
      `for ${formatDuration(report.durationS)} of audio${forAudio ? '' : ' (choose audio for its own estimate)'}${buffer}.`;
    this.problems.replaceChildren(
      ...report.problems.map((p) => {
        const item = document.createElement('li');
        item.dataset.code = p.code;
        item.dataset.severity = p.severity;
        item.textContent = `${p.message} ${p.suggestion}`;
        return item;
      }),
    );
    show(this.problems, report.problems.length > 0);
    this.container.dataset.fits = String(report.fits);
    this.container.dataset.audio = String(forAudio);
    this.container.dataset.codes = report.problems.map((p) => p.code).join(' ');
    show(this.container);
  }
}
