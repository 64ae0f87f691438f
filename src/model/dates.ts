/**
 * Dates and durations in customer exports ("Signup Date", "Last Login", "3 months"), recognised
 * from a column's raw values so that training can turn them into "days since" features. Nothing
 * here guesses: a column whose day/month order the data cannot settle is reported, not used.
 */
import { isMissing } from './values.js';

export type DateOrder = 'ymd' | 'mdy' | 'dmy';

export type TemporalInference =
  | { kind: 'date'; order: DateOrder; parsed: number; present: number; evidence: string }
  | { kind: 'duration'; parsed: number; present: number; evidence: string }
  /** Looks like dates, but cannot be used without a guess: reported to the user, never used silently. */
  | { kind: 'ambiguous-date'; present: number; evidence: string }
  | { kind: 'mixed-date'; present: number; evidence: string };

export const MS_PER_DAY = 86_400_000;

/** An instant (ISO 8601 text or epoch milliseconds) as epoch days, the unit dates are read in. */
export function epochDays(instant: string | number): number {
  return (typeof instant === 'number' ? instant : Date.parse(instant)) / MS_PER_DAY;
}

/**
 * Epoch days back to ISO 8601 text, to the millisecond the days were made from: a fraction of
 * a day does not always multiply back to a whole number of milliseconds.
 */
export function isoOfEpochDays(days: number): string {
  return new Date(Math.round(days * MS_PER_DAY)).toISOString();
}
/** Share of present values that must read the same way before a column counts as dates or durations. */
const MIN_SHARE = 0.95;
const DAYS_PER_MONTH = 30.4375;
const DAYS_PER_YEAR = 365.25;

// One time-of-day suffix shared by every date form: hour, minute, second, fraction, AM/PM, zone.
const TIME =
  '(?:(?:T|\\s+)(\\d{1,2}):(\\d{2})(?::(\\d{2})(?:[.,](\\d{1,9}))?)?\\s*([AaPp]\\.?[Mm]\\.?)?\\s*([Zz]|UTC|GMT|[+-]\\d{2}(?::?\\d{2})?)?)?\\s*$';
const MONTH_WORD = '([A-Za-z]{3,9})\\.?';
const YEAR_FIRST = new RegExp(`^\\s*(\\d{4})([-/.])(\\d{1,2})\\2(\\d{1,2})${TIME}`);
const YEAR_LAST = new RegExp(`^\\s*(\\d{1,2})([-/.])(\\d{1,2})\\2(\\d{4}|\\d{2})${TIME}`);
const NAMED_MDY = new RegExp(
  `^\\s*${MONTH_WORD}(?:\\s+|-)(\\d{1,2})(?:st|nd|rd|th)?(?:,\\s*|\\s+|-)(\\d{4}|\\d{2})${TIME}`,
  'i',
);
const NAMED_DMY = new RegExp(
  `^\\s*(\\d{1,2})(?:st|nd|rd|th)?(?:\\s+|-)${MONTH_WORD},?(?:\\s+|-)(\\d{4}|\\d{2})${TIME}`,
  'i',
);
const NAMED_YMD = new RegExp(`^\\s*(\\d{4})[-/ ]${MONTH_WORD}[-/ ](\\d{1,2})${TIME}`, 'i');

const MONTH_NAMES =
  'january february march april may june july august september october november december'.split(
    ' ',
  );
const MONTH_BY_WORD = new Map<string, number>();
MONTH_NAMES.forEach((name, index) => {
  MONTH_BY_WORD.set(name, index + 1);
  MONTH_BY_WORD.set(name.slice(0, 3), index + 1);
});
MONTH_BY_WORD.set('sept', 9);

/**
 * The written forms a date can take. Only 'numeric' (day and month both numbers, year last, with
 * "/" or "-") needs an order from outside; every other form states its own.
 */
type DateForm =
  | 'iso'
  | 'year-first'
  | 'numeric'
  | 'dotted'
  | 'named-mdy'
  | 'named-dmy'
  | 'named-ymd';

interface DateMatch {
  form: DateForm;
  groups: RegExpExecArray;
}

