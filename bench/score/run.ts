/**
 * npm run bench:score — scores a 1,000,000-row Telco-shaped CSV to CSV with reasons through the
 * built `churnline score`, and the same job in pandas + scikit-learn (peer.py, no reasons), in
 * the same run, alternating, and prints wall time, rows/s and peak RSS (medians of the repeats).
 *
 * Options: --rows <n> (default 1000000), --repeats <n> (default 3).
 */
import { createReadStream } from 'node:fs';
import {
  buildDist,
  ensurePython,
  ensureTelcoCsv,
  log,
  measure as measureCommand,
  median,
  numberFlag,
  python,
  root,
} from '../support.js';

const work = `${root}bench/.work/score/`;
const rows = numberFlag('rows', 1_000_000);
const repeats = numberFlag('repeats', 3);

interface Run {
  wallSeconds: number;
  peakRssMb: number;
  /** The peer's own timing of read_csv → to_csv (no interpreter start or model fit). */
  pipelineSeconds?: number;
}

/** Runs a command under /usr/bin/time for its wall time and peak RSS; throws if it fails. */
function measure(command: string[]): { run: Run; stdout: string } {
  const measured = measureCommand(command, { timingFile: `${work}time.txt` });
  if (!measured.ok) {
    throw new Error(`${command.join(' ')} failed (${measured.failure}):\n${measured.stderr}`);
  }
  return {
    run: { wallSeconds: measured.wallSeconds, peakRssMb: measured.peakRssMb },
    stdout: measured.stdout,
  };
}

async function countLines(file: string): Promise<number> {
  let lines = 0;
  for await (const chunk of createReadStream(file) as AsyncIterable<Buffer>) {
    for (let at = chunk.indexOf(10); at !== -1; at = chunk.indexOf(10, at + 1)) lines++;
  }
  return lines;
}

async function main(): Promise<void> {
  const input = await ensureTelcoCsv(work, rows);
  ensurePython();
  // Emits even if another module has a type error; what matters here is the scorer's build.
  buildDist(['dist/cli/main.js', 'dist/model/score-worker.js']);
  const ours: Run[] = [];
  const peer: Run[] = [];
  for (let repeat = 1; repeat <= repeats; repeat++) {
    log(`repeat ${repeat}/${repeats}: churnline`);
    const churnline = measure([
      process.execPath,
      'dist/cli/main.js',
      'score',
      input,
      '-o',
      `${work}churnline-out.csv`,
      '--json',
    ]);
    const summary = JSON.parse(churnline.stdout) as { scored: number };
    if (summary.scored !== rows)
      throw new Error(`churnline scored ${summary.scored} of ${rows} rows`);
    ours.push(churnline.run);
    log(`repeat ${repeat}/${repeats}: pandas + scikit-learn`);
    const pandas = measure([
      python,
      'bench/score/peer.py',
      'data/telco-customer-churn.csv',
      input,
      `${work}peer-out.csv`,
    ]);
    const report = JSON.parse(pandas.stdout) as { seconds: number; rows: number };
    if (report.rows !== rows) throw new Error(`the peer scored ${report.rows} of ${rows} rows`);
    peer.push({ ...pandas.run, pipelineSeconds: report.seconds });
  }
  for (const file of ['churnline-out.csv', 'peer-out.csv']) {
    const lines = await countLines(`${work}${file}`);
    if (lines !== rows + 1) throw new Error(`${file} has ${lines} lines, expected ${rows + 1}`);
  }

  const ourWall = median(ours.map((r) => r.wallSeconds));
  const peerWall = median(peer.map((r) => r.wallSeconds));
  const peerPipeline = median(peer.map((r) => r.pipelineSeconds as number));
  const row = (name: string, seconds: number, rss: number) =>
    `| ${name.padEnd(46)} | ${seconds.toFixed(2).padStart(7)} | ${Math.round(rows / seconds)
      .toLocaleString('en-US')
      .padStart(9)} | ${rss.toFixed(0).padStart(12)} |`;
  const lines = [
    '',
    `Scoring ${rows.toLocaleString('en-US')} Telco-shaped rows CSV → CSV; medians of ${repeats} alternating runs.`,
    '',
    `| ${'job'.padEnd(46)} | ${'wall s'.padStart(7)} | ${'rows/s'.padStart(9)} | ${'peak RSS MB'.padStart(12)} |`,
    `|${'-'.repeat(48)}|${'-'.repeat(9)}|${'-'.repeat(11)}|${'-'.repeat(14)}|`,
    row(
      'churnline score, with reasons (whole process)',
      ourWall,
      median(ours.map((r) => r.peakRssMb)),
    ),
    row(
      'pandas + sklearn, no reasons (whole process)',
      peerWall,
      median(peer.map((r) => r.peakRssMb)),
    ),
    row(
      'pandas + sklearn, read_csv → to_csv only',
      peerPipeline,
      median(peer.map((r) => r.peakRssMb)),
    ),
    '',
    `ratio churnline / pandas: ${(ourWall / peerWall).toFixed(2)} (whole process), ${(ourWall / peerPipeline).toFixed(2)} (against the peer's pipeline alone)`,
    `runs (s): churnline ${ours.map((r) => r.wallSeconds.toFixed(2)).join(', ')}; pandas ${peer.map((r) => r.wallSeconds.toFixed(2)).join(', ')}`,
    '',
  ];
  process.stdout.write(lines.join('\n'));
}

main().catch((error: unknown) => {
  process.stderr.write(`bench:score: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
