import { describe, expect, it } from 'vitest';
import { ByteOutput, utf8Bytes } from './byte-output.js';
import { seededRandom } from './cross-validation.js';
import { PROBABILITY_SCALE, writeProbability } from './score-batch.js';
import { parseNumber } from './values.js';

const decode = (bytes: Uint8Array) => new TextDecoder('utf-8', { fatal: true }).decode(bytes);

describe('output bytes', () => {
  it('writes text as UTF-8, growing as needed, and copies bytes', () => {
    const out = new ByteOutput(4);
    out.text('plain ASCII, ');
    out.text('then Zoë and 𝄞 and € ');
    out.bytes(utf8Bytes('cached ü; '));
    out.bytes(utf8Bytes('x'.repeat(100)));
    const source = utf8Bytes('<abc>');
    out.copy(source, 1, 4);
    out.byte(0x0a);
    expect(decode(out.take())).toBe(
      `plain ASCII, then Zoë and 𝄞 and € cached ü; ${'x'.repeat(100)}abc\n`,
    );
    expect(out.take()).toHaveLength(0);
  });

  it('writes a probability exactly as toFixed(4) does, and its ten-thousandths as written', () => {
    const random = seededRandom(7);
    const probabilities = [0, -0, 1, 0.5, 1e-9, 0.99995, 0.00005, 0.12345, 0.00015, 0.99994999];
    // Ties of the fourth decimal and their floating-point neighbours.
    for (let n = 0; n < PROBABILITY_SCALE; n += 37) {
      const tie = (n + 0.5) / PROBABILITY_SCALE;
      probabilities.push(tie, tie + Number.EPSILON, tie - Number.EPSILON, n / PROBABILITY_SCALE);
    }
    for (let i = 0; i < 20_000; i++) probabilities.push(random());
    const out = new ByteOutput();
    for (const probability of probabilities) {
      const scaled = writeProbability(out, probability);
      const written = probability.toFixed(4);
      expect(decode(out.take())).toBe(written);
      expect(scaled).toBe(Math.round(Number(written) * PROBABILITY_SCALE));
    }
  });

  it('reads the usual spelling of a number by its fast path as before', () => {
    const cases: Array<[string, number]> = [
      ['0', 0],
      ['-0', -0],
      ['12', 12],
      ['-12.50', -12.5],
      ['007.10', 7.1],
      ['12.', 12],
      ['.5', 0.5],
      ['1e3', 1000],
      ['-', Number.NaN],
      ['', Number.NaN],
      ['1-2', Number.NaN],
      ['1.2.3', Number.NaN],
    ];
    for (const [raw, value] of cases) expect(parseNumber(raw)).toBe(value);
  });
});
