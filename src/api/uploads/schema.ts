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
 * segment, without control characters, bidirectional overrides (which make `txt.exe` read as
 * `exe.txt`) or line separators, trimmed to 200 characters (whole characters, so an emoji is
 * never cut in half); spaces and brackets stay.
 */
export function sanitiseFilename(raw: string | undefined): string {
  const base = (raw ?? '').split(/[/\\]/).pop() ?? '';
  const clean = base
    // biome-ignore lint/suspicious/noControlCharactersInRegex: removing control characters is the point
    .replace(/[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]/g, '')
    // A lone surrogate (from a percent-encoded filename*) cannot be encoded into a header.
    .replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '\ufffd')
    .replace(/\s+/g, ' ')
    .trim();
  const short = Array.from(clean).slice(0, 200).join('').trim();
  return short === '' || short === '.' || short === '..' ? 'upload.csv' : short;
}
