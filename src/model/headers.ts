/**
 * Header normalisation and mapping of a file's columns onto the model's fields.
 */
import { CsvInputError } from './errors.js';

/**
 * "Monthly Charges ($)", "monthly_charges" and "MonthlyCharges" all become "monthlycharges":
 * lower case, bracketed units dropped, everything but letters and digits removed.
 */
export function normaliseHeader(header: string): string {
  const name = header
    .replace(/^\uFEFF/, '')
    .replace(/[([{][^)\]}]*[)\]}]/g, ' ')
    .toLowerCase()
    .normalize('NFKD')
    // Accents go, letters of every script stay: "Отток" and "解约" must not all become "".
    .replace(/\p{M}/gu, '')
    .replace(/[^\p{L}\p{N}]/gu, '');
  // A header that is all brackets ("(churn)") keeps its own text rather than matching every other.
  return name === '' ? header.trim().toLowerCase() : name;
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

/** Words that say a number or code names something, in the languages exports come in. */
const ID_WORDS = new Set([
  'id',
  'nr',
  'no',
  'n',
  'num',
  'number',
  'nummer',
  'numero',
  'code',
  'codigo',
  'key',
  'ident',
  'kennung',
]);
/** Beginnings of words for the customer, in the same languages. */
const WHO_STEMS = [
  'customer',
  'client',
  'klient',
  'kund',
  'account',
  'member',
  'mitglied',
  'membre',
  'socio',
  'subscriber',
  'abonn',
  'user',
  'usuari',
  'utilisateur',
  'nutzer',
  'compte',
  'cuenta',
  'conta',
];
const isWho = (word: string) => WHO_STEMS.some((stem) => word.startsWith(stem));

/**
 * The column of a file that names its customers: an identifier by looksLikeIdentifier, else one
 * named for the customer and a number or code in another order or language ("Mitglied-Nr",
 * "Kundennummer", "Numéro client", "ID Socio"); -1 when there is none. Only the name decides, so
 * the scorer and every reader of its results find the same column. A column such as "Club-Nr" or
 * "Number of users" is not one: it does not pair a word for the customer with an id word.
 */
export function customerIdColumn(headers: readonly string[]): number {
  const strict = headers.findIndex(looksLikeIdentifier);
  if (strict >= 0) return strict;
  return headers.findIndex((header) => {
    const words = header
      .replace(/([a-z])([A-Z])/g, '$1 $2')
      .toLowerCase()
      .normalize('NFKD')
      .replace(/\p{M}/gu, '')
      .split(/[^\p{L}\p{N}]+/u)
      .filter((word) => word !== '');
    const [first, second] = words;
    const [beforeLast, last] = words.slice(-2);
    if (words.length === 1 && first !== undefined) {
      // A compound: "kundennummer", "mitgliedsnr", "clientid".
      return isWho(first) && [...ID_WORDS].some((id) => id.length > 1 && first.endsWith(id));
    }
    return (
      (last !== undefined && ID_WORDS.has(last) && beforeLast !== undefined && isWho(beforeLast)) ||
      (first !== undefined && ID_WORDS.has(first) && second !== undefined && isWho(second))
    );
  });
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

/** How a field found its column: the user's choice, its own name, or a known synonym. */
export type MatchedBy = 'override' | 'exact' | 'synonym';

export interface ColumnMapping {
  /** For each model field found, the index of the input column that holds it. */
  fieldColumns: Map<string, number>;
  matchedBy: Map<string, MatchedBy>;
  /** Fields no column was found for, each with up to three near-miss headers. */
  missing: Array<{ field: string; closest: string[] }>;
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
 * Finds each field's column: first the user's `overrides` (field → header, as the file spells it
 * after trimming), then through each field's synonyms (its own name first). Never throws for a
 * missing field: the fit report shows them; `mapColumns` refuses them.
 */
export function matchColumns(
  headers: readonly string[],
  fields: readonly FieldSynonyms[],
  overrides: Readonly<Record<string, string>> = {},
): ColumnMapping {
  const normalised = headers.map(normaliseHeader);
  const fieldColumns = new Map<string, number>();
  const matchedBy = new Map<string, MatchedBy>();
  const claimed = new Set<number>();
  for (const field of fields) {
    const header = overrides[field.field];
    if (header === undefined) continue;
    const index = headers.findIndex((name) => name.trim() === header.trim());
    if (index === -1) {
      throw new CsvInputError(
        `the column "${header}" chosen for ${field.field} is not in the file. Found: ${listHeaders(headers)}.`,
      );
    }
    fieldColumns.set(field.field, index);
    matchedBy.set(field.field, 'override');
    claimed.add(index);
  }
  const unmatched: FieldSynonyms[] = [];
  for (const field of fields) {
    if (fieldColumns.has(field.field)) continue;
    let found = -1;
    for (const synonym of field.synonyms) {
      found = normalised.findIndex((name, index) => name === synonym && !claimed.has(index));
      if (found !== -1) {
        matchedBy.set(field.field, synonym === field.synonyms[0] ? 'exact' : 'synonym');
        break;
      }
    }
    if (found === -1) {
      unmatched.push(field);
      continue;
    }
    claimed.add(found);
    fieldColumns.set(field.field, found);
  }
  const unclaimed = headers.filter((_, index) => !claimed.has(index));
  const missing = unmatched.map((field) => ({
    field: field.field,
    closest: closestHeaders(field, unclaimed),
  }));
  return { fieldColumns, matchedBy, missing, unusedColumns: unclaimed };
}

/**
 * Maps every field to exactly one input column (see `matchColumns`), or fails with one message
 * that lists the missing fields, their closest found headers, and every header found.
 */
export function mapColumns(
  headers: readonly string[],
  fields: readonly FieldSynonyms[],
  overrides: Readonly<Record<string, string>> = {},
): ColumnMapping {
  const mapping = matchColumns(headers, fields, overrides);
  if (mapping.missing.length > 0) {
    throw new CsvInputError(
      `the file lacks ${describeMissing(mapping.missing)}. Found: ${listHeaders(headers)}.`,
    );
  }
  return mapping;
}

/** "2 required columns: tenure (closest: "Tenure Months"); Contract". */
export function describeMissing(missing: ColumnMapping['missing']): string {
  const described = missing.map(({ field, closest }) =>
    closest.length > 0
      ? `${field} (closest: ${closest.map((h) => JSON.stringify(h)).join(', ')})`
      : field,
  );
  return `${missing.length} required column${missing.length === 1 ? '' : 's'}: ${described.join('; ')}`;
}

/** Headers named in an error; a file of 10,000 columns must not make a 100 kB message. */
const LISTED_HEADERS = 40;
const LISTED_HEADER_CHARS = 60;

export function listHeaders(headers: readonly string[]): string {
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
