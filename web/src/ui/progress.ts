// Per-file download bars and a total, fed by VibeVoiceASR.load's onProgress events.
import type { LoadProgress } from '../vibevoice/client';
import { formatBytes, show } from './dom';

interface FileRow {
  item: HTMLLIElement;
  bar: HTMLProgressElement;
  text: HTMLSpanElement;
  loaded: number;
  total: number;
  done: boolean;
}

export class DownloadProgress {
  private readonly rows = new Map<string, FileRow>();

  constructor(
    private readonly container: HTMLDetailsElement,
    private readonly list: HTMLUListElement,
    private readonly totalBar: HTMLProgressElement,
    private readonly totalText: HTMLElement,
  ) {}

  reset(): void {
    this.rows.clear();
    this.list.replaceChildren();
    this.totalBar.value = 0;
    this.totalText.textContent = '';
    this.container.open = true;
    show(this.container, false);
  }

  /** Loading finished: fold the file list under its total (a click on the total opens it again). */
  collapse(): void {
    this.container.open = false;
  }

  update(event: LoadProgress): void {
    if (!event.file) return;
    show(this.container);
    const row = this.row(event.file);
    if (typeof event.total === 'number' && event.total > 0) row.total = event.total;
    if (typeof event.loaded === 'number') row.loaded = event.loaded;
    if (event.status === 'done') {
      row.done = true;
      row.loaded = Math.max(row.loaded, row.total);
    }
    row.bar.max = Math.max(row.total, 1);
    row.bar.value = row.done ? row.bar.max : row.loaded;
    row.item.dataset.state = row.done ? 'done' : row.loaded ? 'downloading' : 'waiting';
    row.text.textContent = row.done ? formatBytes(row.total || row.loaded) : row.total ? `${formatBytes(row.loaded)} / ${formatBytes(row.total)}` : 'waiting…';
    this.updateTotal();
  }

  private row(file: string): FileRow {
    let row = this.rows.get(file);
    if (!row) {
      const item = document.createElement('li');
      item.dataset.file = file;
      const name = document.createElement('span');
      name.className = 'file-name';
      name.textContent = file;
      const bar = document.createElement('progress');
      bar.max = 1;
      bar.value = 0;
      const text = document.createElement('span');
      text.className = 'file-bytes';
      item.append(name, bar, text);
      this.list.append(item);
      row = { item, bar, text, loaded: 0, total: 0, done: false };
      this.rows.set(file, row);
    }
    return row;
  }

  private updateTotal(): void {
    let loaded = 0;
    let total = 0;
    for (const row of this.rows.values()) {
      loaded += row.done ? Math.max(row.loaded, row.total) : row.loaded;
      total += Math.max(row.total, row.loaded);
    }
    this.totalBar.max = Math.max(total, 1);
    this.totalBar.value = loaded;
    this.totalText.textContent = `${formatBytes(loaded)} / ${formatBytes(total)}`;
  }
}