function matchDate(raw: string): DateMatch | undefined {
  let groups = YEAR_FIRST.exec(raw);
  if (groups !== null) return { form: groups[2] === '-' ? 'iso' : 'year-first', groups };
  groups = YEAR_LAST.exec(raw);
  if (groups !== null) {
    if (groups[2] !== '.') return { form: 'numeric', groups };
    // "4.1.12" is far likelier a version number than a date; a two-digit year needs "dd.mm.yy".
    const twoDigitYear = (groups[4] as string).length === 2;
    if (twoDigitYear && ((groups[1] as string).length < 2 || (groups[3] as string).length < 2)) {
      return undefined;
    }
    return { form: 'dotted', groups };
  }
  groups = NAMED_MDY.exec(raw);
  if (groups !== null) return { form: 'named-mdy', groups };
  groups = NAMED_DMY.exec(raw);
  if (groups !== null) return { form: 'named-dmy', groups };
  groups = NAMED_YMD.exec(raw);
  if (groups !== null) return { form: 'named-ymd', groups };
  return undefined;
}

function yearOf(text: string): number {
  const year = Number(text);
  if (text.length !== 2) return year;
  // Two-digit years in exports are recent: 00-69 → 2000s, 70-99 → 1900s.
  return year < 70 ? 2000 + year : 1900 + year;
}

function isLeapYear(year: number): boolean {
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return isLeapYear(year) ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

/** Days from 1970-01-01 to a proleptic Gregorian date (Hinnant's days_from_civil), NaN if impossible. */
function civilDays(year: number, month: number, day: number): number {
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return Number.NaN;
  const shifted = month <= 2 ? year - 1 : year;
  const era = Math.floor(shifted / 400);
  const yearOfEra = shifted - era * 400;
  const dayOfYear = Math.floor((153 * ((month + 9) % 12) + 2) / 5) + day - 1;
  const dayOfEra =
    yearOfEra * 365 + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100) + dayOfYear;
  return era * 146_097 + dayOfEra - 719_468;
}

/** Milliseconds into the UTC day given by the TIME groups from `at`; NaN when impossible. */
function timeOfDayMs(groups: RegExpExecArray, at: number): number {
  const hourText = groups[at];
  if (hourText === undefined) return 0;
  let hour = Number(hourText);
  const minute = Number(groups[at + 1]);
  const second = groups[at + 2] === undefined ? 0 : Number(groups[at + 2]);
  const fraction = groups[at + 3];
  // Millisecond precision, truncated, as Date.UTC has.
  const millis = fraction === undefined ? 0 : Number(fraction.slice(0, 3).padEnd(3, '0'));
  const meridiem = groups[at + 4];
  if (meridiem !== undefined) {
    if (hour < 1 || hour > 12) return Number.NaN;
    hour = (hour % 12) + (meridiem[0] === 'p' || meridiem[0] === 'P' ? 12 : 0);
  } else if (hour > 23) {
    return Number.NaN;
  }
  if (minute > 59 || second > 59) return Number.NaN;
  let offsetMinutes = 0;
  const zone = groups[at + 5];
  if (zone !== undefined && (zone[0] === '+' || zone[0] === '-')) {
    const digits = zone.replace(':', '');
    const zoneHours = Number(digits.slice(1, 3));
    const zoneMinutes = digits.length > 3 ? Number(digits.slice(3, 5)) : 0;
    if (zoneHours > 23 || zoneMinutes > 59) return Number.NaN;
    offsetMinutes = (zone[0] === '-' ? -1 : 1) * (zoneHours * 60 + zoneMinutes);
  }
  return ((hour * 60 + minute - offsetMinutes) * 60 + second) * 1000 + millis;
}

/** Which match groups hold year, month and day, and where the time starts, per form or order. */
const PARTS: Record<
  Exclude<DateForm, 'numeric'> | DateOrder,
  readonly [number, number, number, number]
> = {
  iso: [1, 3, 4, 5],
  'year-first': [1, 3, 4, 5],
  ymd: [1, 3, 4, 5],
  mdy: [4, 1, 3, 5],
  dmy: [4, 3, 1, 5],
  // Dotted dates are day-first by convention wherever they are written.
  dotted: [4, 3, 1, 5],
  'named-mdy': [3, 1, 2, 4],
  'named-dmy': [3, 2, 1, 4],
  'named-ymd': [1, 2, 3, 4],
};

