import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rowsIndexKey } from '../src/ids.js';
import { CsvParser } from '../src/model/csv-reader.js';
import {
  authorised,
  type RunningService,
  startService,
  submitCsv,
  uploadCsv,
  waitForStatus,
} from './support/service.js';
import { telcoCsv as telco } from './support/telco.js';

const USER = 'auth0|rows-reader';

interface Row {
  row: number;
  expectedMonthlyLoss: number | null;
  customerId: string | null;
  churnProbability: number | null;
  riskTier: string | null;
  topReasons: string[];
  error: string | null;
  values: Record<string, string>;
}
interface Page {
  rows: Row[];
  total: number;
  nextCursor: string | null;
}

let service: RunningService;
let token: string;
let predictionId: string;
let summary: Record<string, unknown>;
/** The results CSV as the API should page it: [row, customerId, probability, tier]. */
let expected: Array<{
  row: number;
  id: string;
  p: number | null;
  tier: string;
  reasons: string[];
  /** Probability × MonthlyCharges, to the cent (Telco's every row has both). */
  loss: number | null;
  lossKey: number | null;
}>;

const get = async (query: string, id = predictionId): Promise<Page> => {
  const response = await fetch(
    `${service.url}/v1/predictions/${id}/rows?${query}`,
    authorised(token),
  );
  expect(response.status, query).toBe(200);
  return (await response.json()) as Page;
};

/** Every row of a query, following nextCursor. */
async function all(query: string): Promise<{ rows: Row[]; total: number }> {
  const rows: Row[] = [];
  let page = await get(`${query}&limit=500`);
  rows.push(...page.rows);
  while (page.nextCursor) {
    page = await get(`${query}&limit=500&cursor=${page.nextCursor}`);
    rows.push(...page.rows);
  }
  return { rows, total: page.total };
}

beforeAll(async () => {
  service = await startService({ UPLOAD_MAX_BYTES: String(2 * 1024 * 1024) });
  token = await service.token(USER);
  ({ predictionId } = await submitCsv(service, token, telco));
  const done = await waitForStatus(service.url, token, predictionId, ['completed', 'failed']);
  expect(done.status).toBe('completed');
  summary = done.summary as Record<string, unknown>;
  const csv = await fetch(
    `${service.url}/v1/predictions/${predictionId}/results.csv`,
    authorised(token),
  );
  const records: string[][] = [];
  new CsvParser(',').push(await csv.text(), true, records);
  const header = records[0] as string[];
  const at = (name: string) => header.indexOf(name);
  expected = records.slice(1).map((record, i) => ({
    row: i + 1,
    id: record[at('customerID')] as string,
    p: record[at('churn_probability')] === '' ? null : Number(record[at('churn_probability')]),
    tier: record[at('risk_tier')] as string,
    reasons:
      record[at('top_reasons')] === '' ? [] : (record[at('top_reasons')] as string).split('; '),
    loss: null,
    // Exact, as the index orders: ten-thousandths of probability × cents.
    lossKey:
      record[at('churn_probability')] === ''
        ? null
        : Math.round(Number(record[at('churn_probability')]) * 10_000) *
          Math.round(Number(record[at('MonthlyCharges')]) * 100),
  }));
  // The loss shown: the exact product to the nearest cent.
  for (const r of expected)
    r.loss = r.lossKey === null ? null : Math.round(r.lossKey / 10_000) / 100;
}, 120_000);
afterAll(async () => {
  await service.stop();
});

/** Most revenue at risk first; ties, and rows without a loss (last), in row order. */
const byLoss = (a: (typeof expected)[0], b: (typeof expected)[0]) =>
  (b.lossKey ?? Number.NEGATIVE_INFINITY) - (a.lossKey ?? Number.NEGATIVE_INFINITY) ||
  a.row - b.row;

const byRisk = (descending: boolean) => (a: (typeof expected)[0], b: (typeof expected)[0]) =>
  (descending ? (b.p ?? -1) - (a.p ?? -1) : (a.p ?? 2) - (b.p ?? 2)) || a.row - b.row;

