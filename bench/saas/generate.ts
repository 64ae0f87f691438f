/**
 * Writes a SYNTHETIC B2B SaaS customer export (CRM + billing shaped, messy on purpose) whose true
 * churn probability is known for every row, so a trained model can be compared with the best any
 * model could do on the same file (the Bayes ROC AUC of the true probabilities). No row describes
 * a real company or person.
 *
 * Each row is drawn from a seeded generative process: a hidden "health" draw correlates the
 * usage, recency, NPS and ticket columns as they are in real exports; the row's true churn
 * probability is then a function of the columns written (plus the as-of date), and the
 * `Churned?` label is a Bernoulli draw from it (churned within the 90 days after the as-of date).
 * Because the probability uses only what the row shows, no model on this file can beat it.
 *
 * The true logit (see trueLogit) uses non-linear effects and one interaction:
 * - days since last login: a gentle rise up to 13 days, a jump at 14+ days, then a log rise;
 *   never logged in is the riskiest;
 * - tenure: a saturating decline in ln(1 + months), so new accounts are the riskiest;
 * - usage drop: ln of sessions (30d) against the previous 30 days, capped;
 * - support tickets (90d): saturating (1 − e^(−n/3)); a blank count adds the effect of 2 tickets;
 * - payment failures (12m), capped at 3; monthly contract against annual;
 * - champion left, mattering more the more seats the account has (× log10 seats);
 * - NPS 0-10: detractors (≤ 6) riskier, promoters (9-10) safer, no answer slightly risky.
 * Company, Country, Account Owner, Billing, Plan and MRR carry no direct effect (Plan and Billing
 * act only through the columns they shape: seats, contract and payment failures).
 *
 * CLI: tsx bench/saas/generate.ts --rows N [--seed S] [--as-of YYYY-MM-DD] --out file.csv
 *      [--truth truth.csv]   (the truth file holds `Account ID,true_probability`)
 */
import { createWriteStream, type WriteStream } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { seededRandom } from '../../src/model/cross-validation.js';
import { csvLine } from '../../src/model/csv-writer.js';
import { sigmoid } from '../../src/model/logistic.js';

function words(list: string, separator = ' '): string[] {
  return list.split(separator);
}

/** `'US:44 GB:10'` → `[['US', 44], ['GB', 10]]`: value and relative weight. */
function tally(list: string): [string, number][] {
  return words(list).map((entry) => {
    const [value, weight] = entry.split(':');
    return [value as string, Number(weight)];
  });
}

export interface SaasExportOptions {
  rows: number;
  seed?: number;
  /** The export's date (taken at 00:00 UTC): recency and tenure are measured from it. */
  asOf?: string;
}

export interface SaasExport {
  header: string[];
  rows: string[][];
  trueProbabilities: Float64Array;
}

/** The export's columns, in order, as the CRM names them; the label `Churned?` is last. */
export const SAAS_HEADER: readonly string[] = words(
  'Account ID|Company|Plan|Seats|MRR ($)|Signup Date|Last Login|Contract|Billing|Support Tickets (90d)|NPS|Country|Sessions (30d)|Sessions (prev 30d)|Champion Left|Payment Failures (12m)|Account Owner|Churned?',
  '|',
);

export const DEFAULT_AS_OF = '2026-11-30';
const DAY_MS = 86_400_000;
/** Sets the base churn rate near 21% given the other terms (tuned on 1,000,000 rows). */
const INTERCEPT = -4.8;

type Random = () => number;
type Plan = 'Starter' | 'Growth' | 'Business' | 'Enterprise';

