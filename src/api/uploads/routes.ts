import { pipeline } from 'node:stream';
import type { MultipartFile } from '@fastify/multipart';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { BlobError } from '../../blobs/port.js';
import { jobsReadingUpload, withUserQuotaLock } from '../../db/quotas.js';
import { nowIso } from '../../db/schema.js';
import {
  deleteUnfinishedUpload,
  findUpload,
  listUploads,
  softDeleteUpload,
} from '../../db/uploads.js';
import { newId, uploadKey } from '../../ids.js';
import { CsvSniffer, NOT_CSV_HINT } from '../csv-sniffer.js';
import { ApiError, notFound } from '../errors.js';
import { presentUpload } from '../presenters.js';
import type { UploadReservation } from '../quotas.js';
import { declaredLength, drainSmallBody } from '../refused-body.js';
import type { ApiDeps } from '../server.js';
import { ABANDONED_UPLOAD_AGE_MS } from './abandoned.js';
import { sanitiseFilename, uploadIdParams, uploadSchema } from './schema.js';

/** Declared types browsers and tools send for .csv files; anything else is checked harder. */
const CSV_TYPES = new Set([
  'text/csv',
  'text/plain',
  'application/csv',
  'text/x-csv',
  'application/x-csv',
  'application/vnd.ms-excel',
  'application/octet-stream',
  'text/comma-separated-values',
  'text/tab-separated-values',
]);

export function registerUploadRoutes(app: FastifyInstance, deps: ApiDeps): void {
  const api = app.withTypeProvider<ZodTypeProvider>();
  const maxMiB = Math.floor(deps.uploadMaxBytes / 1024 ** 2);

  api.post(
    '/uploads',
    {
      schema: {
        summary: 'Upload a customer CSV (multipart/form-data, field "file")',
        tags: ['uploads'],
        consumes: ['multipart/form-data'],
        response: { 201: uploadSchema },
      },
    },
    async (request, reply) => {
      if (!request.isMultipart()) {
        throw new ApiError(
          415,
          'unsupported_media_type',
          'Send the file as multipart/form-data in a field named "file".',
        );
      }
      const parts = request.files();
      const first = await parts.next();
      const part = first.done ? undefined : first.value;
      if (part?.fieldname !== 'file') {
        throw new ApiError(400, 'missing_file', 'Send the CSV in a multipart field named "file".');
      }
      const declared = part.mimetype.split(';')[0]?.trim().toLowerCase() ?? '';
      if (declared !== '' && !CSV_TYPES.has(declared)) {
        part.file.resume();
        throw new ApiError(
          415,
          'unsupported_media_type',
          `The file was sent as ${declared}, not CSV. ${NOT_CSV_HINT}`,
        );
      }
      const id = newId();
      const key = uploadKey(request.userId, id);
      const filename = sanitiseFilename(part.filename);
      const intent = {
        id,
        user_id: request.userId,
        filename,
        object_key: key,
        created_at: nowIso(),
      };
      // The row first: if this process dies from here on, the sweep (abandoned.ts) finds it.
      // It is written only if the day's uploads and the stored bytes allow it, before the file
      // is read, reserving the file's bytes from the request's length (quotas.ts).
      let reservation: UploadReservation;
      try {
        reservation = await deps.quotas.beginUpload(
          intent,
          declaredLength(request.headers['content-length']),
          deps.uploadMaxBytes,
        );
      } catch (error) {
        await drainSmallBody(part.file, declaredLength(request.headers['content-length']));
        reply.header('connection', 'close');
        throw error;
      }
      const sniffer = new CsvSniffer();
      pipeline(part.file, sniffer, () => {});
      let stored: { bytes: number; sha256: string };
      try {
        stored = await deps.blobs.put(key, sniffer, {
          contentType: 'text/csv',
          metadata: { filename: encodeURIComponent(filename) },
          maxBytes: reservation.maxBytes,
        });
      } catch (error) {
        // The rest of the body is never read: close the connection after the answer, or it
        // lingers half-read until the keep-alive timeout and holds up a graceful shutdown.
        reply.header('connection', 'close');
        // A failed put stores nothing; only the row is left to remove.
        await deleteUnfinishedUpload(deps.db, id).catch(() => {});
        if (reservation.quotaBound && isTooLarge(error)) {
          throw await deps.quotas.storedBytesRefusal(request.userId, reservation.maxBytes);
        }
        throw uploadError(error, maxMiB);
      }
      if (part.file.truncated) {
        await discardUpload(deps, id, key);
        throw tooLarge(maxMiB);
      }
      // One file per upload: a second would otherwise be dropped without a word.
      if (await hasAnotherFile(parts)) {
        reply.header('connection', 'close');
        await discardUpload(deps, id, key);
        throw new ApiError(
          400,
          'one_file_per_upload',
          'This request carried more than one file; upload each file in a request of its own.',
        );
      }
      const whole = {
        bytes: stored.bytes,
        sha256: stored.sha256,
        row_count: sniffer.rowCount,
        // Only a file with somewhere to split (past its first data record) keeps them.
        splits: sniffer.splits.length > 1 ? JSON.stringify(sniffer.splits) : null,
      };
      let finished: boolean;
      try {
        finished = await deps.quotas.finishUpload(intent, reservation, whole);
      } catch (error) {
        await discardUpload(deps, id, key);
        throw error;
      }
      if (!finished) {
        await discardUpload(deps, id, key);
        throw tooSlow();
      }
      const upload = { ...intent, ...whole, deleted_at: null, state: 'stored' as const };
      reply.code(201).header('location', `/v1/uploads/${id}`);
      return presentUpload(upload);
    },
  );

  api.get(
    '/limits',
    {
      schema: {
        summary: 'What this server accepts, so clients can check a file before sending it',
        tags: ['uploads'],
        response: {
          200: z.object({
            uploadMaxBytes: z.number().int().describe('The largest upload (UPLOAD_MAX_BYTES)'),
          }),
        },
      },
    },
    async () => ({ uploadMaxBytes: deps.uploadMaxBytes }),
  );

  api.get(
    '/uploads',
    {
      schema: {
        summary: 'List your uploads, newest first',
        tags: ['uploads'],
        querystring: z.object({ limit: z.coerce.number().int().min(1).max(100).default(50) }),
        response: { 200: z.object({ uploads: z.array(uploadSchema) }) },
      },
    },
    async (request) => ({
      uploads: (await listUploads(deps.db, request.userId, request.query.limit)).map(presentUpload),
    }),
  );

  api.get(
    '/uploads/:id',
    {
      schema: {
        summary: 'Get an upload',
        tags: ['uploads'],
        params: uploadIdParams,
        response: { 200: uploadSchema },
      },
    },
    async (request) => {
      const upload = await findUpload(deps.db, request.userId, request.params.id);
      if (!upload) throw notFound('upload');
      return presentUpload(upload);
    },
  );

  api.delete(
    '/uploads/:id',
    {
      schema: {
        summary: 'Delete an upload (its file); predictions made from it keep their results',
        tags: ['uploads'],
        params: uploadIdParams,
      },
    },
    async (request, reply) => {
      const { userId } = request;
      // Under the quota lock, so no prediction of it can be submitted between check and delete.
      const deleted = await withUserQuotaLock(deps.db, userId, async (trx) => {
        const upload = await findUpload(trx, userId, request.params.id);
        if (!upload) throw notFound('upload');
        const reading = await jobsReadingUpload(trx, upload.id);
        if (reading > 0) {
          throw new ApiError(
            409,
            'upload_in_use',
            `${reading} prediction${reading === 1 ? '' : 's'} or training${reading === 1 ? '' : 's'} queued or running ${reading === 1 ? 'reads' : 'read'} this upload. Delete it once ${reading === 1 ? 'it has' : 'they have'} finished.`,
          );
        }
        await softDeleteUpload(trx, userId, upload.id);
        return upload;
      });
      try {
        await deps.blobs.delete(deleted.object_key);
      } catch (error) {
        // The upload is deleted for the user already (and no longer counts toward the quota).
        deps.log.warn(
          { err: error, uploadId: deleted.id },
          "could not remove a deleted upload's file; it stays in storage",
        );
      }
      reply.code(204).send();
    },
  );
}

