import { z } from 'zod';

export const uploadSchema = z.object({
  id: z.uuid(),
  filename: z.string().describe('Your file name as uploaded (sanitised); metadata only.'),
  bytes: z.number().int(),
  sha256: z.string().describe('Hex SHA-256 of the stored file.'),
  rowCount: z.number().int().describe('Customer rows below the header.'),
  createdAt: z.string(),
});

export const uploadIdParams = z.object({ id: z.uuid({ error: 'must be an upload id (UUID)' }) });

/**
 * A user's file name, kept for display only (never part of a storage key): the last path
 * segment, without control characters, trimmed to 200 characters; spaces and brackets stay.
 */
export function sanitiseFilename(raw: string | undefined): string {
  const base = (raw ?? '').split(/[/\\]/).pop() ?? '';
  const clean = base
    // biome-ignore lint/suspicious/noControlCharactersInRegex: removing control characters is the point
    .replace(/[\u0000-\u001f\u007f-\u009f]/g, '')
    .replace(/\s+/g, ' ')
    .trim()
    .slice(0, 200);
  return clean === '' || clean === '.' || clean === '..' ? 'upload.csv' : clean;
}