/** Epoch days of a matched date read in `order`; the order only matters for 'numeric' forms. */
function daysOfMatch({ form, groups }: DateMatch, order: DateOrder): number {
  if (form === 'numeric' && order === 'ymd') return Number.NaN;
  const [yearAt, monthAt, dayAt, timeAt] = PARTS[form === 'numeric' ? order : form];
  const monthText = groups[monthAt] as string;
  const month =
    monthText.charCodeAt(0) <= 57
      ? Number(monthText)
      : (MONTH_BY_WORD.get(monthText.toLowerCase()) ?? 0);
  const days = civilDays(yearOf(groups[yearAt] as string), month, Number(groups[dayAt]));
  if (groups[timeAt] === undefined) return days;
  // Whole milliseconds first, divided once: the result equals Date.UTC(...) / MS_PER_DAY exactly.
  return (days * MS_PER_DAY + timeOfDayMs(groups, timeAt)) / MS_PER_DAY;
}

/** Whole and fractional days since 1970-01-01T00:00Z (UTC); NaN when `raw` is not a date in that order. */
export function parseDateDays(raw: string, order: DateOrder): number {
  const match = matchDate(raw);
  return match === undefined ? Number.NaN : daysOfMatch(match, order);
}

const NUMBER = '(\\d+(?:\\.\\d+)?)';
const UNIT = '(years?|yrs?|y|months?|mos?|mths?|weeks?|wks?|w|days?|d|hours?|hrs?|h)';
const DURATION_PART = `${NUMBER}\\s*${UNIT}`;
// "m" alone is left out on purpose: months or minutes, nobody can tell.
const NATURAL_DURATION = new RegExp(
  `^\\s*${DURATION_PART}(?:\\s*(?:,|and)?\\s*${DURATION_PART})*\\s*$`,
  'i',
);
const DURATION_PARTS = new RegExp(DURATION_PART, 'gi');
const ISO_NUMBER = '(\\d+(?:[.,]\\d+)?)';
const ISO_DURATION = new RegExp(
  `^\\s*P(?!\\s*$)(?:${ISO_NUMBER}Y)?(?:${ISO_NUMBER}M)?(?:${ISO_NUMBER}W)?(?:${ISO_NUMBER}D)?` +
    `(?:T(?=\\d)(?:${ISO_NUMBER}H)?(?:${ISO_NUMBER}M)?(?:${ISO_NUMBER}S)?)?\\s*$`,
  'i',
);
const ISO_DURATION_DAYS = [DAYS_PER_YEAR, DAYS_PER_MONTH, 7, 1, 1 / 24, 1 / 1440, 1 / 86_400];

const DAYS_PER_UNIT: Record<string, number> = {
  y: DAYS_PER_YEAR,
  m: DAYS_PER_MONTH,
  w: 7,
  d: 1,
  h: 1 / 24,
};

/** Days in a duration like "3 months", "45 days", "2 yrs", "1 year 6 months", "6 wks", "12 mo", "90d", "P3M"/"P1Y2M10D" (ISO 8601); NaN otherwise. A month is 30.4375 days, a year 365.25. A bare number is NOT a duration. */
export function parseDurationDays(raw: string): number {
  if (NATURAL_DURATION.test(raw)) {
    let days = 0;
    for (const part of raw.matchAll(DURATION_PARTS)) {
      const unit = (part[2] as string).charAt(0).toLowerCase();
      days += Number(part[1]) * (DAYS_PER_UNIT[unit] as number);
    }
    return days;
  }
  const iso = ISO_DURATION.exec(raw);
  if (iso === null) return Number.NaN;
  let days = 0;
  for (let i = 0; i < ISO_DURATION_DAYS.length; i++) {
    const amount = iso[i + 1];
    if (amount !== undefined) {
      days += Number(amount.replace(',', '.')) * (ISO_DURATION_DAYS[i] as number);
    }
  }
  return days;
}

