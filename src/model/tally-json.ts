/**
 * A chunk's counts as JSON, stored with the chunk (src/jobs/chunks.ts) until the last chunk is
 * in and they are added up into the prediction's summary: bigints as decimal strings, maps as
 * their entries.
 */
import type { Tally } from './score-batch.js';
import type { FileFacts } from './score-stream.js';

/** Tally with its bigints and maps in JSON's terms; derived, so the two cannot drift apart. */
export type TallyJson = Omit<Tally, 'revenue' | 'reasonCounts' | 'unknownCategories'> & {
  revenue: { cents: string; lossMicros: string; highCents: string; currencies: [string, number][] };
  reasonCounts: [string, number][];
  unknownCategories: [string, number][];
};

/** What a scored chunk keeps: its counts and what it saw of the file. */
export interface ChunkCounts {
  tally: TallyJson;
  facts: FileFacts;
}

export function tallyToJson(tally: Tally): TallyJson {
  const { revenue } = tally;
  return {
    ...tally,
    revenue: {
      cents: revenue.cents.toString(),
      lossMicros: revenue.lossMicros.toString(),
      highCents: revenue.highCents.toString(),
      currencies: [...revenue.currencies],
    },
    reasonCounts: [...tally.reasonCounts],
    unknownCategories: [...tally.unknownCategories],
  };
}

export function tallyFromJson(json: TallyJson): Tally {
  const { revenue } = json;
  return {
    ...json,
    revenue: {
      cents: BigInt(revenue.cents),
      lossMicros: BigInt(revenue.lossMicros),
      highCents: BigInt(revenue.highCents),
      currencies: new Map(revenue.currencies),
    },
    reasonCounts: new Map(json.reasonCounts),
    unknownCategories: new Map(json.unknownCategories),
  };
}
