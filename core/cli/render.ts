/**
 * @module cli/render
 * Plain-text rendering helpers for command output (tables, yes/no flags).
 */

/** Renders rows as an aligned table with a header. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string => cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ').trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

/** `yes`/`no`. */
export function yn(b: boolean | undefined): string {
  return b === undefined ? '-' : b ? 'yes' : 'no';
}
