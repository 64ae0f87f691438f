import { describe, expect, it } from 'vitest';
import { datasetFromText, readLabelledDataset } from './dataset.js';
import { parseDateDays } from './dates.js';

const asOfDays = Date.UTC(2026, 10, 30) / 86_400_000;

function csv(header: string, rows: string[]): string {
  return `${header}\n${rows.join('\n')}\n`;
}

/** `count` rows where `make(i)` gives each row's cells. */
function rows(count: number, make: (i: number) => string): string[] {
  return Array.from({ length: count }, (_, i) => make(i));
}

describe('reading a labelled file', () => {
  it('reads Yes/No, churn words and a given value as the label, skipping blank labels', async () => {
    const yesNo = await datasetFromText(
      csv(
        'plan,Churn',
        rows(80, (i) => `${i % 3 ? 'a' : 'b'},${i % 4 ? 'No' : i % 8 ? 'Yes' : ''}`),
      ),
      { labelColumn: 'churn', asOfDays },
    );
    expect(yesNo.unlabelledRows).toBe(10);
    expect(yesNo.labels.length).toBe(70);
    expect(yesNo.label).toMatchObject({ rule: 'yes/no', positives: 10, negatives: 60 });

    const words = await datasetFromText(
      csv(
        'plan,Status',
        rows(40, (i) => `${i % 3 ? 'a' : 'b'},${i % 2 ? 'Active' : ' churned '}`),
      ),
      { labelColumn: 'Status', asOfDays },
    );
    expect(words.label).toMatchObject({
      rule: 'churn word',
      positiveKeys: ['churned'],
      positives: 20,
    });
    expect(Array.from(words.labels.slice(0, 4))).toEqual([1, 0, 1, 0]);

    const given = await datasetFromText(
      csv(
        'plan,Stage',
        rows(60, (i) => `${i % 3 ? 'a' : 'b'},${['Won', 'Lost', 'Renewing'][i % 3]}`),
      ),
      { labelColumn: 'Stage', positiveValue: 'lost', asOfDays },
    );
    expect(given.label).toMatchObject({ rule: 'given', positives: 20, negatives: 40 });
  });

  it('refuses a label it cannot read, saying what to do', async () => {
    const three = csv(
      'plan,Stage',
      rows(60, (i) => `a${i % 2},${['Won', 'Lost', 'Renewing'][i % 3]}`),
    );
    await expect(datasetFromText(three, { labelColumn: 'Stage', asOfDays })).rejects.toThrow(
      /"won" \(20\), "lost" \(20\), "renewing" \(20\); say which one means churned/,
    );
    await expect(
      datasetFromText(three, { labelColumn: 'Stage', positiveValue: 'Gone', asOfDays }),
    ).rejects.toThrow(/never holds "Gone"/);
    const blank = csv(
      'plan,Churn',
      rows(30, (i) => `a${i % 2},`),
    );
    await expect(datasetFromText(blank, { labelColumn: 'Churn', asOfDays })).rejects.toThrow(
      /^the label column "Churn" is blank in every row; fill it in for the customers whose outcome you know\.$/,
    );
    // Labels in another script are found by their own name, not matched to every such header.
    const russian = csv(
      'Отток,Тариф',
      rows(40, (i) => `${i % 4 ? 'Нет' : 'Да'},${i % 3}`),
    );
    await expect(datasetFromText(russian, { labelColumn: 'Тариф', asOfDays })).rejects.toThrow(
      /the label column "Тариф" has the values "0" \(\d+\), "1"/,
    );
    const constant = csv(
      'plan,Churn',
      rows(30, (i) => `a${i % 2},No`),
    );
    await expect(datasetFromText(constant, { labelColumn: 'Churn', asOfDays })).rejects.toThrow(
      /always "no" \(30\): a model needs customers who churned and customers who stayed/,
    );
    const few = csv(
      'plan,Churn',
      rows(100, (i) => `a${i % 2},${i < 4 ? 'Yes' : 'No'}`),
    );
    await expect(datasetFromText(few, { labelColumn: 'Churn', asOfDays })).rejects.toThrow(
      /4 churned and 96 other customers; at least 10 of each/,
    );
    await expect(datasetFromText(few, { labelColumn: 'Cancelled', asOfDays })).rejects.toThrow(
      /the label column "Cancelled" is not in the file/,
    );
  });

  it('turns date and duration columns into days, and reports ambiguous dates instead of guessing', async () => {
    const text = csv(
      'Signup Date,Last Login,Tenure,Renewal,Churn',
      rows(40, (i) => {
        const month = (i % 12) + 1;
        return `${month}/${(i % 28) + 1}/2025,2026-11-${String((i % 29) + 1).padStart(2, '0')}T12:00:00Z,${i + 1} months,0${(i % 9) + 1}/0${(i % 9) + 1}/2026,${i % 3 ? 'No' : 'Yes'}`;
      }),
    );
    const dataset = await datasetFromText(text, { labelColumn: 'Churn', asOfDays });
    const signup = dataset.columns.find((column) => column.name === 'Signup Date');
    expect(signup).toMatchObject({ kind: 'numeric', source: { kind: 'date', order: 'mdy' } });
    expect(signup?.kind === 'numeric' && signup.values[13]).toBe(
      asOfDays - parseDateDays('2/14/2025', 'mdy'),
    );
    const login = dataset.columns.find((column) => column.name === 'Last Login');
    expect(login?.kind === 'numeric' && login.values[0]).toBeCloseTo(28.5, 9);
    const tenure = dataset.columns.find((column) => column.name === 'Tenure');
    expect(tenure).toMatchObject({ kind: 'numeric', source: { kind: 'duration' } });
    expect(tenure?.kind === 'numeric' && tenure.values[2]).toBeCloseTo(3 * 30.4375, 9);
    const renewal = dataset.skipped.find((entry) => entry.column === 'Renewal');
    expect(renewal?.reason).toMatch(/could be .* write the dates as YYYY-MM-DD to use them/);
    expect(dataset.readings.find((r) => r.column === 'Signup Date')?.evidence).toMatch(
      /month first/,
    );
  });

  it('counts values it could not read, with examples, and keeps the file order of skipped columns', async () => {
    const text = csv(
      'id,Seats,Notes,Plan,Churn',
      rows(
        100,
        (i) =>
          `${i},${i === 7 ? 'lots' : i === 9 ? 'n/a' : i},note ${i},${i % 2 ? 'A' : 'B'},${i % 4 ? 'No' : 'Yes'}`,
      ),
    );
    const dataset = await datasetFromText(text, { labelColumn: 'Churn', asOfDays });
    expect(dataset.readings.find((r) => r.column === 'Seats')).toEqual({
      column: 'Seats',
      present: 99,
      unparseable: 1,
      examples: ['lots'],
    });
    expect(dataset.skipped.map((entry) => entry.column)).toEqual(['id', 'Notes']);
  });

  it('streams a file larger than the plan sample twice, with the same fingerprint as its bytes', async () => {
    const header = 'Seats,Plan,Churn\n';
    const chunk = (start: number) =>
      rows(
        10_000,
        (i) =>
          `${(start + i) % 97},${(start + i) % 5 ? 'Pro' : 'Basic'},${(start + i) % 7 ? 'No' : 'Yes'}`,
      ).join('\n');
    const chunks = [header, ...Array.from({ length: 8 }, (_, c) => `${chunk(c * 10_000)}\n`)];
    let opened = 0;
    const dataset = await readLabelledDataset(
      () => {
        opened++;
        return chunks;
      },
      { labelColumn: 'Churn', asOfDays },
    );
    expect(opened).toBe(2);
    expect(dataset.labels.length).toBe(80_000);
    const { createHash } = await import('node:crypto');
    expect(dataset.fingerprint.sha256).toBe(
      createHash('sha256').update(chunks.join('')).digest('hex'),
    );
    const plan = dataset.columns.find((column) => column.name === 'Plan');
    expect(plan?.kind === 'categorical' && plan.levels.map((level) => level.label)).toEqual([
      'Basic',
      'Pro',
    ]);
  });
});
