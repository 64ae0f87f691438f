/**
 * Bringing a team's own export to the service: the column fit report, the user's column choices,
 * the refusal before queueing of a file a model cannot mean much for, and the example file.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  authorised,
  postPrediction,
  type RunningService,
  startService,
  uploadCsv,
  waitForStatus,
} from './support/service.js';
import { saasText as saas, telcoText } from './support/telco.js';

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

async function uploaded(token: string, csv: string): Promise<string> {
  return (await uploadCsv(service, token, csv)).id;
}

interface MappingView {
  overrides: Record<string, string>;
  verdict: string;
  coverage: number;
  message: string;
  inputs: Array<{
    input: string;
    column: string | null;
    matchedBy: string | null;
    closest: string[];
    present: number;
    parsed: number;
  }>;
  unusedColumns: string[];
}

async function mapping(token: string, uploadId: string, init: RequestInit = {}) {
  const response = await fetch(
    `${service.url}/v1/uploads/${uploadId}/mapping?modelId=telco-v1`,
    authorised(token, init),
  );
  return {
    status: response.status,
    body: (await response.json()) as MappingView & { error: { code: string; message: string } },
  };
}

const put = (overrides: Record<string, string>): RequestInit => ({
  method: 'PUT',
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify(overrides),
});

async function predictions(token: string): Promise<unknown[]> {
  const response = await fetch(`${service.url}/v1/predictions`, authorised(token));
  return ((await response.json()) as { predictions: unknown[] }).predictions;
}

async function create(token: string, body: Record<string, unknown>): Promise<Response> {
  return fetch(
    `${service.url}/v1/predictions`,
    authorised(token, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    }),
  );
}

describe('a SaaS export against the shipped Telco model', () => {
  it('reports near misses and refuses to score it before queueing, even when asked to anyway', async () => {
    const uploadId = await uploaded(alice, saas);
    const report = await mapping(alice, uploadId);
    expect(report.status).toBe(200);
    expect(report.body).toMatchObject({ verdict: 'poor', coverage: 0 });
    expect(report.body.inputs.find((fit) => fit.input === 'MonthlyCharges')).toMatchObject({
      column: null,
      closest: ['MRR ($)'],
    });
    expect(report.body.unusedColumns).toContain('Last Login');

    const before = await predictions(alice);
    for (const allowPartialFit of [false, true]) {
      const refused = await create(alice, { uploadId, allowPartialFit });
      expect(refused.status).toBe(422);
      const { error } = (await refused.json()) as { error: { code: string; message: string } };
      expect(error.code).toBe('no_fit');
      expect(error.message).toMatch(
        /^None of the inputs of model "telco-v1" could be read from this file, so there is nothing to score with\. Map your columns .* or train a model on this file\.$/,
      );
    }
    expect(await predictions(alice)).toEqual(before);
  });
});

describe("the user's column choices", () => {
  // The Telco export with tenure under another name and no gender column.
  const [header = '', ...rows] = telcoText.trimEnd().split('\n');
  const renamed = [
    header.replace('tenure', 'Months with us').replace('gender,', ''),
    ...rows.map((row) => row.replace(/^([^,]*),(Male|Female),/, '$1,')),
  ].join('\n');

  it('are checked against the model and the file, refused whole with a 422, and change nothing stored', async () => {
    const uploadId = await uploaded(alice, `${renamed}\n`);
    const cases: Array<[Record<string, string>, string, RegExp]> = [
      [
        { tenure: 'Months' },
        'unknown_column',
        /^Your file has no column "Months" \(chosen for tenure\)\. Its columns: "customerID", "SeniorCitizen"/,
      ],
      [
        { Tenure: 'Months with us' },
        'unknown_input',
        /^Model "telco-v1" has no input "Tenure"\. Its inputs: gender, SeniorCitizen/,
      ],
      [
        { tenure: 'Months with us', TotalCharges: 'Months with us' },
        'column_used_twice',
        /^The column "Months with us" is chosen for both tenure and TotalCharges/,
      ],
    ];
    for (const [overrides, code, message] of cases) {
      const refused = await mapping(alice, uploadId, put(overrides));
      expect(refused.status, code).toBe(422);
      expect(refused.body.error.code).toBe(code);
      expect(refused.body.error.message).toMatch(message);
    }
    expect((await mapping(alice, uploadId)).body.overrides).toEqual({});
    expect((await mapping(bob, uploadId, put({ tenure: 'Months with us' }))).status).toBe(404);
    expect((await mapping(bob, uploadId)).status).toBe(404);
  });

  it('turn a poor fit usable, and scoring follows them', async () => {
    const uploadId = await uploaded(alice, `${renamed}\n`);
    const first = await mapping(alice, uploadId);
    expect(first.body.verdict).toBe('poor');
    expect(first.body.inputs.find((fit) => fit.input === 'tenure')?.column).toBeNull();
    const before = await predictions(alice);
    const refused = await postPrediction(service.url, alice, uploadId);
    expect(refused.status).toBe(422);
    const { error } = (await refused.json()) as { error: { code: string; message: string } };
    expect(error.code).toBe('poor_fit');
    expect(error.message).toMatch(
      /^This file carries only \d+% of what model "telco-v1" relies on \(no column for gender, tenure\), too little for its scores to mean much\. Three ways out: map your columns to the missing inputs \(GET and PUT \/v1\/uploads\/[-0-9a-f]+\/mapping\?modelId=telco-v1\), train a model on this file, or score anyway with "allowPartialFit": true/,
    );
    expect(await predictions(alice)).toEqual(before);

    // Knowingly scored anyway: the missing inputs are named in the summary.
    const forced = await create(alice, { uploadId, allowPartialFit: true });
    expect(forced.status).toBe(202);
    const partial = await waitForStatus(
      service.url,
      alice,
      ((await forced.json()) as { id: string }).id,
      ['completed', 'failed'],
    );
    expect(partial).toMatchObject({ status: 'completed', rowsScored: 7043 });
    expect((partial.summary as { missingInputs: string[] }).missingInputs).toEqual([
      'gender',
      'tenure',
    ]);

    const chosen = await mapping(alice, uploadId, put({ tenure: ' Months with us ' }));
    expect(chosen.status).toBe(200);
    expect(chosen.body.overrides).toEqual({ tenure: 'Months with us' });
    expect(chosen.body.verdict).toBe('usable');
    expect(chosen.body.inputs.find((fit) => fit.input === 'tenure')).toMatchObject({
      column: 'Months with us',
      matchedBy: 'override',
      present: 5000,
      parsed: 5000,
    });
    expect(chosen.body.message).toMatch(/no column for gender/);
    expect((await mapping(alice, uploadId)).body.overrides).toEqual({ tenure: 'Months with us' });

    const created = await postPrediction(service.url, alice, uploadId);
    expect(created.status).toBe(202);
    const done = await waitForStatus(
      service.url,
      alice,
      ((await created.json()) as { id: string }).id,
      ['completed', 'failed'],
    );
    expect(done).toMatchObject({ status: 'completed', rowsScored: 7043, rowsFailed: 0 });
    expect((done.summary as { missingInputs: string[] }).missingInputs).toEqual(['gender']);

    const cleared = await mapping(alice, uploadId, put({}));
    expect(cleared.body.overrides).toEqual({});
    expect(cleared.body.verdict).toBe('poor');
  });
});

describe('the example file of a model', () => {
  it('has the columns the model reads, and fits it', async () => {
    const response = await fetch(
      `${service.url}/v1/models/telco-v1/template.csv`,
      authorised(alice),
    );
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    expect(response.headers.get('content-disposition')).toBe(
      `attachment; filename="telco-v1-template.csv"; filename*=UTF-8''telco-v1-template.csv`,
    );
    const text = await response.text();
    const lines = text.trimEnd().split('\n');
    expect(lines).toHaveLength(4);
    expect(lines[0]?.split(',')).toContain('MonthlyCharges');
    const uploadId = await uploaded(alice, text);
    expect((await mapping(alice, uploadId)).body.verdict).toBe('good');

    const unknown = await fetch(
      `${service.url}/v1/models/telco-v9/template.csv`,
      authorised(alice),
    );
    expect(unknown.status).toBe(422);
    expect(((await unknown.json()) as { error: { message: string } }).error.message).toBe(
      'There is no model "telco-v9". Available: telco-v1.',
    );
  });
});

describe('the columns of an upload', () => {
  interface ColumnsView {
    rowsRead: number;
    complete: boolean;
    columns: Array<{
      name: string;
      present: number;
      distinct: number;
      values: Array<{ value: string; rows: number }>;
      asLabel: { usable: boolean; churnedValue: string | null; problem: string | null };
    }>;
  }
  const columnsOf = async (token: string, uploadId: string) => {
    const response = await fetch(
      `${service.url}/v1/uploads/${uploadId}/columns`,
      authorised(token),
    );
    return { status: response.status, body: (await response.json()) as ColumnsView };
  };

  it('lists each column’s values and says how it would read as the churn label', async () => {
    const csv = [
      'Account,Status,Plan,Seats,Churned?',
      ...Array.from({ length: 40 }, (_, i) =>
        [
          `A-${i}`,
          i % 4 === 0 ? 'Cancelled' : i % 8 === 1 ? ' cancelled ' : 'Active',
          ['Basic', 'Pro', 'Team'][i % 3],
          String(i + 1),
          i % 3 === 0 ? '' : i % 2 === 0 ? 'Yes' : 'No',
        ].join(','),
      ),
    ].join('\n');
    const uploadId = await uploaded(alice, csv);
    const { status, body } = await columnsOf(alice, uploadId);
    expect(status).toBe(200);
    expect(body).toMatchObject({ rowsRead: 40, complete: true });
    const byName = new Map(body.columns.map((column) => [column.name, column]));
    expect(body.columns.map((column) => column.name)).toEqual([
      'Account',
      'Status',
      'Plan',
      'Seats',
      'Churned?',
    ]);
    // Values compare as training reads them, shown in their commonest spelling.
    expect(byName.get('Status')).toMatchObject({
      present: 40,
      distinct: 2,
      values: [
        { value: 'Active', rows: 25 },
        { value: 'Cancelled', rows: 15 },
      ],
      asLabel: { usable: true, churnedValue: 'Cancelled', problem: null },
    });
    expect(byName.get('Churned?')).toMatchObject({
      present: 26,
      asLabel: { usable: true, churnedValue: 'Yes' },
    });
    expect(byName.get('Plan')?.asLabel).toMatchObject({ usable: false, churnedValue: null });
    expect(byName.get('Plan')?.asLabel.problem).toMatch(
      /^Say which of its values means churned: it is not a yes\/no/,
    );
    // Too many values to list: none are, and the count stops past the list's size.
    expect(byName.get('Account')).toMatchObject({ distinct: 13, values: [] });

    expect((await columnsOf(bob, uploadId)).status).toBe(404);
  });
});
