/**
 * npm run bench:model — model quality on synthetic product-usage SaaS data whose true churn
 * probability is known (bench/saas/generate.ts: dates, a 14-day login threshold, saturations and a
 * champion-left × seats interaction). A training file and a separate test file are generated from
 * different seeds with the same as-of day; every model trains on the training file and is measured
 * on the test file, against the best achievable (the true probabilities):
 *
 * - ours: the built `churnline train` (timed: the whole process, which also runs its 5-fold ×
 *   3-repeat cross-validation), then `churnline evaluate` on the test file;
 * - scikit-learn's HistGradientBoostingClassifier on hand-made features (days since signup and
 *   since last login, parsed money, categoricals), lightly tuned (bench/model/peer.py);
 * - for reference, a plain scikit-learn LogisticRegression on the same hand-made features;
 * - the Bayes row: the true probabilities of the test rows as predictions.
 *
 * Prints a table (test ROC AUC, Brier, log loss, train wall s; medians of the repeats) and the
 * ROC AUC difference ours − HistGradientBoosting. The AUCs are deterministic given the seeds; only
 * the times vary between repeats.
 *
 * Options: --rows <n> per file (default 20000), --repeats <n> (default 1), --timeout <s> per run
 * (default 900), --train-seed <n> (default 1), --test-seed <n> (default 2).
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { DEFAULT_AS_OF, writeSaasExport } from '../saas/generate.js';
import {
  buildDist,
  ensurePython,
  log,
  type Measured,
  measure,
  median,
  numberFlag,
  python,
  root,
} from '../support.js';

const work = `${root}bench/.work/model/`;
const rows = numberFlag('rows', 20_000);
const repeats = numberFlag('repeats', 1);
const timeoutSeconds = numberFlag('timeout', 900);
const trainSeed = numberFlag('train-seed', 1);
const testSeed = numberFlag('test-seed', 2);
const asOf = DEFAULT_AS_OF;
const LABEL = 'Churned?';

/** numpy's OpenBLAS is slower here with these set; they are removed for the peer's process only. */
const PEER_UNSET = ['OPENBLAS_CORETYPE', 'OPENBLAS_L2_SIZE'] as const;

interface Metrics {
  rocAuc: number;
  brier: number;
  logLoss: number;
}

interface Run {
  metrics: Metrics;
  /** Training wall time in seconds, as reported in the table. */
  trainSeconds: number;
  note?: string;
}

interface Row {
  name: string;
  runs: Run[];
  failure?: string;
  /** What the train-time column measures for this row. */
  timing: string;
  notes: string[];
}

interface Split {
  train: string;
  test: string;
  testTruth: string;
}

/** The training and test exports (with truth files), generated once per rows/seeds/generator. */
async function ensureSplit(): Promise<Split> {
  mkdirSync(work, { recursive: true });
  const generator = readFileSync(`${root}bench/saas/generate.ts`, 'utf8');
  const files = (name: string, seed: number) => {
    const base = `${work}${name}-${rows}-seed${seed}`;
    return { csv: `${base}.csv`, truth: `${base}-truth.csv`, stamp: `${base}.json`, seed };
  };
  const train = files('train', trainSeed);
  const test = files('test', testSeed);
  for (const file of [train, test]) {
    const expected = JSON.stringify({ rows, seed: file.seed, asOf, generator: generator.length });
    const fresh =
      existsSync(file.csv) &&
      existsSync(file.truth) &&
      existsSync(file.stamp) &&
      readFileSync(file.stamp, 'utf8') === expected;
    if (fresh) continue;
    log(`generating ${rows.toLocaleString('en-US')} rows (seed ${file.seed}) → ${file.csv}`);
    await writeSaasExport({ rows, seed: file.seed, asOf, out: file.csv, truth: file.truth });
    writeFileSync(file.stamp, expected);
  }
  return { train: train.csv, test: test.csv, testTruth: test.truth };
}

function parseLastJson<T>(stdout: string): T {
  const trimmed = stdout.trim();
  // The CLI prints pretty JSON (one document); the peer prints one JSON line.
  try {
    return JSON.parse(trimmed) as T;
  } catch {
    return JSON.parse(trimmed.split('\n').at(-1) ?? '') as T;
  }
}

function checked<T>(measured: Measured, what: string): T {
  if (!measured.ok) throw new Error(`${what} ${measured.failure}`);
  try {
    return parseLastJson<T>(measured.stdout);
  } catch (error) {
    throw new Error(`${what} exit 0 but unreadable output (${(error as Error).message})`);
  }
}

interface OurCrossValidation {
  mean: { rows: number; rocAuc: number; brier: number; logLoss: number };
}

interface OurEvaluation extends Metrics {
  rows: number;
  skippedRows: number;
}

