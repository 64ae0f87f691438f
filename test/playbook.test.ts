/**
 * From scores to action: every scored customer gets the action the user's playbook gives for
 * their strongest reason it covers (else their tier's), in the results CSV and the rows API;
 * the playbook is the user's to edit, and a prediction keeps the one it was made with.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CsvParser } from '../src/model/csv-reader.js';
import { DEFAULT_PLAYBOOK } from '../src/model/playbook.js';
import {
  authorised,
  callJson,
  type RunningService,
  startService,
  submitCsv,
  waitForStatus,
} from './support/service.js';
import { telcoCsv } from './support/telco.js';

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

const call = (token: string, method: string, path: string, body?: unknown) =>
  callJson(service, token, method, path, body);

async function scored(token: string) {
  const { predictionId } = await submitCsv(service, token, telcoCsv);
  const done = await waitForStatus(service.url, token, predictionId, ['completed', 'failed']);
  expect(done.status).toBe('completed');
  const csv = await fetch(
    `${service.url}/v1/predictions/${predictionId}/results.csv`,
    authorised(token),
  );
  const records: string[][] = [];
  new CsvParser(',').push(await csv.text(), true, records);
  return { predictionId, header: records[0] as string[], rows: records.slice(1) };
}

describe('recommended actions', () => {
  let first: Awaited<ReturnType<typeof scored>>;

  it('come from the shipped playbook until the user has one: per reason, else per tier', async () => {
    expect((await call(alice, 'GET', '/v1/playbook')).body).toEqual({
      playbook: DEFAULT_PLAYBOOK,
      isDefault: true,
    });
    first = await scored(alice);
    const at = (name: string) => first.header.lastIndexOf(name);
    expect(first.header.at(-1)).toBe('recommended_action');
    const actions = new Set(first.rows.map((row) => row[at('recommended_action')]));
    // Telco's strongest reasons: month-to-month contracts, fiber, new customers...
    expect(actions).toContain('Offer an annual contract with a loyalty discount.');
    expect(actions).toContain('No action needed.');
    for (const row of first.rows) {
      const action = row[at('recommended_action')] as string;
      const reasons = row[at('top_reasons')] as string;
      if (action === 'Offer an annual contract with a loyalty discount.') {
        expect(reasons).toContain('Contract is Month-to-month');
      }
      // A tier action only where no reason has a rule of its own.
      if (action === DEFAULT_PLAYBOOK.tiers.high) expect(row[at('risk_tier')]).toBe('high');
    }
    const page = await call(alice, 'GET', `/v1/predictions/${first.predictionId}/rows?limit=5`);
    for (const row of page.body.rows) {
      expect(first.rows[row.row - 1]?.[at('recommended_action')]).toBe(row.recommendedAction);
    }
  });

  it("follow the user's own playbook, and a prediction keeps the one it was made with", async () => {
    const mine = {
      rules: [
        { column: 'internet', values: ['fiber OPTIC'], action: '=Call about fiber, "priority"' },
        { column: 'contract', action: 'Pitch a two-year plan' },
      ],
      tiers: { high: 'Escalate', medium: 'Nurture', low: 'Leave be' },
    };
    const saved = await call(alice, 'PUT', '/v1/playbook', mine);
    expect(saved.body).toEqual({ playbook: mine, isDefault: false });
    expect((await call(bob, 'GET', '/v1/playbook')).body.isDefault).toBe(true);

    const second = await scored(alice);
    const at = (name: string) => second.header.lastIndexOf(name);
    const actions = second.rows.map((row) => row[at('recommended_action')] as string);
    // A cell that starts like a formula is neutralised, as every cell is.
    const allowed = [
      '\'=Call about fiber, "priority"',
      'Pitch a two-year plan',
      'Escalate',
      'Nurture',
      'Leave be',
    ];
    for (const action of actions) expect(allowed).toContain(action);
    // Both rules fire, and the tiers cover customers whose reasons no rule covers.
    expect(actions).toContain('\'=Call about fiber, "priority"');
    expect(actions).toContain('Pitch a two-year plan');
    expect(actions).toContain('Leave be');
    second.rows.forEach((row, i) => {
      const reasons = row[at('top_reasons')] as string;
      if (actions[i]?.includes('fiber'))
        expect(reasons).toContain('InternetService is Fiber optic');
    });
    // The first prediction still shows what the shipped playbook said.
    const old = await call(alice, 'GET', `/v1/predictions/${first.predictionId}/rows?limit=50`);
    expect(old.body.rows.map((r: { recommendedAction: string }) => r.recommendedAction)).toEqual(
      old.body.rows.map(
        (r: { row: number }) =>
          first.rows[r.row - 1]?.[first.header.lastIndexOf('recommended_action')],
      ),
    );

    const reset = await call(alice, 'DELETE', '/v1/playbook');
    expect(reset.body).toEqual({ playbook: DEFAULT_PLAYBOOK, isDefault: true });
  });

  it('refuses a playbook that cannot be used, saying what is wrong, and keeps the stored one', async () => {
    const mine = { rules: [], tiers: { high: 'A', medium: 'B', low: 'C' } };
    await call(alice, 'PUT', '/v1/playbook', mine);
    for (const bad of [
      { rules: [], tiers: { high: 'A', medium: 'B' } },
      { rules: [{ column: '', action: 'x' }], tiers: mine.tiers },
      { rules: [{ column: 'contract', action: 'x'.repeat(201) }], tiers: mine.tiers },
      { rules: [{ column: 'contract', action: 'line\nbreak' }], tiers: mine.tiers },
      {
        rules: Array.from({ length: 51 }, () => ({ column: 'contract', action: 'x' })),
        tiers: mine.tiers,
      },
    ]) {
      const refused = await call(alice, 'PUT', '/v1/playbook', bad);
      expect(refused.status, JSON.stringify(bad).slice(0, 80)).toBe(400);
      expect(refused.body.error.code).toBe('invalid_request');
      expect(refused.body.error.message.length).toBeGreaterThan(10);
    }
    expect((await call(alice, 'GET', '/v1/playbook')).body.playbook).toEqual(mine);
  });
});