/** Per plan: share of accounts, median seats, seat range, list price per seat, monthly share. */
const PLANS: Record<Plan, [number, number, number, number, number, number]> = {
  Starter: [0.36, 4, 1, 10, 12, 0.75],
  Growth: [0.3, 18, 5, 60, 25, 0.5],
  Business: [0.22, 70, 20, 300, 40, 0.3],
  Enterprise: [0.12, 400, 100, 5000, 55, 0.1],
};
const COUNTRIES = tally('US:44 GB:10 DE:8 CA:7 FR:5 AU:5 NL:4 IN:4 BR:3 SE:3 ES:3 SG:2 JP:2');
/** Enterprise pays by invoice; smaller plans by card. */
const ENTERPRISE_BILLING = tally('Invoice:7 ACH:2 Card:1');
const SELF_SERVE_BILLING = tally('Card:7 ACH:2 Invoice:1');
const OWNERS = ['Dana Whitfield', 'Marcus Oyelaran', 'Priya Raman', 'Tomás Ibarra', 'Hannah Cole'];
// Space-separated word pools: 24 × 20 × 16 × 8 ≈ 61,000 names, so most companies are distinct
// but, as in a real CRM, a few names repeat.
const NAME_HEADS = words(
  'Blue North Bright Iron Silver Red Clear Stone Sun Oak Pine Swift True High Cedar Maple Harbor Summit Granite Copper Falcon Amber Crystal River',
);
const NAME_TAILS = words(
  'peak field wave leaf gate brook forge line crest point ridge stone bridge works path light view rock vale port',
);
const NAME_NOUNS = words(
  'Analytics Logistics Health Labs Systems Foods Media Software Robotics Energy Capital Partners Studios Networks Dental Legal',
);
const NAME_ENDS = ['', ' Inc.', ', Inc.', ' LLC', ' Ltd', ' GmbH', ' Group', ' & Co'];

/** What a row shows, before formatting; blanks are `undefined`. */
interface Account {
  plan: Plan;
  seats: number;
  mrr: number;
  tenureDays: number;
  /** Whole days from the last login to the as-of instant (00:00 UTC); undefined: never. */
  daysSinceLogin: number | undefined;
  monthly: boolean;
  billing: string;
  tickets: number | undefined;
  nps: number | undefined;
  sessions: number;
  previousSessions: number;
  championLeft: boolean;
  paymentFailures: number;
}

function normal(random: Random): number {
  // Box-Muller; 1 − u keeps the logarithm finite.
  return Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
}

/** Knuth's method: exact and fast for the small means drawn here (below ~30). */
function poisson(random: Random, mean: number): number {
  const limit = Math.exp(-mean);
  let count = 0;
  for (let product = random(); product > limit; product *= random()) count++;
  return count;
}

function weighted<T>(random: Random, choices: readonly (readonly [T, number])[]): T {
  let total = 0;
  for (const [, weight] of choices) total += weight;
  let draw = random() * total;
  for (const [value, weight] of choices) {
    draw -= weight;
    if (draw < 0) return value;
  }
  return (choices[choices.length - 1] as readonly [T, number])[0];
}

function pick<T>(random: Random, values: readonly T[]): T {
  return values[Math.floor(random() * values.length)] as T;
}

const clamp = (value: number, low: number, high: number): number =>
  Math.min(high, Math.max(low, value));

function sampleTenureDays(random: Random): number {
  // A third are recent signups (the riskiest months); the rest spread over about six years.
  if (random() < 0.3) return 1 + Math.floor(random() * 180);
  return Math.min(2_200, 30 + Math.floor(-600 * Math.log(1 - random())));
}

function sampleLogin(random: Random, health: number, tenureDays: number): number | undefined {
  const neverChance = (tenureDays < 45 ? 0.2 : 0.015) + (health < -1.5 ? 0.05 : 0);
  if (random() < neverChance) return undefined;
  const meanGap = 4 * Math.exp(-1.1 * health);
  // Not before the signup day.
  return Math.min(tenureDays - 1, Math.floor(-meanGap * Math.log(1 - random())));
}

/** Sessions in the last and the previous 30 days, consistent with the last login. */
function sampleSessions(
  random: Random,
  health: number,
  seats: number,
  tenureDays: number,
  daysSinceLogin: number | undefined,
): [number, number] {
  if (daysSinceLogin === undefined) return [0, 0];
  const activity = 6 * seats ** 0.9 * Math.exp(0.5 * health + 0.4 * normal(random));
  const trend = Math.exp(0.45 * health - 0.25 + 0.45 * normal(random));
  const previousShare = clamp((tenureDays - 30) / 30, 0, 1);
  let previous = Math.round(activity * previousShare);
  let current = Math.round(activity * trend * Math.min(1, tenureDays / 30));
  if (daysSinceLogin >= 30) current = 0;
  else current = Math.max(1, current);
  if (daysSinceLogin >= 60) previous = 0;
  else if (daysSinceLogin >= 30) previous = Math.max(1, previous);
  return [current, previous];
}

