import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { csvLine } from '../../src/model/csv-writer.js';
import { rocAuc } from '../../src/model/metrics.js';
import { generateSaasExport, writeSaasExport } from './generate.js';

const HEADER = [
  'Account ID',
  'Company',
  'Plan',
  'Seats',
  'MRR ($)',
  'Signup Date',
  'Last Login',
  'Contract',
  'Billing',
  'Support Tickets (90d)',
  'NPS',
  'Country',
  'Sessions (30d)',
  'Sessions (prev 30d)',
  'Champion Left',
  'Payment Failures (12m)',
  'Account Owner',
  'Churned?',
];
const column = (name: string): number => HEADER.indexOf(name);
const AS_OF = Date.UTC(2026, 10, 30);
const DAY_MS = 86_400_000;

// Large enough that the rates and the AUC are stable to about ±0.01.
const sample = generateSaasExport({ rows: 20_000, seed: 7 });
const values = (name: string): string[] => sample.rows.map((row) => row[column(name)] as string);
const share = (cells: string[], keep: (cell: string) => boolean): number =>
  cells.filter(keep).length / cells.length;

/** `m/d/yyyy` as UTC midnight; NaN when the text is not a real calendar date. */
function parseUsDate(text: string): number {
  const match = /^(\d{1,2})\/(\d{1,2})\/(\d{4})$/.exec(text);
  if (match === null) return Number.NaN;
  const [month, day, year] = [Number(match[1]), Number(match[2]), Number(match[3])];
  const time = Date.UTC(year, month - 1, day);
  const date = new Date(time);
  return date.getUTCMonth() === month - 1 && date.getUTCDate() === day ? time : Number.NaN;
}

/** `2026-10-03T14:22:10Z` only (no milliseconds, UTC); NaN otherwise. */
function parseIsoInstant(text: string): number {
  return /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/.test(text) ? Date.parse(text) : Number.NaN;
}

describe('generateSaasExport', () => {
  it('writes the CRM header and one full row per account', () => {
    expect(sample.header).toEqual(HEADER);
    expect(sample.rows).toHaveLength(20_000);
    expect(sample.trueProbabilities).toHaveLength(20_000);
    expect(sample.rows.every((row) => row.length === HEADER.length)).toBe(true);
    const ids = values('Account ID');
    expect(ids[0]).toBe('ACC-000001');
    expect(ids.every((id) => /^ACC-\d{6}$/.test(id))).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('samples labels from the true probabilities at a SaaS-like churn rate', () => {
    const labels = values('Churned?').map((cell) => (cell === 'Yes' ? 1 : 0));
    expect(new Set(values('Churned?'))).toEqual(new Set(['Yes', 'No']));
    const rate = labels.reduce<number>((sum, label) => sum + label, 0) / labels.length;
    const meanProbability =
      sample.trueProbabilities.reduce((sum, p) => sum + p, 0) / sample.trueProbabilities.length;
    expect(rate).toBeGreaterThan(0.17);
    expect(rate).toBeLessThan(0.25);
    expect(Math.abs(rate - meanProbability)).toBeLessThan(0.015);
    const bayesAuc = rocAuc(labels, sample.trueProbabilities);
    expect(bayesAuc).toBeGreaterThan(0.85);
    expect(bayesAuc).toBeLessThan(0.92);
  });

  it('is deterministic for a seed and differs across seeds', () => {
    const first = generateSaasExport({ rows: 300, seed: 3 });
    expect(generateSaasExport({ rows: 300, seed: 3 })).toEqual(first);
    expect(generateSaasExport({ rows: 300, seed: 4 }).rows).not.toEqual(first.rows);
  });

  it('writes money the messy ways a billing export does, all readable', () => {
    const money = values('MRR ($)');
    expect(share(money, (cell) => /^\$\d{1,3}(,\d{3})*\.\d{2}$/.test(cell))).toBeGreaterThan(0.8);
    expect(money.some((cell) => /^\$\d{1,3}(,\d{3})+\.\d{2}$/.test(cell))).toBe(true);
    expect(share(money, (cell) => /^\d+(\.\d{1,2})?$/.test(cell))).toBeGreaterThan(0.05);
    expect(share(money, (cell) => cell === '')).toBeGreaterThan(0.02);
    for (const cell of money.filter((value) => value !== '')) {
      expect(Number(cell.replace(/[$,]/g, ''))).toBeGreaterThan(0);
    }
  });

  it('leaves blanks where CRMs do and keeps the categorical columns in range', () => {
    const nps = values('NPS');
    const npsBlank = share(nps, (cell) => cell === '');
    expect(npsBlank).toBeGreaterThan(0.2);
    expect(npsBlank).toBeLessThan(0.4);
    expect(nps.every((cell) => cell === '' || /^(10|\d)$/.test(cell))).toBe(true);
    expect(share(values('Support Tickets (90d)'), (cell) => cell === '')).toBeGreaterThan(0.02);
    expect(values('Plan').some((cell) => cell !== cell.trim())).toBe(true);
    expect(values('Plan').some((cell) => cell === cell.toLowerCase())).toBe(true);
    const plans = new Set(values('Plan').map((cell) => cell.trim().toLowerCase()));
    expect(plans).toEqual(new Set(['starter', 'growth', 'business', 'enterprise']));
    expect(new Set(values('Contract'))).toEqual(new Set(['Monthly', 'Annual']));
    expect(new Set(values('Billing'))).toEqual(new Set(['Card', 'Invoice', 'ACH']));
    expect(new Set(values('Champion Left'))).toEqual(new Set(['Yes', 'No']));
    expect(values('Country').every((cell) => /^[A-Z]{2}$/.test(cell))).toBe(true);
  });

  it('writes dates that parse, with logins after signup and before the as-of date', () => {
    const signups = values('Signup Date').map(parseUsDate);
    expect(signups.every((time) => time < AS_OF)).toBe(true);
    const logins = values('Last Login');
    expect(logins.some((cell) => cell === '')).toBe(true);
    // A NaN (unparsable) login fails both comparisons, so it counts as out of order.
    const outOfOrder = logins.filter((cell, row) => {
      const login = parseIsoInstant(cell);
      return cell !== '' && !(login < AS_OF && login >= (signups[row] as number));
    });
    expect(outOfOrder).toEqual([]);
    const stale = share(
      logins,
      (cell) => cell !== '' && AS_OF - parseIsoInstant(cell) > 14 * DAY_MS,
    );
    expect(stale).toBeGreaterThan(0.05);
  });

  it('rejects an as-of that is not a date', () => {
    expect(() => generateSaasExport({ rows: 1, asOf: '11/30/2026' })).toThrow(/as-of/);
  });
});

describe('writeSaasExport', () => {
  it('streams the same rows as the in-memory export, and the truth file', async () => {
    const directory = await mkdtemp(join(tmpdir(), 'saas-'));
    try {
      const out = join(directory, 'export.csv');
      const truth = join(directory, 'truth.csv');
      await writeSaasExport({ rows: 2_000, seed: 11, out, truth });
      const expected = generateSaasExport({ rows: 2_000, seed: 11 });
      expect(await readFile(out, 'utf8')).toBe(
        [expected.header, ...expected.rows].map((cells) => csvLine(cells)).join(''),
      );
      const lines = (await readFile(truth, 'utf8')).trimEnd().split('\n');
      expect(lines[0]).toBe('Account ID,true_probability');
      expect(lines).toHaveLength(2_001);
      expect(lines[1]).toBe(`ACC-000001,${expected.trueProbabilities[0]}`);
    } finally {
      await rm(directory, { recursive: true, force: true });
    }
  });
});
