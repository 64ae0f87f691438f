/**
 * Header normalisation and mapping of a file's columns onto the model's fields.
 */
import { CsvInputError } from './errors.js';

/**
 * "Monthly Charges ($)", "monthly_charges" and "MonthlyCharges" all become "monthlycharges":
 * lower case, bracketed units dropped, everything but letters and digits removed.
 */
export function normaliseHeader(header: string): string {
  return header
    .replace(/^\uFEFF/, '')
    .replace(/[([{][^)\]}]*[)\]}]/g, ' ')
    .toLowerCase()
    .normalize('NFKD')
    .replace(/[^a-z0-9]/g, '');
}

/** Columns that identify a customer rather than describe one; never used as features. */
export function looksLikeIdentifier(header: string): boolean {
  const name = normaliseHeader(header);
  return (
    /(^|customer|client|account|user|member|subscriber|row)(id|uuid|guid|key|number|no|code)$/.test(
      name,
    ) ||
    name === 'id' ||
    name === 'email' ||
    name === 'phone' ||
    name === 'phonenumber'
  );
}

export function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(
        Math.min(substitution, (previous[j] as number) + 1, (current[j - 1] as number) + 1),
      );
    }
    previous = current;
  }
  return previous[b.length] as number;
}

export interface FieldSynonyms {
  field: string;
  /** Normalised header spellings that mean this field, the field's own first. */
  synonyms: readonly string[];
}

export interface ColumnMapping {
  /** For each model field (in the order given), the index of the input column that holds it. */
  fieldColumns: Map<string, number>;
  /** Input columns the model does not use, in input order. */
  unusedColumns: string[];
}

/** Up to three unclaimed headers within a third of a spelling's length of the field's spellings. */
function closestHeaders(field: FieldSynonyms, headers: readonly string[]): string[] {
  return headers
    .map((header) => {
      const name = normaliseHeader(header);
      let distance = Number.POSITIVE_INFINITY;
      for (const synonym of field.synonyms) {
        const d = editDistance(synonym, name);
        if (d <= Math.max(1, Math.floor(synonym.length / 3))) distance = Math.min(distance, d);
      }
      return { header, distance };
    })
    .filter((entry) => Number.isFinite(entry.distance))
    .sort((a, b) => a.distance - b.distance || a.header.localeCompare(b.header))
    .slice(0, 3)
    .map((entry) => entry.header);
}

/**
 * Maps every required field to exactly one input column through its synonyms. Fails with one
 * message that lists the missing fields, their closest found headers, and every header found.
 */
export function mapColumns(
  headers: readonly string[],
  fields: readonly FieldSynonyms[],
): ColumnMapping {
  const normalised = headers.map(normaliseHeader);
  const fieldColumns = new Map<string, number>();
  const claimed = new Set<number>();
  const missing: FieldSynonyms[] = [];
  for (const field of fields) {
    let found = -1;
    for (const synonym of field.synonyms) {
      found = normalised.findIndex((name, index) => name === synonym && !claimed.has(index));
      if (found !== -1) break;
    }
    if (found === -1) {
      missing.push(field);
      continue;
    }
    claimed.add(found);
    fieldColumns.set(field.field, found);
  }
  if (missing.length > 0) {
    const described = missing.map((field) => {
      const close = closestHeaders(
        field,
        headers.filter((_, index) => !claimed.has(index)),
      );
      return close.length > 0
        ? `${field.field} (closest: ${close.map((h) => JSON.stringify(h)).join(', ')})`
        : field.field;
    });
    throw new CsvInputError(
      `the file lacks ${missing.length} required column${missing.length === 1 ? '' : 's'}: ${described.join('; ')}. Found: ${listHeaders(headers)}.`,
    );
  }
  const unusedColumns = headers.filter((_, index) => !claimed.has(index));
  return { fieldColumns, unusedColumns };
}

/** Headers named in an error; a file of 10,000 columns must not make a 100 kB message. */
const LISTED_HEADERS = 40;
const LISTED_HEADER_CHARS = 60;

function listHeaders(headers: readonly string[]): string {
  const shown = headers.slice(0, LISTED_HEADERS).map((header) => {
    const chars = Array.from(header);
    return JSON.stringify(
      chars.length > LISTED_HEADER_CHARS
        ? `${chars.slice(0, LISTED_HEADER_CHARS).join('')}…`
        : header,
    );
  });
  const more = headers.length - shown.length;
  return more > 0
    ? `${shown.join(', ')} and ${more.toLocaleString('en-US')} more`
    : shown.join(', ');
}
