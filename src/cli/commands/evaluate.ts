import { createReadStream } from 'node:fs';
import type { Command } from 'commander';
import { evaluateModel } from '../../model/evaluate.js';
import { loadModel } from '../../model/model-file.js';
import { AS_OF_FLAGS, AS_OF_HELP, asOfDays } from './as-of.js';
import { formatEvaluation } from './model-output.js';
import { openInput } from './score.js';

interface EvaluateFlags {
  label: string;
  model: string;
  json?: boolean;
  asOf?: string;
}

export function registerEvaluateCommand(program: Command): void {
  program
    .command('evaluate')
    .description('Measure a model on a labelled CSV: ROC AUC, PR AUC, Brier, calibration, tiers.')
    .argument('<labelled.csv>', 'customer CSV with a yes/no churn column')
    .requiredOption('--label <column>', 'the column that says whether the customer churned')
    .option('--model <name|file>', 'a shipped model name or a model file', 'telco-v1')
    .option('--json', 'print the metrics as JSON on stdout')
    .option(AS_OF_FLAGS, AS_OF_HELP)
    .action(async (file: string, flags: EvaluateFlags) => {
      const model = await loadModel(flags.model);
      await openInput(file);
      const evaluation = await evaluateModel(createReadStream(file), model, flags.label, {
        asOfDays: await asOfDays(file, flags.asOf),
      });
      if (flags.json) {
        process.stdout.write(`${JSON.stringify(evaluation, null, 2)}\n`);
        return;
      }
      if (evaluation.onTrainingFile) {
        process.stderr.write(
          `note: this is the file "${model.name}" was trained on, so these metrics are in-sample and flatter the model. Its cross-validated metrics (churnline train's output, the model card) are the honest ones; evaluate on rows it never saw to check it.\n`,
        );
      }
      process.stdout.write(
        formatEvaluation(
          `model "${model.name}" on ${evaluation.rows} rows${evaluation.onTrainingFile ? ' of its own training file (in-sample)' : ''}${evaluation.skippedRows > 0 ? ` (${evaluation.skippedRows} rows skipped: unreadable value or label)` : ''}:`,
          evaluation,
        ),
      );
    });
}
