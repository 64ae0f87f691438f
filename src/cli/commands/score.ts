import { once } from 'node:events';
import { createReadStream, createWriteStream, type WriteStream } from 'node:fs';
import { open, rename, rm, stat } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import type { Readable, Writable } from 'node:stream';
import type { Command } from 'commander';
import { KIND_SNIFF_BYTES, NO_ROWS_MESSAGE, notCsvText } from '../../model/file-kind.js';
import { loadModel } from '../../model/model-file.js';
import { scoreCsvStreamParallel } from '../../model/score-parallel.js';
import type { ScoreSummary } from '../../model/score-stream.js';
import { UsageError } from '../errors.js';
import { AS_OF_FLAGS, AS_OF_HELP, asOfDays } from './as-of.js';
import { createProgressBar } from './progress.js';

interface ScoreFlags {
  output?: string;
  model: string;
  json?: boolean;
  workers?: number;
  asOf?: string;
}

function wholeNumber(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) {
    throw new UsageError(
      `--workers must be a whole number of at least 1; got ${JSON.stringify(value)}.`,
    );
  }
  return n;
}

/** Checks the input is a readable file up front, so a typo is one clear line. Returns its size. */
export async function openInput(file: string): Promise<number> {
  try {
    const info = await stat(file);
    if (!info.isFile()) throw new UsageError(`${file} is not a file.`);
    return info.size;
  } catch (error) {
    if (error instanceof UsageError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    throw new UsageError(
      code === 'ENOENT' ? `no such file: ${file}` : `cannot read ${file}: ${code ?? String(error)}`,
    );
  }
}

/** The first bytes of a file: enough to tell what it is. */
async function readHead(file: string): Promise<Buffer> {
  const handle = await open(file, 'r');
  try {
    const head = Buffer.alloc(KIND_SNIFF_BYTES);
    const { bytesRead } = await handle.read(head, 0, head.length, 0);
    return head.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

async function openOutput(file: string, shownAs = file): Promise<WriteStream> {
  const stream = createWriteStream(file, { highWaterMark: 1 << 20 });
  try {
    await once(stream, 'open');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new UsageError(`cannot write ${shownAs}: ${code ?? String(error)}`);
  }
  return stream;
}

function end(stream: WriteStream): Promise<void> {
  return new Promise((resolve, reject) => {
    stream.once('error', reject);
    stream.end(() => resolve());
  });
}

function describe(summary: ScoreSummary): string {
  const lines = [
    `scored ${summary.scored} of ${summary.rows} rows` +
      (summary.failed > 0 ? ` (${summary.failed} failed: see score_error)` : ''),
    `tiers: high ${summary.tiers.high}, medium ${summary.tiers.medium}, low ${summary.tiers.low}; mean probability ${summary.meanProbability.toFixed(4)}`,
    `most common reasons: ${summary.commonReasons.map((r) => `${r.reason} (${r.rows})`).join('; ')}`,
  ];
  if (summary.unusedColumns.length > 0) {
    lines.push(`unused columns (kept in the output): ${summary.unusedColumns.join(', ')}`);
  }
  const unknown = Object.entries(summary.unknownCategories);
  if (unknown.length > 0) {
    lines.push(
      `unknown categories scored as neutral: ${unknown.map(([column, rows]) => `${column} (${rows} rows)`).join(', ')}`,
    );
  }
  return `${lines.join('\n')}\n`;
}

export function registerScoreCommand(program: Command): void {
  program
    .command('score')
    .description(
      'Score a customer CSV: adds churn_probability, risk_tier, top_reasons and protective_factors.',
    )
    .argument('<in.csv>', 'customer CSV (UTF-8; comma, semicolon or tab separated)')
    .option('-o, --output <out.csv>', 'where to write the scored CSV (default: stdout)')
    .option('--model <name|file>', 'a shipped model name or a model file', 'telco-v1')
    .option('--json', 'print the summary as JSON on stdout (needs -o)')
    .option('--workers <n>', 'scoring threads (default: up to 2; 1 scores in-process)', wholeNumber)
    .option(AS_OF_FLAGS, AS_OF_HELP)
    .action(async (file: string, flags: ScoreFlags) => {
      if (flags.json && !flags.output) {
        throw new UsageError(
          '--json prints the summary on stdout, so give the CSV a file with -o.',
        );
      }
      const model = await loadModel(flags.model);
      const size = await openInput(file);
      // What the API refuses before anything runs, the CLI refuses in the same words.
      const problem = notCsvText(await readHead(file));
      if (problem) throw new UsageError(problem.message);
      const progress = createProgressBar(process.stderr, size);
      const input: Readable = createReadStream(file, { highWaterMark: 1 << 20 });
      // Written beside the target and renamed at the end, so a failed run leaves no half file.
      const partial = flags.output ? `${flags.output}.partial` : undefined;
      const output: Writable = partial ? await openOutput(partial, flags.output) : process.stdout;
      let outputError: NodeJS.ErrnoException | undefined;
      // A full disk or a closed pipe must end as one clear line, not an unhandled 'error' event.
      output.on('error', (error) => {
        outputError ??= error;
      });
      let summary: ScoreSummary;
      try {
        summary = await scoreCsvStreamParallel(input, output, model, {
          workers: flags.workers ?? Math.min(2, availableParallelism()),
          asOfDays: await asOfDays(file, flags.asOf),
          onProgress: ({ rows, bytes }) => progress.update(rows, bytes),
        });
        if (summary.rows === 0) throw new UsageError(NO_ROWS_MESSAGE);
        if (partial && flags.output) {
          await end(output as WriteStream);
          await rename(partial, flags.output);
        }
        if (outputError) throw outputError;
      } catch (error) {
        input.destroy();
        if (partial) {
          (output as WriteStream).destroy();
          await rm(partial, { force: true });
        }
        if (outputError?.code === 'EPIPE' && !partial) return; // the reader stopped early (| head)
        if (outputError) {
          throw new UsageError(
            `cannot write ${flags.output ?? 'to stdout'}: ${outputError.code ?? outputError.message}`,
          );
        }
        throw error;
      } finally {
        progress.finish();
      }
      if (flags.json) process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
      else if (process.stderr.isTTY) process.stderr.write(describe(summary));
    });
}
