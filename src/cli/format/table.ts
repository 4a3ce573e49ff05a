/**
 * Column layout like the docker CLI (Go tabwriter: minimum width 10, padding 3, space
 * filled; the last column is not padded).
 */
const MIN_WIDTH = 10;
const PADDING = 3;

/** Characters (code points) of `s`, without building an array: a low surrogate is the second half of one. */
function width(s: string): number {
  let n = s.length;
  for (let i = 0; i < s.length; i++) if ((s.charCodeAt(i) & 0xfc00) === 0xdc00) n--;
  return n;
}

export function renderTable(headers: string[], rows: string[][]): string {
  const all = [headers, ...rows];
  const columns = headers.length;
  // every cell's width once (a `ps -a` of 1000 containers has 7000 cells)
  const cellWidths = all.map((r) => {
    const ws: number[] = new Array<number>(columns);
    for (let c = 0; c < columns; c++) ws[c] = width(r[c] ?? '');
    return ws;
  });
  const widths: number[] = [];
  for (let c = 0; c < columns - 1; c++) {
    let w = 0;
    for (const ws of cellWidths) if (ws[c]! > w) w = ws[c]!;
    widths.push(Math.max(w + PADDING, MIN_WIDTH));
  }
  const out: string[] = [];
  for (let i = 0; i < all.length; i++) {
    const r = all[i]!;
    let line = '';
    for (let c = 0; c < columns; c++) {
      const cell = r[c] ?? '';
      line += c < columns - 1 ? cell + ' '.repeat(widths[c]! - cellWidths[i]![c]!) : cell;
    }
    if (line.trimEnd() !== '') out.push(line, '\n');
  }
  return out.join('');
}

/** Docker's Ellipsis: at most `max` characters, the last one `…` when cut. */
export function ellipsis(s: string, max: number): string {
  if (s.length <= max) return s; // never more characters than UTF-16 units
  const chars = [...s];
  if (chars.length <= max) return s;
  return `${chars.slice(0, Math.max(0, max - 1)).join('')}…`;
}

/** `sha256:abcdef…` → the first 12 hex characters (full id without the prefix untruncated). */
export function shortId(id: string, trunc = true): string {
  const bare = id.startsWith('sha256:') ? id.slice(7) : id;
  return trunc ? bare.slice(0, 12) : id;
}
