import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Command } from 'commander';
import { readLabelledCsv } from '../../model/dataset.js';
import { serialiseModel } from '../../model/model-file.js';
import { leakWarnings } from '../../model/single-column.js';
import {
  describeTierRule,
  type TierRule,
  tierRuleProblem,
  tierRuleSchema,
} from '../../model/tier-rules.js';
import { trainModel } from '../../model/train.js';
import { UsageError } from '../errors.js';
import { AS_OF_FLAGS, AS_OF_HELP, asOfDays } from './as-of.js';
import { formatEvaluation } from './model-output.js';

interface TrainFlags {
  label: string;
  positiveValue?: string;
  asOf?: string;
  tiers?: TierRule;
  output?: string;
  name?: string;
  json?: boolean;
}

export function registerTrainCommand(program: Command): void {
  program
    .command('train')
    .description('Train a churn model on a labelled CSV and print its cross-validated metrics.')
    .argument('<labelled.csv>', 'customer CSV with a yes/no churn column')
    .requiredOption('--label <column>', 'the column that says whether the customer churned')
    .option(
      '--positive-value <value>',
      'the label value that means churned (default: Yes/True/1, or a word such as Churned)',
    )
    .option(AS_OF_FLAGS, AS_OF_HELP)
    .option(
      '--tiers <rule>',
      'risk tiers: top:0.1,0.2 (shares of customers by risk), base:2,1 (multiples of the churn rate) or prob:0.6,0.3 (probabilities)',
      parseTierFlag,
    )
    .option('-o, --output <model.json>', 'where to write the model file')
    .option('--name <name>', 'model name stored in the file (default: the output file name)')
    .option('--json', 'print the metrics as JSON on stdout')
    .action(async (file: string, flags: TrainFlags) => {
      const dataset = await readLabelledCsv(file, {
        labelColumn: flags.label,
        ...(flags.positiveValue === undefined ? {} : { positiveValue: flags.positiveValue }),
        asOfDays: await asOfDays(file, flags.asOf),
      });
      const verbose = process.stderr.isTTY === true && !flags.json;
      const name = flags.name ?? (flags.output ? path.basename(flags.output, '.json') : 'model');
      const model = await trainModel(dataset, {
        name,
        onProgress: verbose ? (message) => process.stderr.write(`  ${message}\n`) : undefined,
        ...(flags.tiers ? { tiers: flags.tiers } : {}),
      });
      if (flags.output) {
        await writeFile(flags.output, serialiseModel(model)).catch(
          (error: NodeJS.ErrnoException) => {
            throw new UsageError(`cannot write ${flags.output}: ${error.code ?? error.message}`);
          },
        );
      }
      for (const warning of leakWarnings(model.training.singleColumn)) {
        process.stderr.write(`warning: ${warning}\n`);
      }
      const cv = model.training.crossValidation;
      if (flags.json) {
        process.stdout.write(`${JSON.stringify(cv, null, 2)}\n`);
        return;
      }
      const kept = model.training.engineered.filter((entry) => entry.kept);
      process.stdout.write(
        [
          `trained "${name}" on ${model.training.rows} rows (${model.training.positives} churned), l2 ${model.training.l2}`,
          `engineered features kept: ${kept.length === 0 ? 'none' : kept.map((e) => `${e.transform}(${e.column})`).join(', ')}`,
          `tiers: ${describeTierRule(model.tiers.rule)} (high from ${(model.tiers.high * 100).toFixed(1)}%, medium from ${(model.tiers.medium * 100).toFixed(1)}%)`,
          `skipped columns: ${model.training.skippedColumns.map((s) => `${s.column} (${s.reason})`).join(', ') || 'none'}`,
          '',
        ].join('\n'),
      );
      process.stdout.write(
        formatEvaluation(
          `${cv.folds}-fold cross-validation repeated ${cv.repeats} times (mean, out-of-fold, calibrated):`,
          cv.mean,
        ),
      );
      const first = cv.perRepeat[0];
      if (first) process.stdout.write(formatEvaluation('first repeat in detail:', first));
      if (flags.output) process.stdout.write(`model written to ${flags.output}\n`);
    });
}

const TIER_KINDS = { top: 'top-share', base: 'base-rate', prob: 'probability' } as const;

/** `top:0.1,0.2` and friends (see the --tiers help). */
function parseTierFlag(value: string): TierRule {
  const match = /^(top|base|prob):([0-9.]+),([0-9.]+)$/.exec(value.trim());
  const rule = match
    ? tierRuleSchema.safeParse({
        kind: TIER_KINDS[match[1] as keyof typeof TIER_KINDS],
        high: Number(match[2]),
        medium: Number(match[3]),
      })
    : undefined;
  if (!rule?.success) {
    throw new UsageError(
      `--tiers "${value}": write top:<high share>,<medium share> (e.g. top:0.1,0.2), base:<multiple>,<multiple> (e.g. base:2,1) or prob:<probability>,<probability> (e.g. prob:0.6,0.3).`,
    );
  }
  const problem = tierRuleProblem(rule.data);
  if (problem) throw new UsageError(`--tiers "${value}": ${problem}.`);
  return rule.data;
}
