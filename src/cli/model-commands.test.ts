import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { telcoPath } from '../model/test-support/telco.js';
import { runCli } from './test-support/run-cli.js';

const dir = mkdtempSync(path.join(tmpdir(), 'churnline-model-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const telcoLines = readFileSync(telcoPath, 'utf8').split('\n');
const file = (name: string, text: string) => {
  const target = path.join(dir, name);
  writeFileSync(target, text);
  return target;
};
const small = file('small.csv', `${telcoLines.slice(0, 401).join('\n')}\n`);

describe('churnline score, train and evaluate', () => {
  it('scores a file to -o and prints the summary as JSON', async () => {
    const out = path.join(dir, 'scored.csv');
    const result = await runCli(['score', small, '-o', out, '--json']);
    expect(result.code).toBe(0);
    expect(result.stderr).toBe('');
    const summary = JSON.parse(result.stdout);
    expect(summary).toMatchObject({ rows: 400, scored: 400, failed: 0, delimiter: ',' });
    const lines = readFileSync(out, 'utf8').trimEnd().split('\n');
    expect(lines).toHaveLength(401);
    expect(lines[0]).toMatch(
      /,Churn,churn_probability,risk_tier,top_reasons,protective_factors,score_error,recommended_action$/,
    );
    expect(existsSync(`${out}.partial`)).toBe(false);
  });

  it('writes the scored CSV to stdout in a pipe, with no progress output', async () => {
    const result = await runCli(['score', small, '--workers', '1']);
    expect(result.code).toBe(0);
    expect(result.stderr).toBe('');
    expect(result.stdout.split('\n')[1]).toMatch(
      /^7590-VHVEG,.*,(high|medium|low),tenure is 1: strongly raises risk /,
    );
  });

  it('exits 2 with one clear line on bad input', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['score', path.join(dir, 'nope.csv')], /^churnline: no such file: .*nope\.csv$/],
      [
        ['score', file('cols.csv', 'customerID,tenure\nA,1\n'), '-o', path.join(dir, 'x.csv')],
        /^churnline: the file lacks 18 required columns: gender; SeniorCitizen;.* Found: "customerID", "tenure"\.$/,
      ],
      [
        ['score', small, '--model', file('bad.json', '{nope')],
        /^churnline: .*bad\.json is not a model file: it is not valid JSON\.$/,
      ],
      [
        ['score', small, '--model', 'telco-v9'],
        /^churnline: no model "telco-v9": give a shipped model \(telco-v1\)/,
      ],
      [['score', small, '--json'], /^churnline: --json prints the summary on stdout/],
      // As the API says them: a header with no rows, a workbook renamed .csv.
      [
        [
          'score',
          file('header-only.csv', `${readFileSync(small, 'utf8').split('\n')[0]}\n`),
          '-o',
          path.join(dir, 'h.csv'),
        ],
        /^churnline: The file has a header row but no customer rows below it\.$/,
      ],
      [
        [
          'score',
          file('book.csv', 'PK\u0003\u0004[Content_Types].xml'),
          '-o',
          path.join(dir, 'b.csv'),
        ],
        /^churnline: The file is a ZIP archive \(an \.xlsx workbook is one\), not CSV\. .*CSV UTF-8/,
      ],
      [
        ['train', small, '--label', 'Left'],
        /^churnline: the label column "Left" is not in the file\./,
      ],
      [
        ['train', small, '--label', 'Churn', '--as-of', '31/12/2026'],
        /^churnline: --as-of: .*YYYY-MM-DD/,
      ],
      [
        ['train', small, '--label', 'Churn', '--tiers', 'top:0.6,0.5'],
        /^churnline: --tiers "top:0\.6,0\.5": the high and medium shares must add up to less than 1/,
      ],
      [
        ['train', small, '--label', 'Churn', '--tiers', 'top10'],
        /^churnline: --tiers "top10": write top:<high share>,<medium share>/,
      ],
      [
        ['mapping', small, '--map', 'tenure'],
        /^churnline: --map "tenure": write it as <model input>=<your column>\.$/,
      ],
      [
        ['mapping', small, '--map', 'tenure=Months'],
        /^churnline: the column "Months" chosen for tenure is not in the file\./,
      ],
    ];
    // Independent processes: run them side by side to keep the test quick.
    const results = await Promise.all(cases.map(([args]) => runCli(args)));
    for (const [index, [args, message]] of cases.entries()) {
      const result = results[index]!;
      expect(result.code, args.join(' ')).toBe(2);
      expect(result.stderr.trimEnd().split('\n'), args.join(' ')).toHaveLength(1);
      expect(result.stderr.trimEnd()).toMatch(message);
    }
    expect(existsSync(path.join(dir, 'x.csv'))).toBe(false);
    expect(existsSync(path.join(dir, 'x.csv.partial'))).toBe(false);
  });

  it('checks a file against a model: which column feeds each input, and how its values read', async () => {
    const saas = fileURLToPath(new URL('../../data/saas-customers.csv', import.meta.url));
    const poor = await runCli(['mapping', saas]);
    expect(poor.code).toBe(0);
    expect(poor.stdout).toMatch(
      /^POOR: None of what this model relies on can be read from the file \(no column for gender, .*\)\. Map your columns to its inputs, or train a model on this file\.$/m,
    );
    expect(poor.stdout).toMatch(/MonthlyCharges +\d+\.\d% +— none \(closest: MRR \(\$\)\)/);

    const renamed = file('renamed.csv', readFileSync(small, 'utf8').replace('tenure', 'Months'));
    const chosen = await runCli(['mapping', renamed, '--map', 'tenure=Months', '--json']);
    expect(chosen.code).toBe(0);
    const report = JSON.parse(chosen.stdout);
    expect(report.verdict).toBe('good');
    expect(report.inputs.find((fit: { input: string }) => fit.input === 'tenure')).toMatchObject({
      column: 'Months',
      matchedBy: 'override',
      present: 400,
      parsed: 400,
    });
  });

  it('trains a model, prints its CV metrics, and evaluates it', async () => {
    const model = path.join(dir, 'small-model.json');
    const trained = await runCli(['train', small, '--label', 'Churn', '-o', model]);
    expect(trained.code).toBe(0);
    expect(trained.stdout).toMatch(/5-fold cross-validation repeated 3 times/);
    expect(trained.stdout).toMatch(/ROC AUC\s+0\.\d{4}/);
    expect(trained.stdout).toMatch(/high .* precision .* recall/);
    expect(JSON.parse(readFileSync(model, 'utf8')).name).toBe('small-model');

    const evaluated = await runCli([
      'evaluate',
      small,
      '--label',
      'Churn',
      '--model',
      model,
      '--json',
    ]);
    expect(evaluated.code).toBe(0);
    const metrics = JSON.parse(evaluated.stdout);
    expect(metrics.rows).toBe(400);
    expect(metrics.rocAuc).toBeGreaterThan(0.8);
    // Its own training file: the metrics are in-sample, and said to be.
    expect(metrics.onTrainingFile).toBe(true);
    const text = await runCli(['evaluate', small, '--label', 'Churn', '--model', model]);
    expect(text.stdout).toMatch(/on 400 rows of its own training file \(in-sample\):/);
    expect(text.stderr).toMatch(/trained on, so these metrics are in-sample/);

    // Another file (the same rows but one) is not.
    const lines = readFileSync(small, 'utf8').trimEnd().split('\n');
    const other = file('other.csv', `${lines.slice(0, -1).join('\n')}\n`);
    const elsewhere = await runCli(['evaluate', other, '--label', 'Churn', '--model', model]);
    expect(elsewhere.code).toBe(0);
    expect(elsewhere.stdout).toMatch(/on 399 rows:/);
    expect(elsewhere.stderr).toBe('');
  });
});