function sampleAccount(random: Random): Account {
  const plan = weighted(
    random,
    (Object.keys(PLANS) as Plan[]).map((name) => [name, PLANS[name][0]] as const),
  );
  const [, median, low, high, price, monthlyShare] = PLANS[plan];
  const seats = Math.round(clamp(median * Math.exp(0.6 * normal(random)), low, high));
  const monthly = random() < monthlyShare;
  const health = normal(random);
  const tenureDays = sampleTenureDays(random);
  const daysSinceLogin = sampleLogin(random, health, tenureDays);
  const [sessions, previousSessions] = sampleSessions(
    random,
    health,
    seats,
    tenureDays,
    daysSinceLogin,
  );
  const billing = weighted(random, plan === 'Enterprise' ? ENTERPRISE_BILLING : SELF_SERVE_BILLING);
  const discount = (monthly ? 1 : 0.85) * (0.9 + 0.2 * random());
  const answeredNps = random() < 0.72 + 0.08 * clamp(health, -1, 1);
  return {
    plan,
    seats,
    mrr: Math.round(seats * price * discount * 100) / 100,
    tenureDays,
    daysSinceLogin,
    monthly,
    billing,
    tickets:
      random() < 0.06 ? undefined : poisson(random, 0.6 * seats ** 0.35 * Math.exp(-0.4 * health)),
    nps: answeredNps
      ? Math.round(clamp(7.2 + 1.8 * health + 1.5 * normal(random), 0, 10))
      : undefined,
    sessions,
    previousSessions,
    championLeft: random() < 0.1,
    paymentFailures: poisson(random, billing === 'Card' ? 0.35 : 0.08),
  };
}

function recencyEffect(days: number | undefined): number {
  if (days === undefined) return 3.4;
  if (days < 14) return 0.05 * days;
  // The threshold: two weeks without a login is when accounts start to go dark.
  return 1.7 + 0.9 * Math.log1p((days - 14) / 14);
}

function usageDropEffect(current: number, previous: number): number {
  const ratio = Math.log((current + 1) / (previous + 1));
  return ratio < 0 ? 1.05 * Math.min(-ratio, 3) : -0.2 * Math.min(ratio, 1);
}

function npsEffect(nps: number | undefined): number {
  if (nps === undefined) return 0.3;
  return 0.4 * Math.max(0, 7 - nps) - 0.45 * Math.max(0, nps - 8);
}

/** The true churn logit of a row: the documented model, from the row's columns only. */
function trueLogit(account: Account): number {
  const months = account.tenureDays / 30.44;
  const tickets = account.tickets ?? 2;
  return (
    INTERCEPT +
    recencyEffect(account.daysSinceLogin) +
    (1.7 - 0.6 * Math.log1p(months)) +
    usageDropEffect(account.sessions, account.previousSessions) +
    1.4 * (1 - Math.exp(-tickets / 3)) +
    0.7 * Math.min(account.paymentFailures, 3) +
    (account.monthly ? 1.15 : 0) +
    (account.championLeft ? 0.4 + 0.6 * Math.log10(account.seats) : 0) +
    npsEffect(account.nps)
  );
}

