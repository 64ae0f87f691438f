import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { API_TYPES_FILE, generateApiTypes } from '../../web/scripts/api-types.js';

describe("the dashboard's API types", () => {
  it('match the OpenAPI document the API serves today (else run: npm run web:types)', async () => {
    const committed = readFileSync(API_TYPES_FILE, 'utf8');
    const current = await generateApiTypes();
    // One line of advice rather than a diff of a 500-line file when they differ.
    expect(
      committed === current,
      'web/src/api-types.ts is stale: run `npm run web:types` and commit it',
    ).toBe(true);
  });
});
