/**
 * Output of the list commands (ps, images, network ls, plugin ls):
 *   (none) | table        the default table
 *   json                  one JSON object per line, docker's keys
 *   table TEMPLATE        a table whose columns are the template's fields
 *   TEMPLATE              one line per item (e.g. '{{.Names}}')
 * The JSON objects are also what templates see, so `{{.ID}}` works everywhere.
 */
import { UsageError } from '../errors.js';
import { renderTable } from './table.js';
import { compileTemplate, TemplateError } from './template.js';

export interface ListFormat<T> {
  /** Header and one row per item of the default table. */
  headers: string[];
  row: (item: T) => string[];
  /** docker's `--format json` object (string values). */
  json: (item: T) => Record<string, unknown>;
  /** Template field → table header (e.g. ID → CONTAINER ID). */
  headerNames: Record<string, string>;
}

export function formatList<T>(items: T[], format: string | undefined, spec: ListFormat<T>): string {
  if (format === undefined || format === '' || format === 'table') {
    return renderTable(spec.headers, items.map(spec.row));
  }
  if (format === 'json') {
    return items.map((i) => `${JSON.stringify(spec.json(i))}\n`).join('');
  }
  try {
    if (format.startsWith('table ')) {
      const source = format.slice('table '.length);
      // One template per column, split on tabs, so the table can align them.
      const columns = source.replace(/\\t/g, '\t').split('\t').map(compileTemplate);
      const headers = columns.map((c) => {
        const f = c.fields[0] ?? '';
        return spec.headerNames[f] ?? f.toUpperCase();
      });
      const rows = items.map((i) => {
        const data = spec.json(i);
        return columns.map((c) => c.execute(data));
      });
      return renderTable(headers, rows);
    }
    const template = compileTemplate(format);
    return items.map((i) => `${template.execute(spec.json(i))}\n`).join('');
  } catch (err) {
    if (err instanceof TemplateError) throw new UsageError(`invalid --format ${JSON.stringify(format)}: ${err.message}`);
    throw err;
  }
}

/** `--format` for inspect-like output: JSON array by default, or a template per item. */
export function formatObjects(items: unknown[], format: string | undefined): string {
  if (format === undefined || format === '' || format === 'json') {
    return `${JSON.stringify(items, null, 4)}\n`;
  }
  try {
    const template = compileTemplate(format);
    return items.map((i) => `${template.execute(i)}\n`).join('');
  } catch (err) {
    if (err instanceof TemplateError) throw new UsageError(`invalid --format ${JSON.stringify(format)}: ${err.message}`);
    throw err;
  }
}
