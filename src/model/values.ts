/**
 * Parsing of the values people actually put in customer exports: "$1,234.50", "1.234,50 €",
 * "(12.00)", "Yes", "TRUE", " 1 ", "" and friends.
 */

/** Blank cells and the usual spellings of "no value". */
const MISSING = new Set(['', 'na', 'n/a', 'nan', 'null', 'none', '-', '?', '#n/a']);

export function isMissing(raw: string): boolean {
  const length = raw.length;
  if (length === 0) return true;
  // Fast answers for the common case, a value that is not padded: longer than any "no value"
  // word, or not starting as one does (n, -, ?, #).
  const first = raw.charCodeAt(0);
  if (first > 32 && raw.charCodeAt(length - 1) > 32) {
    if (length > 4) return false;
    if (first !== 0x6e && first !== 0x4e && first !== 0x2d && first !== 0x3f && first !== 0x23) {
      return false;
    }
    return MISSING.has(raw.toLowerCase());
  }
  const trimmed = raw.trim();
  return trimmed.length === 0 || MISSING.has(trimmed.toLowerCase());
}

const TRUE_WORDS = new Set(['yes', 'y', 'true', 't', '1', '1.0']);
const FALSE_WORDS = new Set(['no', 'n', 'false', 'f', '0', '0.0']);
/** The words as exports usually spell them (yes, Yes, YES), looked up before any trimming. */
const EXACT_BOOLEANS = new Map<string, 0 | 1>(
  [...TRUE_WORDS, ...FALSE_WORDS].flatMap((word) => {
    const value = TRUE_WORDS.has(word) ? 1 : 0;
    const capital = `${word.charAt(0).toUpperCase()}${word.slice(1)}`;
    return [word, capital, word.toUpperCase()].map((spelling) => [spelling, value] as const);
  }),
);

/** 1 or 0 for the usual spellings of yes/no; undefined when the text is not one of them. */
export function parseBoolean(raw: string): 0 | 1 | undefined {
  const exact = EXACT_BOOLEANS.get(raw);
  if (exact !== undefined) return exact;
  const word = raw.trim().toLowerCase();
  if (TRUE_WORDS.has(word)) return 1;
  if (FALSE_WORDS.has(word)) return 0;
  return undefined;
}

/**
 * Whether `raw` is /^-?\d+(\.\d+)?$/, the usual spelling of a number, which Number() reads as
 * it is. Checked by hand: this runs for every number of every scored row, and a regex test
 * cost more than the conversion.
 */
function isSimpleNumber(raw: string): boolean {
  const length = raw.length;
  let at = raw.charCodeAt(0) === 0x2d ? 1 : 0;
  const integerFrom = at;
  while (at < length && isDigit(raw.charCodeAt(at))) at++;
  if (at === integerFrom) return false;
  if (at === length) return true;
  if (raw.charCodeAt(at) !== 0x2e) return false;
  const fractionFrom = ++at;
  while (at < length && isDigit(raw.charCodeAt(at))) at++;
  return at === length && at > fractionFrom;
}

function isDigit(code: number): boolean {
  return code >= 0x30 && code <= 0x39;
}
const CURRENCY_AND_SPACE = /[\s$€£¥₹%]|[A-Za-z]{3}$|^[A-Za-z]{3}/g;

/**
 * A number from text, or NaN when the text is not one. Currency symbols and codes, spaces and
 * thousands separators are dropped; "(12)" is -12. With both "," and "." present the later one is
 * the decimal mark; a lone "," is a thousands separator only in groups of three ("1,234"), unless
 * `decimalComma` says the file writes decimals with a comma (semicolon-separated exports do).
 */
export function parseNumber(raw: string, decimalComma = false): number {
  if (isSimpleNumber(raw)) return Number(raw);
  let text = raw.trim();
  let sign = 1;
  if (text.startsWith('(') && text.endsWith(')')) {
    sign = -1;
    text = text.slice(1, -1);
  }
  text = text.replace(CURRENCY_AND_SPACE, '').replaceAll('\u00a0', '').replaceAll("'", '');
  if (text.startsWith('-')) {
    sign = -sign;
    text = text.slice(1);
  } else if (text.startsWith('+')) {
    text = text.slice(1);
  }
  const lastComma = text.lastIndexOf(',');
  const lastDot = text.lastIndexOf('.');
  if (lastComma !== -1 && lastDot !== -1) {
    text =
      lastComma > lastDot ? text.replaceAll('.', '').replace(',', '.') : text.replaceAll(',', '');
  } else if (lastComma !== -1) {
    const grouped = /^\d{1,3}(,\d{3})+$/.test(text) && !(decimalComma && /^\d+,\d+$/.test(text));
    text = grouped ? text.replaceAll(',', '') : text.replace(',', '.');
  } else if (lastDot !== -1 && /^\d{1,3}(\.\d{3}){2,}$/.test(text)) {
    // "1.234.567" can only be thousands groups.
    text = text.replaceAll('.', '');
  }
  if (!/^(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(text)) return Number.NaN;
  return sign * Number(text);
}

const CURRENCY_SYMBOL = /[$€£¥₹]/;
/** Three capitals standing alone ("USD 12", "12 EUR", "MRR (GBP)"): a currency if ISO 4217 names it. */
const CODE_TOKEN = /(?<![A-Za-z])[A-Z]{3}(?![A-Za-z])/g;
/** The currencies exports are kept in, by ISO 4217 code. */
const CURRENCY_CODES = new Set(
  'USD EUR GBP JPY CHF CAD AUD NZD SEK NOK DKK ISK PLN CZK HUF RON BGN INR CNY HKD SGD TWD KRW THB MYR IDR PHP VND BRL MXN ARS CLP COP PEN ZAR NGN KES EGP MAD TRY ILS AED SAR QAR RUB UAH'.split(
    ' ',
  ),
);

/**
 * The currency a money value or header names: its symbol ($, €, £, ¥, ₹) or a three-letter code;
 * undefined when it names none.
 */
export function currencyOf(text: string): string | undefined {
  const symbol = CURRENCY_SYMBOL.exec(text)?.[0];
  if (symbol) return symbol;
  for (const [token] of text.matchAll(CODE_TOKEN)) if (CURRENCY_CODES.has(token)) return token;
  return undefined;
}

/** Category values compare without case and surrounding or repeated spaces. */
export function categoryKey(raw: string): string {
  return raw.trim().replace(/\s+/g, ' ').toLowerCase();
}