/** The as-of instant given by a user ("2026-01-31", "2026-01-31T10:00:00Z") as epoch days; throws a RangeError whose message says the accepted forms when it is not one. */
export function parseAsOf(text: string): number {
  // Only ISO 8601: a user-typed "03/04/2026" has no column of evidence to settle its order.
  const match = matchDate(text);
  const days = match?.form === 'iso' ? daysOfMatch(match, 'ymd') : Number.NaN;
  if (Number.isNaN(days)) {
    throw new RangeError(
      `the as-of date ${JSON.stringify(text)} is not a valid date: write it as YYYY-MM-DD ` +
        '(e.g. 2026-01-31) or YYYY-MM-DDTHH:MM:SS with an optional zone (e.g. 2026-01-31T10:00:00Z); ' +
        'times without a zone are UTC.',
    );
  }
  return days;
}

const COUNT_FORMAT = new Intl.NumberFormat('en-US');

function ofValues(parsed: number, present: number): string {
  if (parsed === present)
    return present === 1 ? 'its only value' : `all ${COUNT_FORMAT.format(present)} values`;
  return `${COUNT_FORMAT.format(parsed)} of ${COUNT_FORMAT.format(present)} values`;
}

function formLabel(match: DateMatch, order: DateOrder): string {
  switch (match.form) {
    case 'iso':
      return match.groups[5] === undefined ? 'ISO 8601 dates' : 'ISO 8601 dates with time';
    case 'year-first':
      return 'dates, year first';
    case 'numeric':
      return order === 'mdy' ? 'US dates, month first' : 'dates, day first';
    case 'dotted':
      return 'dates, day first';
    default:
      return 'dates with month names';
  }
}

/** The order a form states for itself, reported when no value needed one. */
const ORDER_OF_FORM: Record<DateForm, DateOrder> = {
  iso: 'ymd',
  'year-first': 'ymd',
  numeric: 'ymd',
  dotted: 'dmy',
  'named-mdy': 'mdy',
  'named-dmy': 'dmy',
  'named-ymd': 'ymd',
};

/** Up to this many values, evenly spread, decide quickly that a column is neither dates nor durations. */
const SAMPLE_SIZE = 1024;

function mostlyTemporal(raws: readonly string[]): boolean {
  const stride = Math.max(1, Math.floor(raws.length / SAMPLE_SIZE));
  let present = 0;
  let temporal = 0;
  for (let i = 0; i < raws.length; i += stride) {
    const raw = raws[i] as string;
    if (isMissing(raw)) continue;
    present++;
    if (matchDate(raw) !== undefined || !Number.isNaN(parseDurationDays(raw))) temporal++;
  }
  // Generous on purpose: the sample only saves work, the exact counts below decide.
  return temporal >= 0.5 * present;
}

function monthName(month: number): string {
  const name = MONTH_NAMES[month - 1] as string;
  return name[0]?.toUpperCase() + name.slice(1);
}

interface Example {
  match: DateMatch;
  raw: string;
}

/** "01/01/2024" reads the same in both orders, so it cannot show a user why the order matters. */
function readsDifferently(match: DateMatch): boolean {
  return Number(match.groups[1]) !== Number(match.groups[3]);
}

/** Counts of one column's values by how they read, with the first value of each kind as example. */
class ColumnTally {
  present = 0;
  durations = 0;
  durationExample: string | undefined;
  /** Dates whose form states its own order ("2024-03-01", "Mar 1, 2024", "1.3.2024"). */
  selfOrdered = 0;
  readonly forms = new Map<DateForm, { count: number; example: Example }>();
  // Year-last numeric dates ("03/04/2024"): which readings are possible decides the order.
  monthFirstOnly = 0;
  dayFirstOnly = 0;
  eitherOrder = 0;
  monthFirstExample: Example | undefined;
  dayFirstExample: Example | undefined;
  ambiguousExample: Example | undefined;

  add(raw: string): void {
    if (isMissing(raw)) return;
    this.present++;
    const match = matchDate(raw);
    if (match?.form === 'numeric') this.addNumeric(match, raw);
    else if (match === undefined || !this.addSelfOrdered(match, raw)) {
      if (!Number.isNaN(parseDurationDays(raw))) {
        this.durations++;
        this.durationExample ??= raw.trim();
      }
    }
  }

