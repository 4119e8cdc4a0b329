// The transcript table: one row per segment (speaker, start, end, text).
import type { Segment } from '../vibevoice/client';
import { formatClock } from './dom';

function cell(text: string, label: string, className?: string): HTMLTableCellElement {
  const td = document.createElement('td');
  td.textContent = text;
  td.dataset.label = label;
  if (className) td.className = className;
  return td;
}

export function speakerName(speaker: number | string | null): string {
  if (speaker === null) return '–';
  return typeof speaker === 'number' ? `Speaker ${speaker}` : speaker;
}

export function renderSegments(body: HTMLTableSectionElement, segments: Segment[], testid = 'segment-row'): void {
  const rows = segments.map((segment, i) => {
    const row = document.createElement('tr');
    row.dataset.testid = testid;
    row.dataset.index = String(i);
    if (segment.speaker !== null) row.dataset.speaker = String(segment.speaker);
    row.append(
      cell(speakerName(segment.speaker), 'Speaker', 'speaker'),
      cell(formatClock(segment.start), 'Start', 'time'),
      cell(formatClock(segment.end), 'End', 'time'),
      cell(segment.text, 'Text', 'text'),
    );
    return row;
  });
  body.replaceChildren(...rows);
}
