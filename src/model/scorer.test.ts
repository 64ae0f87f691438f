import { describe, expect, it } from 'vitest';
import { ByteOutput } from './byte-output.js';
import { csvCell } from './csv-writer.js';
import { parseAsOf } from './dates.js';
import { buildDesign, toModelColumns } from './design.js';
import { fitPacked, predictPacked } from './logistic.js';
import { loadModel, type ModelColumn, type ModelFile } from './model-file.js';
import { blankIsSignal } from './reasons.js';
import { RecordScorer, RowError } from './scorer.js';
import { synonymsFor } from './synonyms.js';
import { modelFileOf } from './test-support/model.js';
import { telcoRecords, telcoSubset } from './test-support/telco.js';

/** A model fitted directly on a packed design, to check the scorer against plain X·w. */
async function directModel(rows: number) {
  const dataset = await telcoSubset(rows);
  const all = Int32Array.from({ length: rows }, (_, i) => i);
  const fitted = buildDesign(dataset, new Map([['tenure', ['linear', 'log1p'] as const]]), all);
  const beta = fitPacked(fitted.design, dataset.labels, { l2: 1 });
  const { intercept, columns } = toModelColumns(fitted, beta);
  const model = modelFileOf({ name: 'direct', label: 'Churn', intercept, columns, rows });
  return { model, logits: predictPacked(fitted.design, beta, all) };
}

/**
 * A small hand-made SaaS model whose contributions are easy to work out: Last Login adds
 * (days − 10) / 10; Support Tickets 0.3 per ticket over 2, and `ticketsBlank` for a blank; Plan
 * basic +0.5, pro −0.5 and `planBlank` for a blank; Champion Left yes +0.8, no −0.2; Seats −0.05
 * per seat over 10.
 */
function saasModel(ticketsBlank: number, planBlank: number): ModelFile {
  const columns: ModelColumn[] = [
    {
      kind: 'numeric',
      name: 'Last Login',
      synonyms: synonymsFor('Last Login'),
      source: { kind: 'date', order: 'ymd' },
      terms: [{ transform: 'linear', mean: 10, scale: 10, weight: 1 }],
    },
    {
      kind: 'numeric',
      name: 'Support Tickets (90d)',
      synonyms: synonymsFor('Support Tickets (90d)'),
      terms: [{ transform: 'linear', mean: 2, scale: 1, weight: 0.3 }],
      missing: { mean: 0, weight: ticketsBlank },
    },
    {
      kind: 'categorical',
      name: 'Plan',
      synonyms: synonymsFor('Plan'),
      levels: [
        { key: '', label: '(blank)', frequency: 0, weight: planBlank },
        { key: 'basic', label: 'Basic', frequency: 0.5, weight: 0.5 },
        { key: 'pro', label: 'Pro', frequency: 0.5, weight: -0.5 },
      ],
    },
    {
      kind: 'boolean',
      name: 'Champion Left',
      synonyms: synonymsFor('Champion Left'),
      trueLabel: 'Yes',
      falseLabel: 'No',
      mean: 0.2,
      weight: 1,
    },
    {
      kind: 'numeric',
      name: 'Seats',
      synonyms: synonymsFor('Seats'),
      terms: [{ transform: 'linear', mean: 10, scale: 10, weight: -0.5 }],
    },
  ];
  return modelFileOf({ name: 'saas', label: 'Churned?', intercept: 0, columns, rows: 1000 });
}

const SAAS_HEADERS = [
  'Account ID',
  'Last Login',
  'Support Tickets (90d)',
  'Plan',
  'Champion Left',
  'Seats',
];

function saasScorer(ticketsBlank = 0.3, planBlank = 0.2) {
  return new RecordScorer(saasModel(ticketsBlank, planBlank), SAAS_HEADERS, {
    asOfDays: parseAsOf('2024-02-06'),
  });
}

