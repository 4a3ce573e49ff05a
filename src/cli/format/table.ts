/**
 * Column layout like the docker CLI (Go tabwriter: minimum width 10, padding 3, space
 * filled; the last column is not padded).
 */
const MIN_WIDTH = 10;
const PADDING = 3;

function width(s: string): number {
  return [...s].length;
}

export function renderTable(headers: string[], rows: string[][]): string {
  const all = [headers, ...rows];
  const columns = headers.length;
  const widths: number[] = [];
  for (let c = 0; c < columns - 1; c++) {
    const w = Math.max(...all.map((r) => width(r[c] ?? '')));
    widths.push(Math.max(w + PADDING, MIN_WIDTH));
  }
  return all
    .map((r) => {
      let line = '';
      for (let c = 0; c < columns; c++) {
        const cell = r[c] ?? '';
        line += c < columns - 1 ? cell + ' '.repeat(widths[c]! - width(cell)) : cell;
      }
      return line.trimEnd() === '' ? '' : `${line}\n`;
    })
    .join('');
}

/** Docker's Ellipsis: at most `max` characters, the last one `…` when cut. */
export function ellipsis(s: string, max: number): string {
  const chars = [...s];
  if (chars.length <= max) return s;
  return `${chars.slice(0, Math.max(0, max - 1)).join('')}…`;
}

/** `sha256:abcdef…` → the first 12 hex characters (full id without the prefix untruncated). */
export function shortId(id: string, trunc = true): string {
  const bare = id.startsWith('sha256:') ? id.slice(7) : id;
  return trunc ? bare.slice(0, 12) : id;
}