/**
 * Object first, then the row: the row is what the sweep finds, so it must outlive the object.
 * Best effort: what this leaves (the database or the store is failing) the sweep removes later.
 */
async function discardUpload(deps: ApiDeps, id: string, key: string): Promise<void> {
  try {
    await deps.blobs.delete(key);
    await deleteUnfinishedUpload(deps.db, id);
  } catch (error) {
    deps.log.warn(
      { err: error, uploadId: id },
      'could not discard a refused upload; the sweep will',
    );
  }
}

const tooSlow = () =>
  new ApiError(
    408,
    'upload_too_slow',
    `The upload took longer than ${ABANDONED_UPLOAD_AGE_MS / 60_000} minutes and was not kept. Upload it again over a faster connection, or split the file.`,
  );

const tooLarge = (maxMiB: number) =>
  new ApiError(
    413,
    'payload_too_large',
    `The file is larger than the ${maxMiB} MiB limit. Split it into smaller files.`,
  );

const isTooLarge = (error: unknown) =>
  (error as { statusCode?: number }).statusCode === 413 ||
  (error instanceof BlobError && error.code === 'too_large');

/** The request's Content-Length, when it has a usable one (a chunked body has none). */

function uploadError(error: unknown, maxMiB: number): unknown {
  if (isTooLarge(error)) return tooLarge(maxMiB);
  if (error instanceof BlobError && error.retryable) {
    return new ApiError(
      503,
      'storage_unavailable',
      'File storage is unavailable right now; nothing was stored. Try again shortly.',
      {
        'retry-after': '5',
      },
    );
  }
  return error;
}

/** Whether the multipart body goes on with another file (busboy's file limit says so too). */
async function hasAnotherFile(parts: AsyncIterator<MultipartFile>): Promise<boolean> {
  try {
    const next = await parts.next();
    if (next.done) return false;
    next.value.file.resume();
    return true;
  } catch (error) {
    if ((error as { code?: string }).code === 'FST_FILES_LIMIT') return true;
    throw error;
  }
}
