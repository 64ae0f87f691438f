import { createReadStream } from 'node:fs';
import type { Command } from 'commander';
import { type FitReport, fitReport, sampleCsv } from '../../model/fit-report.js';
import { loadModel } from '../../model/model-file.js';
import { UsageError } from '../errors.js';
import { AS_OF_FLAGS, AS_OF_HELP, asOfDays } from './as-of.js';
import { openInput } from './score.js';

interface MappingFlags {
  model: string;
  map: string[];
  json?: boolean;
  asOf?: string;
}

/** `--map "MonthlyCharges=MRR ($)"`, repeatable: the user's choice of column for an input. */
function collectMap(value: string, previous: string[]): string[] {
  return [...previous, value];
}

function parseOverrides(entries: readonly string[]): Record<string, string> {
  const overrides: Record<string, string> = {};
  for (const entry of entries) {
    const at = entry.indexOf('=');
    if (at <= 0 || at === entry.length - 1) {
      throw new UsageError(`--map "${entry}": write it as <model input>=<your column>.`);
    }
    overrides[entry.slice(0, at).trim()] = entry.slice(at + 1).trim();
  }
  return overrides;
}

const percent = (part: number, whole: number) =>
  whole === 0 ? '-' : `${Math.round((100 * part) / whole)}%`;

export function formatFitReport(report: FitReport): string {
  const width = Math.max(5, ...report.inputs.map((fit) => fit.input.length));
  const lines = [
    `${report.verdict.toUpperCase()}: ${report.message}`,
    `checked ${report.rowsChecked.toLocaleString('en-US')} rows; coverage ${Math.round(report.coverage * 100)}% of the model's importance`,
    '',
    `${'input'.padEnd(width)}  importance  column (how found)                         read   blank  problems`,
  ];
  for (const fit of [...report.inputs].sort((a, b) => b.importance - a.importance)) {
    const column =
      fit.column === null
        ? `— none${fit.closest.length ? ` (closest: ${fit.closest.join(', ')})` : ''}`
        : `${fit.column} (${fit.matchedBy})`;
    const read = fit.column === null ? '' : percent(fit.parsed, fit.present);
    const blank =
      fit.column === null ? '' : percent(report.rowsChecked - fit.present, report.rowsChecked);
    const problems = [
      ...(fit.unknownCategories > 0 ? [`${fit.unknownCategories} unseen categories`] : []),
      ...(fit.examples.length > 0
        ? [`e.g. ${fit.examples.map((e) => JSON.stringify(e)).join(', ')}`]
        : []),
    ].join('; ');
    lines.push(
      `${fit.input.padEnd(width)}  ${`${(fit.importance * 100).toFixed(1)}%`.padStart(10)}  ${column.padEnd(42)} ${read.padStart(5)}  ${blank.padStart(5)}  ${problems}`,
    );
  }
  lines.push('', `unused columns: ${report.unusedColumns.join(', ') || 'none'}`);
  return `${lines.join('\n')}\n`;
}

export function registerMappingCommand(program: Command): void {
  program
    .command('mapping')
    .description(
      'Check a CSV against a model before scoring: which column feeds each input, and how its values read.',
    )
    .argument('<file.csv>', 'customer CSV')
    .option('--model <name|file>', 'a shipped model name or a model file', 'telco-v1')
    .option(
      '--map <input=column>',
      'use this column for a model input (repeatable)',
      collectMap,
      [],
    )
    .option('--json', 'print the report as JSON')
    .option(AS_OF_FLAGS, AS_OF_HELP)
    .action(async (file: string, flags: MappingFlags) => {
      const model = await loadModel(flags.model);
      await openInput(file);
      const sample = await sampleCsv(createReadStream(file, { highWaterMark: 1 << 20 }));
      const report = fitReport(model, sample.headers, sample.records, {
        delimiter: sample.delimiter,
        asOfDays: await asOfDays(file, flags.asOf),
        overrides: parseOverrides(flags.map),
      });
      process.stdout.write(
        flags.json ? `${JSON.stringify(report, null, 2)}\n` : formatFitReport(report),
      );
    });
}
