/**
 * `GET /v1/uploads/{id}/columns`: what is in each of a file's columns, from its first rows, so a
 * user choosing the column that says who churned (and the value that means churned) sees the
 * values instead of guessing them.
 */
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { findUpload } from '../../db/uploads.js';
import { countLabelValues, LabelError, labelReading } from '../../model/labels.js';
import { categoryKey, isMissing } from '../../model/values.js';
import { notFound } from '../errors.js';
import { capitalise, readUploadSample } from '../fit-check.js';
import type { ApiDeps } from '../server.js';
import { uploadIdParams } from './schema.js';

/** Columns with at most this many distinct values list them all; others list none. */
export const LISTED_VALUES = 12;

const columnSchema = z.object({
  name: z.string(),
  present: z.number().int().describe('Non-blank values in the rows read.'),
  distinct: z
    .number()
    .int()
    .describe(
      `Distinct values (case and spacing aside) in the rows read, counted up to ${LISTED_VALUES + 1}.`,
    ),
  values: z
    .array(z.object({ value: z.string(), rows: z.number().int() }))
    .describe(
      `Every value and its rows, commonest first, when there are at most ${LISTED_VALUES}; else empty.`,
    ),
  asLabel: z
    .object({
      usable: z
        .boolean()
        .describe('The column could say who churned as it is, with no value chosen.'),
      churnedValue: z
        .string()
        .nullable()
        .describe('The value read as churned when none is chosen (Yes, Churned, 1...).'),
      problem: z
        .string()
        .nullable()
        .describe(
          'Why it cannot, judged on the rows read: pick a churned value, or another column.',
        ),
    })
    .describe('How training would read this column as the one that says who churned.'),
});

export const columnsSchema = z.object({
  uploadId: z.uuid(),
  rowsRead: z
    .number()
    .int()
    .describe('Data rows the figures come from (the first rows of the file).'),
  complete: z.boolean().describe('The rows read are the whole file.'),
  columns: z.array(columnSchema),
});

type Column = z.infer<typeof columnSchema>;

/** A column's figures from its raw values in the rows read. */
export function describeColumn(name: string, raws: readonly string[]): Column {
  const counts = countLabelValues(raws);
  // The spelling shown for a value is the one seen most often.
  const spellings = new Map<string, Map<string, number>>();
  let present = 0;
  for (const raw of raws) {
    if (isMissing(raw)) continue;
    present++;
    const key = categoryKey(raw);
    if (spellings.size > LISTED_VALUES && !spellings.has(key)) continue;
    const forms = spellings.get(key) ?? new Map<string, number>();
    forms.set(raw.trim(), (forms.get(raw.trim()) ?? 0) + 1);
    spellings.set(key, forms);
  }
  const spellingOf = (key: string) =>
    [...(spellings.get(key) ?? new Map<string, number>([[key, 0]]))].sort(
      (a, b) => b[1] - a[1] || a[0].localeCompare(b[0]),
    )[0]?.[0] ?? key;
  const values =
    counts.size <= LISTED_VALUES
      ? [...counts]
          .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
          .map(([key, rows]) => ({ value: spellingOf(key), rows }))
      : [];
  let asLabel: Column['asLabel'];
  try {
    const reading = labelReading(name, counts);
    asLabel = {
      usable: true,
      churnedValue: reading.positiveKeys.map(spellingOf).join(' / '),
      problem: null,
    };
  } catch (error) {
    if (!(error instanceof LabelError)) throw error;
    // The values are listed beside this; what a user needs is what to do about them.
    const problem =
      error.problem === 'unreadable'
        ? 'Say which of its values means churned: it is not a yes/no, and none of its values is a churn word such as Churned or Cancelled.'
        : capitalise(error.message);
    asLabel = { usable: false, churnedValue: null, problem };
  }
  return { name, present, distinct: Math.min(counts.size, LISTED_VALUES + 1), values, asLabel };
}

export function registerColumnsRoute(app: FastifyInstance, deps: ApiDeps): void {
  app.withTypeProvider<ZodTypeProvider>().get(
    '/uploads/:id/columns',
    {
      schema: {
        summary: "Each column's values in the first rows, and how it would read as the churn label",
        tags: ['uploads'],
        params: uploadIdParams,
        response: { 200: columnsSchema },
      },
    },
    async (request) => {
      const upload = await findUpload(deps.db, request.userId, request.params.id);
      if (!upload) throw notFound('upload');
      const sample = await readUploadSample(deps, upload);
      return {
        uploadId: upload.id,
        rowsRead: sample.records.length,
        complete: sample.records.length >= upload.row_count,
        columns: sample.headers.map((name, index) =>
          describeColumn(
            name,
            sample.records.map((record) => record[index] ?? ''),
          ),
        ),
      };
    },
  );
}