function formatMoney(random: Random, value: number): string {
  const draw = random();
  // Billing exports mix formatted currency, raw numbers and missing values.
  if (draw < 0.05) return '';
  if (draw < 0.15) return String(value);
  return `$${value.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;
}

function formatPlan(random: Random, plan: Plan): string {
  const draw = random();
  if (draw < 0.02) return plan.toLowerCase();
  if (draw < 0.03) return plan.toUpperCase();
  if (draw < 0.05) return ` ${plan} `;
  return plan;
}

function formatUsDate(date: Date): string {
  return `${date.getUTCMonth() + 1}/${date.getUTCDate()}/${date.getUTCFullYear()}`;
}

function formatLogin(random: Random, asOf: number, days: number | undefined): string {
  if (days === undefined) return '';
  // Strictly before the as-of instant, `days` whole days before it.
  const seconds = 1 + Math.floor(random() * 86_399);
  return new Date(asOf - days * DAY_MS - seconds * 1000).toISOString().replace('.000Z', 'Z');
}

function companyName(random: Random): string {
  return `${pick(random, NAME_HEADS)}${pick(random, NAME_TAILS)} ${pick(random, NAME_NOUNS)}${pick(random, NAME_ENDS)}`;
}

function formatRow(random: Random, index: number, asOf: number, account: Account): string[] {
  return [
    `ACC-${String(index + 1).padStart(6, '0')}`,
    companyName(random),
    formatPlan(random, account.plan),
    String(account.seats),
    formatMoney(random, account.mrr),
    formatUsDate(new Date(asOf - account.tenureDays * DAY_MS)),
    formatLogin(random, asOf, account.daysSinceLogin),
    account.monthly ? 'Monthly' : 'Annual',
    account.billing,
    account.tickets === undefined ? '' : String(account.tickets),
    account.nps === undefined ? '' : String(account.nps),
    weighted(random, COUNTRIES),
    String(account.sessions),
    String(account.previousSessions),
    account.championLeft ? 'Yes' : 'No',
    String(account.paymentFailures),
    pick(random, OWNERS),
  ];
}

function parseAsOf(asOf: string): number {
  const time = Date.parse(`${asOf}T00:00:00Z`);
  if (!/^\d{4}-\d{2}-\d{2}$/.test(asOf) || Number.isNaN(time)) {
    throw new Error(`as-of must be a date like 2026-11-30, got "${asOf}"`);
  }
  return time;
}

/** Rows one at a time (cells with the label last, and the true probability), seeded. */
export function* saasRows(
  options: SaasExportOptions,
): Generator<{ cells: string[]; probability: number }> {
  const asOf = parseAsOf(options.asOf ?? DEFAULT_AS_OF);
  const random = seededRandom(options.seed ?? 1);
  for (let index = 0; index < options.rows; index++) {
    const account = sampleAccount(random);
    const probability = sigmoid(trueLogit(account));
    const cells = formatRow(random, index, asOf, account);
    cells.push(random() < probability ? 'Yes' : 'No');
    yield { cells, probability };
  }
}

/** The whole export in memory: for tests and small files (see writeSaasExport for large ones). */
export function generateSaasExport(options: SaasExportOptions): SaasExport {
  const rows: string[][] = [];
  const trueProbabilities = new Float64Array(options.rows);
  for (const { cells, probability } of saasRows(options)) {
    trueProbabilities[rows.length] = probability;
    rows.push(cells);
  }
  return { header: [...SAAS_HEADER], rows, trueProbabilities };
}

/** Writes text, resolving once the stream accepts more (bounded memory for any row count). */
function writer(out: WriteStream): (text: string) => Promise<void> {
  return (text) =>
    out.write(text) ? Promise.resolve() : new Promise((resolve) => out.once('drain', resolve));
}

function close(out: WriteStream): Promise<void> {
  return new Promise((resolve, reject) =>
    out.end((error?: Error | null) => (error ? reject(error) : resolve())),
  );
}

/** Streams the export (and optionally `Account ID,true_probability`) to files in 1 MiB chunks. */
export async function writeSaasExport(
  options: SaasExportOptions & { out: string; truth?: string },
): Promise<void> {
  const out = createWriteStream(options.out, { highWaterMark: 1 << 20 });
  const truth = options.truth === undefined ? undefined : createWriteStream(options.truth);
  const write = writer(out);
  const writeTruth = truth === undefined ? undefined : writer(truth);
  let chunk = csvLine(SAAS_HEADER);
  let truthChunk = csvLine(['Account ID', 'true_probability']);
  for (const { cells, probability } of saasRows(options)) {
    chunk += csvLine(cells);
    if (writeTruth !== undefined) truthChunk += csvLine([cells[0] as string, String(probability)]);
    if (chunk.length > 1 << 20) {
      await write(chunk);
      await writeTruth?.(truthChunk);
      chunk = '';
      truthChunk = '';
    }
  }
  await write(chunk);
  await writeTruth?.(truthChunk);
  await Promise.all([close(out), truth === undefined ? undefined : close(truth)]);
}

function flag(name: string): string | undefined {
  const at = process.argv.indexOf(`--${name}`);
  return at === -1 ? undefined : process.argv[at + 1];
}

async function main(): Promise<void> {
  const rows = Number(flag('rows'));
  const seed = Number(flag('seed') ?? 1);
  const out = flag('out');
  if (!Number.isInteger(rows) || rows < 1 || !Number.isInteger(seed) || out === undefined) {
    throw new Error(
      'usage: tsx bench/saas/generate.ts --rows N [--seed S] [--as-of YYYY-MM-DD] --out file.csv [--truth truth.csv]',
    );
  }
  await writeSaasExport({
    rows,
    seed,
    asOf: flag('as-of') ?? DEFAULT_AS_OF,
    out,
    truth: flag('truth'),
  });
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  });
}