describe('GET /v1/predictions/{id}/rows with a rows index', () => {
  it('stores the index next to the results', async () => {
    expect(await service.app.blobs.head(rowsIndexKey(USER, predictionId))).toMatchObject({
      contentType: 'application/octet-stream',
    });
  });

  it("serves each row's reasons as the results CSV has them, with protective factors apart", async () => {
    const got = await all('sort=row');
    expect(got.rows.map((r) => r.topReasons)).toEqual(expected.map((r) => r.reasons));
    for (const row of got.rows) {
      expect(Object.keys(row.values)).not.toContain('protective_factors');
      for (const reason of row.topReasons) expect(reason).toMatch(/raises risk \(\+\d\.\d\d\)$/);
    }
  });

  it('pages every row by tier and order exactly as the results CSV has them', async () => {
    for (const sort of ['probability_desc', 'probability_asc', 'row'] as const) {
      for (const tier of ['high', 'medium', 'low'] as const) {
        const want = expected.filter((r) => r.tier === tier);
        if (sort !== 'row') want.sort(byRisk(sort === 'probability_desc'));
        const got = await all(`sort=${sort}&tier=${tier}`);
        expect(got.total).toBe(want.length);
        expect(
          got.rows.map((r) => [r.row, r.customerId, r.churnProbability, r.riskTier]),
          `${sort} ${tier}`,
        ).toEqual(want.map((r) => [r.row, r.id, r.p, r.tier]));
      }
    }
    const tiers = summary.tiers as Record<string, number>;
    expect((await get('tier=high&limit=1')).total).toBe(tiers.high);
  });

  it('finds customers by id prefix, ignoring case, with tier and order', async () => {
    for (const [prefix, tier, sort] of [
      ['7', 'high', 'probability_desc'],
      ['00', undefined, 'probability_asc'],
      ['9', 'low', 'row'],
      ['5575-gn', undefined, 'probability_desc'],
    ] as const) {
      const want = expected.filter(
        (r) => r.id.toLowerCase().startsWith(prefix) && (tier === undefined || r.tier === tier),
      );
      if (sort !== 'row') want.sort(byRisk(sort === 'probability_desc'));
      const query = `customerId=${encodeURIComponent(prefix.toUpperCase())}&sort=${sort}${tier ? `&tier=${tier}` : ''}`;
      const got = await all(query);
      expect(got.total, query).toBe(want.length);
      expect(
        got.rows.map((r) => r.row),
        query,
      ).toEqual(want.map((r) => r.row));
    }
    const one = await get('customerId=5575-GN');
    expect(one.rows.map((r) => r.values.customerID)).toEqual(['5575-GNVDE']);
  });

  it("finds customers by an id column named in another language (a German export's Kunden-Nr)", async () => {
    const german = telco.toString('utf8').replace(/^customerID,/, 'Kunden-Nr,');
    const { predictionId: id } = await submitCsv(service, token, german);
    expect((await waitForStatus(service.url, token, id, ['completed', 'failed'])).status).toBe(
      'completed',
    );
    const one = await get('customerId=5575-gn', id);
    expect(one.rows.map((r) => [r.customerId, r.values['Kunden-Nr']])).toEqual([
      ['5575-GNVDE', '5575-GNVDE'],
    ]);
    // Compared with the previous prediction of the same model by those ids: every one unchanged.
    const done = await waitForStatus(service.url, token, id, ['completed']);
    expect((done.summary as { changes: { unchanged: number } | null }).changes?.unchanged).toBe(
      expected.length,
    );
  });

  it('has no depth cap: a probability-sorted page past row 10,000 is an empty last page', async () => {
    const cursor = Buffer.from('o:9900').toString('base64url');
    const page = await get(`limit=500&cursor=${cursor}`);
    expect(page).toEqual({ rows: [], total: 7043, nextCursor: null });
    const last = await get(`limit=500&cursor=${Buffer.from('o:7000').toString('base64url')}`);
    expect(last.rows.map((r) => r.row)).toEqual(
      [...expected]
        .sort(byRisk(true))
        .slice(7000)
        .map((r) => r.row),
    );
  });

  it('jumps straight to a page by offset, the same rows as following the cursors', async () => {
    const ordered = [...expected].filter((r) => r.tier === 'medium').sort(byRisk(true));
    const page = await get('tier=medium&limit=50&offset=150');
    expect(page.total).toBe(ordered.length);
    expect(page.rows.map((r) => r.row)).toEqual(ordered.slice(150, 200).map((r) => r.row));
    const response = await fetch(
      `${service.url}/v1/predictions/${predictionId}/rows?offset=50&cursor=${Buffer.from('o:50').toString('base64url')}`,
      authorised(token),
    );
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe(
      'cursor_and_offset',
    );
  });

  it('orders the worklist by expected monthly loss, with tier and id filters, and shows each loss', async () => {
    for (const [query, keep] of [
      ['sort=expected_loss_desc', () => true],
      ['sort=expected_loss_desc&tier=high', (r: (typeof expected)[0]) => r.tier === 'high'],
      ['sort=expected_loss_desc&customerId=9', (r: (typeof expected)[0]) => r.id.startsWith('9')],
    ] as const) {
      const want = expected.filter(keep).sort(byLoss);
      const got = await all(query);
      expect(got.total, query).toBe(want.length);
      expect(
        got.rows.map((r) => r.row),
        query,
      ).toEqual(want.map((r) => r.row));
      expect(
        got.rows.map((r) => r.expectedMonthlyLoss),
        query,
      ).toEqual(want.map((r) => r.loss));
    }
  });

  it('refuses the expected-loss order for a file without a revenue column, saying why', async () => {
    // Telco with MonthlyCharges renamed to a name no revenue synonym has, scored knowingly.
    const renamed = telco.toString('utf8').replace('MonthlyCharges', 'Fee (old plan)');
    const { id: uploadId } = await uploadCsv(service, token, renamed);
    const created = await fetch(
      `${service.url}/v1/predictions`,
      authorised(token, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ uploadId, allowPartialFit: true }),
      }),
    );
    expect(created.status).toBe(202);
    const { id } = (await created.json()) as { id: string };
    const done = await waitForStatus(service.url, token, id, ['completed', 'failed']);
    expect(done.summary).toMatchObject({ revenue: null });
    const refused = await fetch(
      `${service.url}/v1/predictions/${id}/rows?sort=expected_loss_desc`,
      authorised(token),
    );
    expect(refused.status).toBe(400);
    const body = (await refused.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('no_revenue');
    expect(body.error.message).toMatch(/no monthly revenue column .* sort by probability instead/);
    expect(
      (await get('limit=1&sort=probability_desc', id)).rows[0]?.expectedMonthlyLoss,
    ).toBeNull();
  });

  it('exports a view as CSV: the same rows in the same order as the pages, every one of them', async () => {
    const results = await (
      await fetch(`${service.url}/v1/predictions/${predictionId}/results.csv`, authorised(token))
    ).text();
    const lines = results.split('\n');
    const header = lines[0] as string;
    // Telco rows have no quoted line breaks: a row's line is its own.
    const lineOf = (row: number) => lines[row] as string;
    for (const [query, want] of [
      ['tier=high&sort=expected_loss_desc', expected.filter((r) => r.tier === 'high').sort(byLoss)],
      ['sort=probability_asc', [...expected].sort(byRisk(false))],
      ['customerId=00&sort=row', expected.filter((r) => r.id.startsWith('00'))],
    ] as const) {
      const response = await fetch(
        `${service.url}/v1/predictions/${predictionId}/rows.csv?${query}`,
        authorised(token),
      );
      expect(response.status, query).toBe(200);
      expect(response.headers.get('content-type')).toBe('text/csv; charset=utf-8');
      const text = await response.text();
      expect(text, query).toBe([header, ...want.map((r) => lineOf(r.row)), ''].join('\n'));
    }
    const named = await fetch(
      `${service.url}/v1/predictions/${predictionId}/rows.csv?tier=high&sort=expected_loss_desc`,
      authorised(token),
    );
    expect(named.headers.get('content-disposition')).toContain(
      "filename*=UTF-8''customers-high-most-revenue-at-risk-first.csv",
    );
    await named.arrayBuffer();
  });

  it('summarises the probability histogram and the revenue at risk', () => {
    const histogram = summary.probabilityHistogram as number[];
    expect(histogram).toHaveLength(20);
    expect(histogram.reduce((a, b) => a + b, 0)).toBe(7043);
    const revenue = summary.revenue as Record<string, number | string>;
    expect(revenue.column).toBe('MonthlyCharges');
    expect(revenue.monthlyTotal).toBeCloseTo(456_116.6, 1);
    const loss = expected.reduce((sum, r, i) => sum + (r.p ?? 0) * Number(rowCharges[i]), 0);
    expect(Math.abs((revenue.expectedMonthlyLoss as number) - loss)).toBeLessThanOrEqual(0.01);
  });

  it('pages a prediction completed before indexes existed by streaming, as before', async () => {
    const { predictionId: old } = await submitCsv(service, token, telco);
    await waitForStatus(service.url, token, old, ['completed']);
    await service.app.db
      .updateTable('predictions')
      .set({ rows_index_key: null })
      .where('id', '=', old)
      .execute();
    await service.app.blobs.delete(rowsIndexKey(USER, old));
    const page = await get('tier=medium&limit=50&sort=probability_asc', old);
    expect(page.rows.map((r) => r.row)).toEqual(
      expected
        .filter((r) => r.tier === 'medium')
        .sort(byRisk(false))
        .slice(0, 50)
        .map((r) => r.row),
    );
    // The expected-loss order, too, the same as the index gives.
    const worklist = await get('limit=50&sort=expected_loss_desc', old);
    expect(worklist.rows.map((r) => r.row)).toEqual(
      [...expected]
        .sort(byLoss)
        .slice(0, 50)
        .map((r) => r.row),
    );
    // Exported in file order by streaming; other orders need the index.
    const exported = await fetch(
      `${service.url}/v1/predictions/${old}/rows.csv?sort=row&tier=low`,
      authorised(token),
    );
    const exportedLines = (await exported.text()).trimEnd().split('\n');
    expect(exportedLines.length - 1).toBe(expected.filter((r) => r.tier === 'low').length);
    const unordered = await fetch(
      `${service.url}/v1/predictions/${old}/rows.csv?sort=probability_desc`,
      authorised(token),
    );
    expect(unordered.status).toBe(400);
    expect(((await unordered.json()) as { error: { code: string } }).error.code).toBe(
      'order_not_exportable',
    );
    const deep = await fetch(
      `${service.url}/v1/predictions/${old}/rows?limit=500&cursor=${Buffer.from('o:9900').toString('base64url')}`,
      authorised(token),
    );
    expect(deep.status).toBe(400);
  });

  it('deletes the index with its prediction', async () => {
    const { predictionId: doomed } = await submitCsv(service, token, telco);
    await waitForStatus(service.url, token, doomed, ['completed']);
    expect((await get('limit=1', doomed)).total).toBe(7043);
    const deleted = await fetch(
      `${service.url}/v1/predictions/${doomed}`,
      authorised(token, { method: 'DELETE' }),
    );
    expect(deleted.status).toBe(204);
    expect(await service.app.blobs.head(rowsIndexKey(USER, doomed))).toBeNull();
  });
});

const rowCharges = (() => {
  const records: string[][] = [];
  new CsvParser(',').push(telco.toString('utf8'), true, records);
  const column = (records[0] as string[]).indexOf('MonthlyCharges');
  return records.slice(1).map((record) => record[column] as string);
})();
