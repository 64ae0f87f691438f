/** A cell that is only a number cannot be a formula, so negative numbers stay numbers. */
const PLAIN_NUMBER = /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/;
const NEEDS_QUOTES = /[",\r\n]/;

export function startsLikeFormula(value: string): boolean {
  const code = value.charCodeAt(0);
  // = + - @ tab CR: what spreadsheets treat as the start of a formula.
  return code === 61 || code === 43 || code === 45 || code === 64 || code === 9 || code === 13;
}

/**
 * A value as an output cell holds it: prefixed with an apostrophe when a spreadsheet would run it
 * as a formula (CSV injection). What a reader of the output parses back.
 */
export function neutraliseCell(value: string): string {
  return value.length > 0 && startsLikeFormula(value) && !PLAIN_NUMBER.test(value)
    ? `'${value}`
    : value;
}

/** One output cell: neutralised (see neutraliseCell), then quoted when it holds a comma, quote or line break. */
export function csvCell(value: string): string {
  if (value.length === 0) return value;
  const cell = neutraliseCell(value);
  if (NEEDS_QUOTES.test(cell)) return `"${cell.replaceAll('"', '""')}"`;
  return cell;
}

export function csvLine(cells: readonly string[]): string {
  let line = '';
  for (let i = 0; i < cells.length; i++) {
    if (i > 0) line += ',';
    line += csvCell(cells[i] as string);
  }
  // One empty cell would be a blank line, which readers skip: quote it so the record stays.
  return line === '' && cells.length > 0 ? '""\n' : `${line}\n`;
}
