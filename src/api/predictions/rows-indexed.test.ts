import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FsBlobStore } from '../../blobs/fs.js';
import { newId, resultKey } from '../../ids.js';
import { csvLine } from '../../model/csv-writer.js';
import { loadModel } from '../../model/model-file.js';
import { scoreCsvStream } from '../../model/score-stream.js';
import { telcoRecords } from '../../model/test-support/telco.js';
import { decodeRowsIndex, type RowsIndex } from '../../results/rows-index.js';
import { RowsIndexBuilder } from '../../results/rows-index-builder.js';
import { type RowQuery, readResultRows } from './rows.js';
import { RowsIndexMismatchError, readIndexedRows } from './rows-indexed.js';

const USER = 'auth0|rows';
const telco = telcoRecords();
const idColumn = telco.headers.indexOf('customerID');
const tenure = telco.headers.indexOf('tenure');

class Collect extends Writable {
  chunks: Buffer[] = [];
  override _write(chunk: Buffer, _encoding: BufferEncoding, done: () => void) {
    this.chunks.push(Buffer.from(chunk));
    done();
  }
}

/**
 * Telco rows with what makes paging hard: many equal probabilities (rows repeat), rows that
 * were not scored, missing, duplicated, formula-like, quoted, multi-line and non-ASCII ids.
 */
function awkwardCsv(rows: number): { text: string; ids: string[] } {
  const ids: string[] = [];
  const records = Array.from({ length: rows }, (_, i) => {
    const row = [...(telco.rows[i % 400] as string[])];
    let id = `${row[idColumn]}-${i}`;
    if (i % 13 === 0) id = '';
    else if (i % 17 === 0) id = ids[i - 5] ?? 'dup';
    else if (i % 19 === 0) id = i % 2 ? `=cmd-${i}` : `-${i}x`;
    else if (i % 23 === 0) id = `Ünïcode-İd-${i}`;
    else if (i % 29 === 0) id = `quoted, "with"\nlines ${i}`;
    else if (i % 3 === 0) id = id.toLowerCase();
    row[idColumn] = id;
    ids.push(id);
    if (i % 31 === 0) row[tenure] = 'abc';
    return i % 37 === 0 ? row.slice(0, 4) : row;
  });
  return { text: [telco.headers, ...records].map((r) => csvLine(r)).join(''), ids };
}

let dir: string;
let blobs: FsBlobStore;
let key: string;
let index: RowsIndex;
let ids: string[];

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'churnline-rows-'));
  blobs = new FsBlobStore(dir);
  const csv = awkwardCsv(3000);
  ids = csv.ids;
  const output = new Collect();
  const builder = new RowsIndexBuilder();
  await scoreCsvStream([Buffer.from(csv.text)], output, await loadModel('telco-v1'), {
    rows: builder,
  });
  key = resultKey(USER, newId());
  await blobs.put(key, Buffer.concat(output.chunks));
  index = decodeRowsIndex(builder.finish());
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const streamed = async (query: RowQuery) => readResultRows(await blobs.get(key), query);

describe('pages served from the rows index', () => {
  it('equal the streamed pages for random filters, orders, offsets and limits', async () => {
    const prefix = fc.oneof(
      fc.constant(undefined),
      fc
        .tuple(fc.constantFrom(...ids.filter((id) => id !== '')), fc.integer({ min: 1, max: 6 }))
        .chain(([id, length]) =>
          fc.boolean().map((upper) => {
            const cut = id.slice(0, length);
            return upper ? cut.toUpperCase() : cut.toLowerCase();
          }),
        ),
      fc.string({ minLength: 1, maxLength: 3 }),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          tier: fc.constantFrom(undefined, 'high', 'medium', 'low'),
          customerId: prefix,
          sort: fc.constantFrom('probability_desc', 'probability_asc', 'row'),
          offset: fc.oneof(fc.integer({ min: 0, max: 40 }), fc.integer({ min: 0, max: 3100 })),
          limit: fc.integer({ min: 1, max: 500 }),
        }),
        async (generated) => {
          const query = Object.fromEntries(
            Object.entries(generated).filter(([, value]) => value !== undefined),
          ) as unknown as RowQuery;
          const fromIndex = await readIndexedRows(blobs, key, index, query);
          expect(fromIndex).toEqual(await streamed(query));
        },
      ),
      { numRuns: 60, seed: 20_260_601 },
    );
  });

  it('include unscored rows last, formula ids as written, and multi-line ids whole', async () => {
    const last = await readIndexedRows(blobs, key, index, {
      sort: 'probability_desc',
      offset: index.rows - 5,
      limit: 5,
    });
    expect(last.rows.every((row) => row.churnProbability === null && row.error !== null)).toBe(
      true,
    );
    const formula = await readIndexedRows(blobs, key, index, {
      sort: 'row',
      customerId: "'=CMD",
      offset: 0,
      limit: 5,
    });
    expect(formula.rows[0]?.customerId).toBe("'=cmd-19");
    const query: RowQuery = {
      sort: 'row',
      customerId: 'QUOTED, "WITH"\nLINES 29',
      offset: 0,
      limit: 5,
    };
    const quoted = await readIndexedRows(blobs, key, index, query);
    expect(quoted.rows[0]?.customerId).toBe('quoted, "with"\nlines 29');
    expect(quoted).toEqual(await streamed(query));
  });

  it('refuse a results file the index does not describe', async () => {
    const other = resultKey(USER, newId());
    await blobs.put(other, `${index.header}${'x,'.repeat(30)}\n`.repeat(3000));
    await expect(
      readIndexedRows(blobs, other, index, { sort: 'row', offset: 0, limit: 3 }),
    ).rejects.toThrow(RowsIndexMismatchError);
  });
});