describe('reasons people can read', () => {
  it('says which inputs raise the risk and which protect, with strength in words', () => {
    const row = saasScorer().describe(['A1', '2024-01-01', '5', 'Basic', 'Yes', '30']);
    // Contributions: Last Login +2.60, Tickets +0.90, Plan +0.50, Champion +0.80, Seats −1.00.
    expect(row.reasons).toBe(
      'Last Login 36 days ago: strongly raises risk (+2.60); ' +
        'Support Tickets (90d) is 5: strongly raises risk (+0.90); ' +
        'Champion Left is Yes: strongly raises risk (+0.80)',
    );
    expect(row.protective).toBe('Seats is 30: strongly lowers risk (-1.00)');
  });

  it('reads dates as how long ago, or how far ahead', () => {
    const scorer = saasScorer();
    expect(scorer.describe(['A', '2024-02-06', '2', 'Pro', 'No', '10']).protective).toBe(
      'Last Login today: strongly lowers risk (-1.00); Plan is Pro: lowers risk (-0.50)',
    );
    expect(scorer.describe(['A', '2023-11-08', '2', 'Pro', 'No', '10']).reasons).toBe(
      'Last Login 3 months ago: strongly raises risk (+8.00)',
    );
    expect(scorer.describe(['A', '2024-02-26', '2', 'Basic', 'No', '10']).protective).toMatch(
      /^Last Login in 20 days: strongly lowers risk \(-3\.00\)/,
    );
  });

  it('never gives a blank as a reason when the model did not learn blanks as a signal', () => {
    // A blank Tickets count adds +0.30 and a blank Plan +0.20 (weights under 0.5): not reasons.
    const scorer = saasScorer(0.3, 0.2);
    const blank = ['A', '2024-02-06', '', '', 'No', '10'];
    const row = scorer.describe(blank);
    expect(row.contributions[1]).toBeCloseTo(0.3, 12);
    expect(row.contributions[2]).toBeCloseTo(0.2, 12);
    expect(row.reasons).toBe('');
    expect(row.protective).toBe(
      'Last Login today: strongly lowers risk (-1.00); Champion Left is No: slightly lowers risk (-0.20)',
    );
    // Nor lowering: a blank worth −0.30 is no protective factor either.
    expect(saasScorer(-0.3, 0.2).describe(blank).protective).not.toContain('Tickets');
    // The same blank again (categorical values are cached), then a recorded value.
    expect(scorer.describe(blank).reasons).toBe('');
    expect(scorer.describe(['A', '2024-02-06', '2', 'Basic', 'No', '10']).reasons).toBe(
      'Plan is Basic: raises risk (+0.50)',
    );
    expect(scorer.describe(blank).reasons).toBe('');
  });

  it('says "not recorded" when the model learned missingness itself as a signal', () => {
    const blank = ['A', '2024-02-06', '', '', 'No', '10'];
    const raising = saasScorer(0.8, 1).describe(blank);
    expect(raising.reasons).toBe(
      'Plan not recorded: strongly raises risk (+1.00); ' +
        'Support Tickets (90d) not recorded: strongly raises risk (+0.80)',
    );
    const lowering = saasScorer(-0.6, 0).describe(blank);
    expect(lowering.reasons).toBe('');
    expect(lowering.protective).toBe(
      'Last Login today: strongly lowers risk (-1.00); Support Tickets (90d) not recorded: lowers risk (-0.60)',
    );
  });

  it('writes reasons as output cells: quoted and neutralised only when they need it', () => {
    const model = saasModel(0.3, 0.2);
    const plan = model.columns[2] as Extract<ModelColumn, { kind: 'categorical' }>;
    const hostile: ModelFile = {
      ...model,
      columns: model.columns.map((column, i) =>
        i === 2
          ? {
              ...plan,
              name: '=Plan',
              levels: plan.levels.map((level) =>
                level.key === 'basic' ? { ...level, label: 'Basic "annual", EU' } : level,
              ),
            }
          : column,
      ),
    };
    const headers = SAAS_HEADERS.map((h) => (h === 'Plan' ? '=Plan' : h));
    for (const [scoring, cells] of [
      [model, SAAS_HEADERS],
      [hostile, headers],
    ] as const) {
      const scorer = new RecordScorer(scoring, cells, { asOfDays: parseAsOf('2024-02-06') });
      for (const record of [
        ['A', '2024-02-06', '2', 'Basic', 'No', '10'],
        ['A', '2024-01-01', '5', 'basic', 'Yes', '30'],
        ['A', '2024-01-01', '5', 'Basic', 'Yes', '30'],
      ]) {
        const why = scorer.explain(scorer.score(record));
        const text = scorer.reasons(record, why.contributions, why.raising, why.raisingCount);
        const cell = scorer.reasonsCell(record, why.contributions, why.raising, why.raisingCount);
        expect(cell).toBe(csvCell(text));
      }
    }
    const scorer = new RecordScorer(hostile, headers, { asOfDays: parseAsOf('2024-02-06') });
    const record = ['A', '2024-02-06', '2', 'Basic', 'No', '10'];
    const why = scorer.explain(scorer.score(record));
    expect(scorer.reasonsCell(record, why.contributions, why.raising, why.raisingCount)).toBe(
      `"'=Plan is Basic ""annual"", EU: raises risk (+0.50)"`,
    );
  });

  it('writes the same reasons cells as bytes as it does as text', () => {
    const model = saasModel(0.3, 0.2);
    const hostile: ModelFile = {
      ...model,
      columns: model.columns.map((column) =>
        column.name === 'Seats' ? { ...column, name: '=Seats, "all"' } : column,
      ),
    };
    const records = [
      ['A', '2024-01-01', '5', 'Basic', 'Yes', '30'],
      ['A', '2024-01-01', ' 5 ', 'Basic', 'No', ' 30 '],
      ['A', '2024-02-06', '9', 'Pro', 'No', '1,000'],
      ['A', '2024-02-06', '€ 7', 'Basic', 'No', '25 €'],
      ['A', '2023-02-06', '', '', 'Yes', ''],
    ];
    const cells: string[] = [];
    for (const scoring of [model, hostile]) {
      const scorer = new RecordScorer(scoring, SAAS_HEADERS, {
        asOfDays: parseAsOf('2024-02-06'),
        overrides: { '=Seats, "all"': 'Seats' },
      });
      const out = new ByteOutput();
      for (const record of records) {
        const why = scorer.explain(scorer.score(record));
        for (const [picked, count] of [
          [why.raising, why.raisingCount],
          [why.protective, why.protectiveCount],
        ] as const) {
          const cell = scorer.reasonsCell(record, why.contributions, picked, count);
          scorer.writeReasonsCell(out, record, why.contributions, picked, count);
          expect(new TextDecoder().decode(out.take())).toBe(cell);
          cells.push(cell);
        }
      }
    }
    // Plain numbers (put together from cached bytes), and ones that make the cell need quotes.
    const any = (part: string) => cells.some((cell) => cell.includes(part));
    expect(any('Seats is 30: strongly lowers risk (-1.00)')).toBe(true);
    expect(any('Seats is 25 €: strongly lowers risk (-0.75)')).toBe(true);
    expect(any('"Seats is 1,000: strongly lowers risk')).toBe(true);
    expect(any(`"'=Seats, ""all"" is 30: strongly lowers risk`)).toBe(true);
  });

  it('counts a raising reason for the summary by kind: a number by its column', () => {
    const scorer = saasScorer(0.7, 1);
    const record = ['A', '2024-01-01', '', 'Basic', 'Yes', '30'];
    const why = scorer.explain(scorer.score(record));
    const kinds = [...why.raising.subarray(0, why.raisingCount)].map((i) =>
      scorer.reasonKind(record, i),
    );
    expect(kinds).toEqual([
      'Last Login raises risk',
      'Champion Left is Yes',
      'Support Tickets (90d) not recorded',
    ]);
  });
});

