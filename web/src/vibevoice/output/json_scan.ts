// Reads the complete elements of a JSON array, also when the array is cut off (generation hit its
// token limit) or followed by junk: each element is delimited by a bracket/string-aware scan and
// parsed on its own.
//
// Hand-written: it must equal the Python runtime's _scan_list rule for rule (the shared fixtures
// check both), and JSON.parse takes only an exact span. The libraries read other rules:
// @streamparser/json stops at a missing or doubled comma (`[{..} {..}]`, `[,{..}]`), where both
// scans read on, and keeps a number that junk follows; partial-json keeps the cut-off last element
// (`[[` gives [[]]) and reads NaN; jsonrepair completes the cut-off segment instead of dropping it.

/** The index just past the JSON value starting at `start`, or -1 if the text ends inside it. */
function valueEnd(text: string, start: number): number {
  const first = text[start];
  if (first === '"') {
    for (let i = start + 1; i < text.length; i++) {
      if (text[i] === '\\') i++;
      else if (text[i] === '"') return i + 1;
    }
    return -1;
  }
  if (first === '{' || first === '[') {
    let depth = 0;
    for (let i = start; i < text.length; i++) {
      const c = text[i];
      if (c === '"') {
        i++;
        while (i < text.length && text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
        if (i >= text.length) return -1;
      } else if (c === '{' || c === '[') depth++;
      else if (c === '}' || c === ']') {
        depth--;
        if (depth === 0) return i + 1;
      }
    }
    return -1;
  }
  // A scalar runs to the next delimiter; at the very end it may be cut off, so it does not count.
  const match = /[,\]\}\s]/.exec(text.slice(start));
  return match ? start + match.index : -1;
}

export interface ArrayScan {
  values: unknown[];
  /** The closing bracket was reached. */
  complete: boolean;
}

/** The elements of the JSON array whose '[' is at `open`. */
export function scanJsonArray(text: string, open: number): ArrayScan {
  const values: unknown[] = [];
  let pos = open + 1;
  while (pos < text.length) {
    while (pos < text.length && /[\s,]/.test(text[pos])) pos++;
    if (pos >= text.length) break;
    if (text[pos] === ']') return { values, complete: true };
    const end = valueEnd(text, pos);
    if (end < 0) break;
    try {
      values.push(JSON.parse(text.slice(pos, end)));
    } catch {
      break;
    }
    pos = end;
  }
  return { values, complete: false };
}