function runOurs(split: Split): Run {
  const model = `${work}model.json`;
  const trained = measure(
    [
      process.execPath,
      'dist/cli/main.js',
      'train',
      split.train,
      '--label',
      LABEL,
      '--as-of',
      asOf,
      '-o',
      model,
      '--json',
    ],
    { timeoutSeconds, timingFile: `${work}time-ours.txt` },
  );
  const cv = checked<OurCrossValidation>(trained, 'churnline train:');
  if (cv.mean.rows !== rows) {
    throw new Error(`churnline train: trained on ${cv.mean.rows} of ${rows} rows`);
  }
  const evaluated = measure(
    [
      process.execPath,
      'dist/cli/main.js',
      'evaluate',
      split.test,
      '--label',
      LABEL,
      '--as-of',
      asOf,
      '--model',
      model,
      '--json',
    ],
    { timeoutSeconds, timingFile: `${work}time-ours-evaluate.txt` },
  );
  const evaluation = checked<OurEvaluation>(evaluated, 'churnline evaluate:');
  if (evaluation.rows !== rows || evaluation.skippedRows !== 0) {
    throw new Error(
      `churnline evaluate: measured ${evaluation.rows} of ${rows} rows (${evaluation.skippedRows} skipped)`,
    );
  }
  return {
    metrics: {
      rocAuc: evaluation.rocAuc,
      brier: evaluation.brier,
      logLoss: evaluation.logLoss,
    },
    trainSeconds: trained.wallSeconds,
    note: `ours: cross-validated (5×3, training file) ROC AUC ${cv.mean.rocAuc.toFixed(4)}, Brier ${cv.mean.brier.toFixed(4)}; peak RSS ${trained.peakRssMb.toFixed(0)} MB in train`,
  };
}

interface PeerReport extends Metrics {
  seconds: number;
  rows: number;
  trainRows: number;
  positiveRate: number;
  details: Record<string, number>;
  warnings: number;
  versions: Record<string, string>;
}

let peerVersions = '';
let positiveRate = Number.NaN;

function runPeer(mode: 'hgb' | 'logistic' | 'bayes', split: Split): Run {
  const env = { ...process.env };
  for (const name of PEER_UNSET) delete env[name];
  const measured = measure(
    [python, 'bench/model/peer.py', mode, split.train, split.test, split.testTruth, asOf],
    { timeoutSeconds, timingFile: `${work}time-peer-${mode}.txt`, env },
  );
  const report = checked<PeerReport>(measured, `peer.py ${mode}:`);
  if (report.rows !== rows || (mode !== 'bayes' && report.trainRows !== rows)) {
    throw new Error(`peer.py ${mode}: trained on ${report.trainRows}, tested on ${report.rows}`);
  }
  const { versions, details } = report;
  peerVersions = `scikit-learn ${versions.sklearn}, pandas ${versions.pandas}, numpy ${versions.numpy}`;
  positiveRate = report.positiveRate;
  const warned = report.warnings > 0 ? `; ${report.warnings} warning(s), see stderr` : '';
  if (report.warnings > 0) process.stderr.write(measured.stderr);
  const note =
    mode === 'hgb'
      ? `HistGradientBoosting: ${details.iterations} boosting iterations (early stopping), ${details.features} features (${details.categorical} categorical); process wall ${measured.wallSeconds.toFixed(2)} s incl. imports and test prediction${warned}`
      : mode === 'logistic'
        ? `LogisticRegression: ${details.features} columns after imputation indicators and one-hot, ${details.iterations} lbfgs iterations; process wall ${measured.wallSeconds.toFixed(2)} s${warned}`
        : `true probabilities: mean ${details.meanTrueProbability?.toFixed(4)} on the test file`;
  return {
    metrics: { rocAuc: report.rocAuc, brier: report.brier, logLoss: report.logLoss },
    trainSeconds: report.seconds,
    note,
  };
}

const signed = (value: number, digits = 4): string =>
  `${value >= 0 ? '+' : '-'}${Math.abs(value).toFixed(digits)}`;

function middle(row: Row, pick: (run: Run) => number): number | undefined {
  return row.runs.length === 0 ? undefined : median(row.runs.map(pick));
}

