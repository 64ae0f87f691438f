/** What the pages about models and column fit share: reading models, fit reports and scores. */
import { api, type FitReport, type Model, type Prediction, unwrap } from './api';
import { formatPercent } from './format';

/** While a model trains, its page and the models list re-read it this often. */
export const TRAINING_POLL_MS = 1000;

export async function listModels(): Promise<Model[]> {
  return (await unwrap(api.GET('/v1/models'))).models;
}

/** The models that can score now: shipped ones and the user's ready ones. */
export function readyModels(models: Model[]): Model[] {
  return models.filter((model) => model.status === 'ready');
}

/** How a model is named in a sentence or a picker. */
export function modelName(model: Pick<Model, 'name' | 'source'>): string {
  return model.source === 'shipped' ? `${model.name} (shipped)` : model.name;
}

/** Scores an upload: the prediction (202), or the API's refusal as an ApiFailure. */
export function scoreUpload(
  uploadId: string,
  modelId: string | undefined,
  allowPartialFit = false,
): Promise<Prediction> {
  return unwrap(
    api.POST('/v1/predictions', {
      body: {
        uploadId,
        ...(modelId === undefined ? {} : { modelId }),
        ...(allowPartialFit ? { allowPartialFit } : {}),
      },
    }),
  );
}

/**
 * The file's columns as far as a fit report shows them: those feeding an input and the unused
 * ones, alphabetically (the API does not give the header's own order).
 */
export function fileColumns(report: FitReport): string[] {
  const columns = new Set(report.unusedColumns);
  for (const fit of report.inputs) if (fit.column !== null) columns.add(fit.column);
  return [...columns].sort((a, b) => a.localeCompare(b, undefined, { sensitivity: 'base' }));
}

/** The column most likely to say who churned, to preselect; undefined when none looks like it. */
export function guessLabelColumn(columns: string[]): string | undefined {
  return (
    columns.find((column) => /churn/i.test(column)) ??
    columns.find((column) => /cancel|status|left|lost|closed|active/i.test(column))
  );
}

const VERDICT_TITLES: Record<FitReport['verdict'], string> = {
  good: 'Good fit',
  usable: 'Usable',
  poor: 'Poor fit',
};

/** Lists names in a sentence, the first few and how many more. */
export function listNames(names: string[], max = 4): string {
  if (names.length <= max) return names.join(', ');
  return `${names.slice(0, max).join(', ')} and ${names.length - max} more`;
}

/**
 * The verdict of a fit report in plain words, for people rather than API clients (the report's
 * own message names API options): a title and a few sentences.
 */
export function describeFit(report: FitReport): { title: string; sentences: string[] } {
  const byImportance = [...report.inputs].sort((a, b) => b.importance - a.importance);
  const missing = byImportance.filter((fit) => fit.column === null);
  // Text where a number belongs is unreadable; a category the model never saw reads, as average.
  const unreadable = byImportance.filter(
    (fit) =>
      fit.column !== null &&
      fit.present > 0 &&
      (fit.present - fit.parsed - fit.unknownCategories) / fit.present > 0.02,
  );
  const unseen = byImportance.filter(
    (fit) => fit.column !== null && fit.present > 0 && fit.unknownCategories / fit.present > 0.02,
  );
  const share = formatPercent(report.coverage, 0);
  const sentences: string[] = [];
  if (report.verdict === 'good') {
    sentences.push('Every input this model uses was found in your file, and its values read well.');
  } else {
    sentences.push(
      report.verdict === 'poor'
        ? `Your file carries only ${share} of what this model relies on: too little for its scores to mean much.`
        : `Your file carries ${share} of what this model relies on, enough to score.`,
    );
    if (missing.length > 0) {
      sentences.push(
        missing.length === report.inputs.length
          ? `None of its ${report.inputs.length} inputs was found among your columns.`
          : `No column was found for ${missing.length} of its ${report.inputs.length} inputs: ${listNames(missing.map((fit) => fit.input))}.`,
      );
    }
    if (unreadable.length > 0) {
      sentences.push(
        `Some values could not be read in ${listNames(unreadable.map((fit) => fit.input))}.`,
      );
    }
    if (unseen.length > 0) {
      sentences.push(
        `${listNames(unseen.map((fit) => fit.input))} ${unseen.length === 1 ? 'holds' : 'hold'} categories this model never saw, which count as average.`,
      );
    }
    sentences.push(
      report.verdict === 'poor'
        ? 'Choose the right column for each input below, or train a model on this file.'
        : "A missing input counts as an average customer's; a row whose values cannot be read is not scored.",
    );
  }
  return { title: VERDICT_TITLES[report.verdict], sentences };
}

/** How a fit report says a column was found, in words. */
export function matchedByText(matchedBy: FitReport['inputs'][number]['matchedBy']): string {
  switch (matchedBy) {
    case 'override':
      return 'your choice';
    case 'exact':
      return 'same name';
    case 'synonym':
      return 'a known synonym';
    default:
      return 'not found';
  }
}

/** The four cross-validated metrics, with a line each on what they mean. */
export function metricLines(
  metrics: NonNullable<Model['metrics']>,
  baseRate: number | null,
): Array<{ name: string; term: string; value: string; explanation: string }> {
  const p = baseRate ?? undefined;
  const guessBrier = p === undefined ? undefined : p * (1 - p);
  const guessLogLoss =
    p === undefined || p <= 0 || p >= 1
      ? undefined
      : -(p * Math.log(p) + (1 - p) * Math.log(1 - p));
  const guess = (value: number | undefined) =>
    value === undefined ? '' : `; always predicting the churn rate scores ${value.toFixed(3)}`;
  return [
    {
      name: 'rocAuc',
      term: 'ROC AUC',
      value: metrics.rocAuc.toFixed(3),
      explanation:
        'How often a customer who churned is ranked above one who stayed: 0.5 is guessing, 1 is perfect.',
    },
    {
      name: 'prAuc',
      term: 'PR AUC',
      value: metrics.prAuc.toFixed(3),
      explanation: `How precise the at-risk list stays as it grows: 1 is perfect${p === undefined ? '' : `, guessing scores the churn rate (${p.toFixed(3)})`}.`,
    },
    {
      name: 'brier',
      term: 'Brier score',
      value: metrics.brier.toFixed(3),
      explanation: `The mean squared gap between predicted probability and what happened: lower is better${guess(guessBrier)}.`,
    },
    {
      name: 'logLoss',
      term: 'Log loss',
      value: metrics.logLoss.toFixed(3),
      explanation: `Like the Brier score, but punishing confident mistakes harder: lower is better${guess(guessLogLoss)}.`,
    },
  ];
}