describe('scoring a record', () => {
  it('gives the same logit as the design matrix, and contributions sum to it exactly', async () => {
    const { model, logits } = await directModel(800);
    const { headers, rows } = telcoRecords();
    const scorer = new RecordScorer(model, headers);
    for (let r = 0; r < 800; r++) {
      const scored = scorer.score(rows[r] as string[]);
      expect(scored.logit).toBeCloseTo(logits[r] as number, 10);
      const sum = scored.contributions.reduce((total, c) => total + c, model.intercept);
      expect(Math.abs(sum - scored.logit)).toBeLessThan(1e-12);
    }
  });

  it('explains a score with the inputs that raise it most, and protective factors apart', async () => {
    const model = await loadModel('telco-v1');
    const { headers, rows } = telcoRecords();
    const scorer = new RecordScorer(model, headers);
    const record = rows[0] as string[];
    const scored = scorer.score(record);
    const why = scorer.explain(scored);
    const raising = [...why.raising.subarray(0, why.raisingCount)];
    const protective = [...why.protective.subarray(0, why.protectiveCount)];
    const sizes = raising.map((i) => scored.contributions[i] as number);
    expect(sizes).toHaveLength(3);
    expect(sizes).toEqual([...sizes].sort((a, b) => b - a));
    for (const size of sizes) expect(size).toBeGreaterThan(0);
    scored.contributions.forEach((c, i) => {
      if (!raising.includes(i)) expect(c).toBeLessThanOrEqual(sizes[2] as number);
    });
    expect(protective.map((i) => Math.sign(scored.contributions[i] as number))).toEqual([-1, -1]);
    const text = scorer.describe(record);
    expect(text.reasons).toMatch(
      /^tenure is 1: strongly raises risk \(\+\d\.\d\d\); .*Contract is Month-to-month: (\w+ )?raises risk/,
    );
    expect(text.protective).toMatch(/^InternetService is DSL: (\w+ )?lowers risk \(-\d\.\d\d\)/);
  });

  it('gives every customer only raising reasons and only lowering protective factors', async () => {
    const model = await loadModel('telco-v1');
    const { headers, rows } = telcoRecords();
    const scorer = new RecordScorer(model, headers);
    let veryHigh = 0;
    for (const record of rows) {
      const scored = scorer.score(record);
      const why = scorer.explain(scored);
      for (let k = 0; k < why.raisingCount; k++) {
        expect(why.contributions[why.raising[k] as number]).toBeGreaterThan(0);
      }
      for (let k = 0; k < why.protectiveCount; k++) {
        expect(why.contributions[why.protective[k] as number]).toBeLessThan(0);
      }
      if (scored.probability < 0.9) continue;
      // A 90%+ customer: every top reason says it raises risk, and names no protective input.
      veryHigh++;
      const { reasons, protective } = scorer.describe(record);
      const parts = reasons.split('; ');
      expect(parts.length).toBeGreaterThan(0);
      for (const part of parts)
        expect(part).toMatch(/: (slightly |strongly )?raises risk \(\+\d\.\d\d\)$/);
      for (const part of protective.split('; ')) expect(reasons).not.toContain(part);
    }
    expect(veryHigh).toBeGreaterThan(0);
  });

  it('explains the riskiest Telco customer (93%) with three inputs that raise the risk', async () => {
    const model = await loadModel('telco-v1');
    const { headers, rows } = telcoRecords();
    const scorer = new RecordScorer(model, headers);
    let riskiest = rows[0] as string[];
    let highest = 0;
    for (const record of rows) {
      const { probability } = scorer.score(record);
      if (probability > highest) [riskiest, highest] = [record, probability];
    }
    const described = scorer.describe(riskiest);
    expect(described.probability).toBeGreaterThan(0.9);
    const reasons = described.reasons.split('; ');
    expect(reasons).toHaveLength(3);
    for (const reason of reasons) expect(reason).toMatch(/: (\w+ )?raises risk \(\+\d\.\d\d\)$/);
    expect(described.reasons).toMatch(/^tenure is \d+: strongly raises risk/);
    // Whatever lowers its risk (in telco-v1, its high monthly charge) is listed apart.
    for (const factor of described.protective.split('; ')) {
      expect(factor).toMatch(/: (\w+ )?lowers risk \(-\d\.\d\d\)$/);
    }
  });

  it('reads dirty values and scores unknown categories as neutral', async () => {
    const model = await loadModel('telco-v1');
    const { headers, rows } = telcoRecords();
    const scorer = new RecordScorer(model, headers);
    const clean = [...(rows[1] as string[])];
    const dirty = [...clean];
    const at = (name: string) => headers.indexOf(name);
    dirty[at('MonthlyCharges')] = ` $${clean[at('MonthlyCharges')]} `;
    dirty[at('Contract')] = '  one   YEAR ';
    dirty[at('Partner')] = 'FALSE';
    expect(scorer.score(dirty).logit).toBe(scorer.score(clean).logit);

    const unknown = [...clean];
    unknown[at('PaymentMethod')] = 'Crypto';
    const payment = model.columns.findIndex((column) => column.name === 'PaymentMethod');
    expect(scorer.score(unknown).contributions[payment]).toBe(0);
    expect(scorer.unknownCategories.get('PaymentMethod')).toBe(1);
  });

  it('uses the missing indicator for a blank number and refuses text in a number', async () => {
    const model = await loadModel('telco-v1');
    const { headers, rows } = telcoRecords();
    const scorer = new RecordScorer(model, headers);
    const record = [...(rows[2] as string[])];
    record[headers.indexOf('TotalCharges')] = ' ';
    const total = model.columns.find((column) => column.name === 'TotalCharges');
    expect(total?.kind === 'numeric' && total.missing).toBeTruthy();
    expect(Number.isFinite(scorer.score(record).probability)).toBe(true);
    // telco-v1 learned a blank TotalCharges (new customers, who stayed) as a strong signal.
    expect(blankIsSignal(total as ModelColumn)).toBe(true);
    expect(scorer.describe(record).protective).toMatch(
      /^TotalCharges not recorded: strongly lowers risk \(-\d\.\d\d\)/,
    );
    record[headers.indexOf('tenure')] = 'twelve';
    expect(() => scorer.score(record)).toThrow(RowError);
    expect(() => scorer.score(record)).toThrow('tenure is "twelve", not a number');
  });
});