function report(table: Row[], split: Split, loadBefore: number): string {
  const header = ['model', 'test ROC AUC', 'Brier', 'log loss', 'train wall s'];
  const cells: string[][] = [header];
  for (const row of table) {
    const value = (pick: (run: Run) => number, digits: number) =>
      middle(row, pick)?.toFixed(digits) ?? '—';
    cells.push([
      row.failure ? `${row.name} (failed: ${row.failure.replaceAll('|', '\\|')})` : row.name,
      value((r) => r.metrics.rocAuc, 4),
      value((r) => r.metrics.brier, 4),
      value((r) => r.metrics.logLoss, 4),
      row.timing === '' ? '—' : value((r) => r.trainSeconds, 2),
    ]);
  }
  const widths = header.map((_, column) => Math.max(...cells.map((c) => (c[column] ?? '').length)));
  const line = (row: string[]) =>
    `| ${row
      .map((cell, column) =>
        column === 0
          ? cell.padEnd(widths[column] as number)
          : cell.padStart(widths[column] as number),
      )
      .join(' | ')} |`;
  const [head, ...body] = cells as [string[], ...string[][]];
  const byName = (prefix: string) => table.find((row) => row.name.startsWith(prefix));
  const auc = (row: Row | undefined) => (row ? middle(row, (r) => r.metrics.rocAuc) : undefined);
  const ours = auc(byName('churnline'));
  const hgb = auc(byName('HistGradientBoosting'));
  const bayes = auc(byName('true probabilities'));
  const lines = [
    '',
    `Synthetic SaaS export (bench/saas/generate.ts), as-of ${asOf}: train ${rows.toLocaleString('en-US')} rows (seed ${trainSeed}), test ${rows.toLocaleString('en-US')} rows (seed ${testSeed}), test churn rate ${(positiveRate * 100).toFixed(1)}%.`,
    `Metrics on the test file; medians of ${repeats} repeat(s).`,
    '',
    line(head),
    `|${widths.map((w, column) => (column === 0 ? '-'.repeat(w + 2) : `${'-'.repeat(w + 1)}:`)).join('|')}|`,
    ...body.map(line),
    '',
    ours !== undefined && hgb !== undefined
      ? `ours − HistGradientBoosting: ${signed(ours - hgb)} ROC AUC`
      : 'ours − HistGradientBoosting: — (a side failed)',
  ];
  if (bayes !== undefined) {
    for (const [name, value] of [
      ['ours', ours],
      ['HistGradientBoosting', hgb],
    ] as const) {
      if (value !== undefined) {
        lines.push(`${name} − best achievable (Bayes): ${signed(value - bayes)} ROC AUC`);
      }
    }
  }
  lines.push('');
  for (const row of table) {
    if (row.timing !== '') lines.push(`${row.name} train wall: ${row.timing}`);
  }
  for (const row of table) {
    const last = row.runs.at(-1);
    if (last?.note) lines.push(last.note);
    lines.push(...row.notes);
    if (row.runs.length > 1 && row.timing !== '') {
      lines.push(
        `${row.name}: train s per repeat ${row.runs.map((r) => r.trainSeconds.toFixed(2)).join(', ')}`,
      );
    }
  }
  if (peerVersions) lines.push(`peer: ${peerVersions} (bench/model/peer.py)`);
  lines.push(
    `machine: ${availableParallelism()} CPUs, 1-minute load average ${loadBefore.toFixed(2)} before the runs and ${(loadavg()[0] as number).toFixed(2)} after (times are only comparable on a quiet machine; HistGradientBoosting's OpenMP threads slow down sharply when the CPUs are busy)`,
  );
  lines.push(`files: ${split.train}, ${split.test}, ${split.testTruth}`, '');
  return lines.join('\n');
}

async function main(): Promise<void> {
  const split = await ensureSplit();
  const loadBefore = loadavg()[0] as number;
  ensurePython();
  log('building (tsc -p tsconfig.build.json)');
  buildDist(['dist/cli/main.js']);
  const table: Row[] = [
    { name: 'true probabilities (Bayes)', runs: [], timing: '', notes: [] },
    {
      name: 'churnline (ours)',
      runs: [],
      timing:
        'the whole `churnline train` process under /usr/bin/time (CSV read, 5×3 CV metrics, final fit, model written)',
      notes: [],
    },
    {
      name: 'HistGradientBoosting (sklearn)',
      runs: [],
      timing:
        'read_csv of the training file → hand-made features → fit, timed inside peer.py (interpreter start and imports excluded)',
      notes: [],
    },
    {
      name: 'LogisticRegression (sklearn)',
      runs: [],
      timing: 'as for HistGradientBoosting',
      notes: [],
    },
  ];
  const [bayes, ours, hgb, logistic] = table as [Row, Row, Row, Row];
  const attempt = (row: Row, run: () => Run) => {
    if (row.failure) return;
    try {
      const result = run();
      row.runs.push(result);
      log(
        `  ${row.name}: ROC AUC ${result.metrics.rocAuc.toFixed(4)}, train ${result.trainSeconds.toFixed(2)} s`,
      );
    } catch (error) {
      row.failure = error instanceof Error ? error.message : String(error);
      log(`  ${row.name}: failed — ${row.failure}`);
    }
  };
  attempt(bayes, () => runPeer('bayes', split));
  for (let repeat = 1; repeat <= repeats; repeat++) {
    log(`repeat ${repeat}/${repeats}`);
    attempt(ours, () => runOurs(split));
    attempt(hgb, () => runPeer('hgb', split));
    attempt(logistic, () => runPeer('logistic', split));
  }
  process.stdout.write(report(table, split, loadBefore));
  if (table.some((row) => row.runs.length === 0)) process.exitCode = 1;
}

main().catch((error: unknown) => {
  process.stderr.write(`bench:model: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
