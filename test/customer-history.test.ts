/**
 * Customer history: a user's customers are matched by id (ignoring case) across predictions made
 * with the same model. Each prediction says who is newly high risk, who worsened, improved or is
 * new since the previous one; each customer has a timeline. Scored twice here, with the second
 * export changed the way a month changes a customer base.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  authorised,
  callJson,
  type RunningService,
  startService,
  submitCsv,
  waitForStatus,
} from './support/service.js';
import { telcoNextMonth, telcoText } from './support/telco.js';

let service: RunningService;
let alice: string;
let bob: string;

beforeAll(async () => {
  service = await startService();
  alice = await service.token('alice');
  bob = await service.token('bob');
});
afterAll(async () => {
  await service.stop();
});

const call = (token: string, path: string, method = 'GET') =>
  callJson(service, token, method, path);

const LINES = telcoText.trimEnd().split(/\r?\n/).slice(1);

async function score(token: string, csv: string) {
  const { predictionId } = await submitCsv(service, token, csv);
  const done = await waitForStatus(service.url, token, predictionId, ['completed', 'failed']);
  expect(done.status).toBe('completed');
  return { predictionId, summary: done.summary as Record<string, unknown> };
}

type Row = { customerId: string; riskTier: string; change: string | null; row: number };

async function allRows(token: string, predictionId: string, query = ''): Promise<Row[]> {
  const rows: Row[] = [];
  for (let offset = 0; ; offset += 500) {
    const page = await call(
      token,
      `/v1/predictions/${predictionId}/rows?limit=500&offset=${offset}${query.includes('sort=') ? '' : '&sort=row'}${query}`,
    );
    expect(page.status).toBe(200);
    rows.push(...page.body.rows);
    if (rows.length >= page.body.total) return rows;
  }
}

describe('customer history', () => {
  let first: Awaited<ReturnType<typeof score>>;
  let second: Awaited<ReturnType<typeof score>>;
  let before: Map<string, Row>;
  const madeRisky: string[] = [];
  const madeSafe: string[] = [];
  const dropped: string[] = [];
  const added = ['NEW-0001', 'NEW-0002', 'NEW-0003'];
  const byIdNow = new Map<string, string>();

  it('has nothing to compare the first prediction with', async () => {
    first = await score(alice, telcoText);
    expect(first.summary.changes).toBeNull();
    const changes = await call(alice, `/v1/predictions/${first.predictionId}/changes`);
    expect(changes.status).toBe(200);
    expect(changes.body).toMatchObject({ previous: null, counts: null, newlyHighRisk: [] });
    before = new Map((await allRows(alice, first.predictionId)).map((r) => [r.customerId, r]));
    expect(before.size).toBe(LINES.length);
  });

  it('says who is newly high risk, worsened, improved or new since the previous prediction', async () => {
    const month = telcoNextMonth((id) => before.get(id)?.riskTier, {
      risky: 25,
      dropped: 10,
      added,
    });
    madeRisky.push(...month.madeRisky);
    madeSafe.push(...month.madeSafe);
    dropped.push(...month.dropped);
    const lines = month.lines;
    // The same customer in other letter case is the same customer.
    lines[lines.length - 1 - added.length] = (lines.at(-1 - added.length) as string)
      .toLowerCase()
      .replace(/,no$/, ',No')
      .replace(/,yes$/, ',Yes');
    second = await score(alice, [month.csv.slice(0, month.csv.indexOf('\n')), ...lines].join('\n'));

    const counts = second.summary.changes as Record<string, number | string>;
    expect(counts.previousPredictionId).toBe(first.predictionId);
    expect(counts.new).toBe(added.length);
    expect(
      (counts.new as number) +
        (counts.newlyHighRisk as number) +
        (counts.worsened as number) +
        (counts.improved as number) +
        (counts.unchanged as number),
    ).toBe(lines.length);

    const rows = await allRows(alice, second.predictionId);
    for (const row of rows) byIdNow.set(row.customerId.toUpperCase(), row.riskTier);
    const byId = new Map(rows.map((r) => [r.customerId.toUpperCase(), r]));
    const risky = madeRisky.map((id) => byId.get(id)?.change);
    for (const change of risky) expect(['newly_high_risk', 'worsened']).toContain(change);
    expect(risky.filter((c) => c === 'newly_high_risk').length).toBeGreaterThan(15);
    for (const id of madeSafe) expect(byId.get(id)?.change).toBe('improved');
    for (const id of added) expect(byId.get(id)?.change).toBe('new');
    // Every row's change agrees with the two tiers.
    for (const row of rows) {
      const was = before.get(row.customerId.toUpperCase())?.riskTier;
      if (!was) continue;
      const expected =
        was === row.riskTier
          ? 'unchanged'
          : row.riskTier === 'high'
            ? 'newly_high_risk'
            : ['high', 'medium', 'low'].indexOf(row.riskTier) <
                ['high', 'medium', 'low'].indexOf(was)
              ? 'worsened'
              : 'improved';
      expect(row.change, row.customerId).toBe(expected);
    }

    const changes = await call(alice, `/v1/predictions/${second.predictionId}/changes?limit=5`);
    expect(changes.body.previous).toMatchObject({ predictionId: first.predictionId });
    expect(changes.body.counts.newlyHighRisk).toBe(counts.newlyHighRisk);
    expect(changes.body.newlyHighRisk).toHaveLength(5);
    for (const row of changes.body.newlyHighRisk) {
      expect(row.change).toBe('newly_high_risk');
      expect(row.previousProbability).toBeLessThan(row.churnProbability);
    }
    const probabilities = changes.body.improved.map(
      (r: { churnProbability: number }) => r.churnProbability,
    );
    expect(probabilities).toEqual([...probabilities].sort((a, b) => b - a));

    // The lists page through the rows API, and export like any view.
    const newlyHigh = await allRows(alice, second.predictionId, '&change=newly_high_risk');
    expect(newlyHigh).toHaveLength(counts.newlyHighRisk as number);
    const exported = await fetch(
      `${service.url}/v1/predictions/${second.predictionId}/rows.csv?change=new`,
      authorised(alice),
    );
    expect(exported.status).toBe(200);
    expect(exported.headers.get('content-disposition')).toContain('all-new-highest-risk-first');
    const exportedIds = (await exported.text())
      .trimEnd()
      .split('\n')
      .slice(1)
      .map((l) => l.split(',')[0]);
    expect(exportedIds.sort()).toEqual([...added].sort());
  });

  it("shows a customer's scores over time, with the latest reasons and action", async () => {
    const id = madeRisky.find((m) => byIdNow.get(m) === 'high') as string;
    const customer = await call(alice, `/v1/customers/${encodeURIComponent(id.toLowerCase())}`);
    expect(customer.status).toBe(200);
    expect(customer.body.scores.map((s: { predictionId: string }) => s.predictionId)).toEqual([
      first.predictionId,
      second.predictionId,
    ]);
    const [then, now] = customer.body.scores;
    expect(then).toMatchObject({ riskTier: 'low', change: 'new', previousProbability: null });
    expect(now).toMatchObject({ riskTier: 'high', change: 'newly_high_risk' });
    expect(now.previousProbability).toBe(then.churnProbability);
    expect(customer.body.latest.customerId).toBe(id);
    expect(customer.body.latest.topReasons.length).toBeGreaterThan(0);
    expect(customer.body.latest.recommendedAction).toBeTruthy();

    // A dropped customer's timeline ends with the first prediction.
    const gone = await call(alice, `/v1/customers/${dropped[0]}`);
    expect(gone.body.scores).toHaveLength(1);
  });

  it('keeps each user to their own customers, and forgets a deleted prediction', async () => {
    const id = madeRisky[0] as string;
    const other = await call(bob, `/v1/customers/${id}`);
    expect(other.status).toBe(404);
    expect(other.body.error.code).toBe('customer_not_found');
    expect(other.body.error.message).toContain(id);
    expect((await call(bob, `/v1/predictions/${second.predictionId}/changes`)).status).toBe(404);
    // Bob's first prediction compares with none of Alice's.
    const bobs = await score(bob, telcoText);
    expect(bobs.summary.changes).toBeNull();

    expect((await call(alice, `/v1/predictions/${second.predictionId}`, 'DELETE')).status).toBe(
      204,
    );
    const customer = await call(alice, `/v1/customers/${id}`);
    expect(customer.body.scores).toHaveLength(1);
    expect(customer.body.latest.riskTier).toBe('low');
    expect((await call(alice, `/v1/customers/${added[0]}`)).status).toBe(404);
  });

  it("orders the worklist by the user's own columns of numbers, and exports in that order", async () => {
    const base = `/v1/predictions/${first.predictionId}/rows`;
    const charges = (rows: Array<{ values: Record<string, string> }>) =>
      rows.map((r) => Number(r.values.MonthlyCharges));
    const down = await call(alice, `${base}?sort=column_desc&sortColumn=MonthlyCharges&limit=100`);
    expect(down.status, JSON.stringify(down.body)).toBe(200);
    expect(down.body.total).toBe(LINES.length);
    expect(charges(down.body.rows)).toEqual([...charges(down.body.rows)].sort((a, b) => b - a));
    const max = Math.max(...LINES.map((line) => Number(line.split(',')[18])));
    expect(charges(down.body.rows)[0]).toBe(max);
    // Deep pages and filters work in that order too.
    const high = await call(
      alice,
      `${base}?sort=column_asc&sortColumn=MonthlyCharges&tier=high&offset=40&limit=20`,
    );
    expect(high.body.rows.every((r: { riskTier: string }) => r.riskTier === 'high')).toBe(true);
    expect(charges(high.body.rows)).toEqual([...charges(high.body.rows)].sort((a, b) => a - b));
    // TotalCharges is blank for a few new customers: they come last, either way.
    const total = await allRows(
      alice,
      first.predictionId,
      '&sort=column_asc&sortColumn=TotalCharges',
    );
    const blanks = LINES.filter((line) => line.split(',')[19]?.trim() === '').length;
    expect(blanks).toBeGreaterThan(0);
    expect(total.length).toBe(LINES.length);
    const totals = total.map((r) =>
      (r as unknown as { values: Record<string, string> }).values.TotalCharges?.trim(),
    );
    expect(totals.slice(-blanks).every((value) => value === '')).toBe(true);
    const numbers = totals.slice(0, -blanks).map(Number);
    expect(numbers).toEqual([...numbers].sort((a, b) => a - b));

    const exported = await fetch(
      `${service.url}${base.replace('/rows', '/rows.csv')}?sort=column_desc&sortColumn=MonthlyCharges`,
      authorised(alice),
    );
    expect(exported.headers.get('content-disposition')).toContain(
      'all-by-MonthlyCharges-largest-first',
    );
    const lines = (await exported.text()).trimEnd().split('\n').slice(1);
    const values = lines.map((line) => Number(line.split(',')[18]));
    expect(values).toEqual([...values].sort((a, b) => b - a));

    for (const [query, code] of [
      ['sort=column_desc', 'sort_column_required'],
      ['sort=column_desc&sortColumn=Nope', 'unknown_column'],
      ['sort=column_desc&sortColumn=gender', 'not_numeric'],
    ] as const) {
      const refused = await call(alice, `${base}?${query}`);
      expect(refused.status, query).toBe(400);
      expect(refused.body.error.code).toBe(code);
    }
  });

  it('refuses a change filter it cannot answer, saying why', async () => {
    const bad = await call(alice, `/v1/predictions/${first.predictionId}/rows?change=better`);
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toContain('change');
  });
});