  private addNumeric(match: DateMatch, raw: string): void {
    const asMonthFirst = !Number.isNaN(daysOfMatch(match, 'mdy'));
    const asDayFirst = !Number.isNaN(daysOfMatch(match, 'dmy'));
    if (asMonthFirst && asDayFirst) {
      this.eitherOrder++;
      const current = this.ambiguousExample;
      if (current === undefined || (!readsDifferently(current.match) && readsDifferently(match))) {
        this.ambiguousExample = { match, raw: raw.trim() };
      }
    } else if (asMonthFirst) {
      this.monthFirstOnly++;
      this.monthFirstExample ??= { match, raw: raw.trim() };
    } else if (asDayFirst) {
      this.dayFirstOnly++;
      this.dayFirstExample ??= { match, raw: raw.trim() };
    }
  }

  private addSelfOrdered(match: DateMatch, raw: string): boolean {
    if (Number.isNaN(daysOfMatch(match, 'ymd'))) return false;
    this.selfOrdered++;
    const seen = this.forms.get(match.form);
    if (seen === undefined)
      this.forms.set(match.form, { count: 1, example: { match, raw: raw.trim() } });
    else seen.count++;
    return true;
  }

  /** An example of the most common self-ordered form. */
  commonestForm(): Example | undefined {
    let best: { count: number; example: Example } | undefined;
    for (const seen of this.forms.values()) if (seen.count > (best?.count ?? 0)) best = seen;
    return best?.example;
  }
}

function ambiguousEvidence({ match, raw }: Example): string {
  const first = Number(match.groups[1]);
  const second = Number(match.groups[3]);
  const readings =
    first === second
      ? 'day-first or month-first'
      : `${second} ${monthName(first)} or ${first} ${monthName(second)}`;
  return `"${raw}" could be ${readings}: every day in this column is 12 or less`;
}

/** How a column's raw values read as dates or durations; undefined when they are neither. */
export function inferTemporal(raws: readonly string[]): TemporalInference | undefined {
  if (!mostlyTemporal(raws)) return undefined;
  const tally = new ColumnTally();
  for (let i = 0; i < raws.length; i++) tally.add(raws[i] as string);
  return dateInference(tally) ?? durationInference(tally);
}

function dateInference(tally: ColumnTally): TemporalInference | undefined {
  const { present, selfOrdered, monthFirstExample, dayFirstExample } = tally;
  const numeric = tally.monthFirstOnly + tally.dayFirstOnly + tally.eitherOrder;
  if (present === 0 || selfOrdered + numeric < MIN_SHARE * present) return undefined;
  if (monthFirstExample !== undefined && dayFirstExample !== undefined) {
    return {
      kind: 'mixed-date',
      present,
      evidence: `day-first and month-first dates in one column (e.g. "${dayFirstExample.raw}" and "${monthFirstExample.raw}"): the order cannot be decided`,
    };
  }
  // Numeric dates are read only in an order some value proves; under 'ymd' they stay unread.
  let order: DateOrder = 'ymd';
  let parsed = selfOrdered;
  let headline = monthFirstExample ?? dayFirstExample;
  if (monthFirstExample !== undefined) {
    order = 'mdy';
    parsed += tally.monthFirstOnly + tally.eitherOrder;
  } else if (dayFirstExample !== undefined) {
    order = 'dmy';
    parsed += tally.dayFirstOnly + tally.eitherOrder;
  }
  if (parsed < MIN_SHARE * present) {
    // Only unproven numeric dates can fall short here: using them would mean guessing.
    const example = tally.ambiguousExample as Example;
    return { kind: 'ambiguous-date', present, evidence: ambiguousEvidence(example) };
  }
  if (headline === undefined) {
    headline = tally.commonestForm() as Example;
    // With no numeric dates at all the order is free, so report the one the values state.
    if (numeric === 0) order = ORDER_OF_FORM[headline.match.form];
  }
  return {
    kind: 'date',
    order,
    parsed,
    present,
    evidence: `${formLabel(headline.match, order)} (e.g. "${headline.raw}"): ${ofValues(parsed, present)}`,
  };
}

function durationInference(tally: ColumnTally): TemporalInference | undefined {
  const { present, durations, durationExample } = tally;
  if (present === 0 || durationExample === undefined || durations < MIN_SHARE * present) {
    return undefined;
  }
  return {
    kind: 'duration',
    parsed: durations,
    present,
    evidence: `durations (e.g. "${durationExample}"): ${ofValues(durations, present)}`,
  };
}
