import { describe, expect, it } from 'vitest';
import { attachment } from './headers.js';

describe('Content-Disposition', () => {
  it('gives an ASCII fallback and the exact name in RFC 8187 form', () => {
    expect(attachment('scored.csv')).toBe(
      `attachment; filename="scored.csv"; filename*=UTF-8''scored.csv`,
    );
    // RFC 8187 attr-char leaves out ( ) ' * and space; quotes and backslashes cannot end the
    // quoted fallback early.
    expect(attachment(`Q1 (final) "v2"\\é.csv`)).toBe(
      `attachment; filename="Q1 (final) _v2___.csv"; filename*=UTF-8''Q1%20%28final%29%20%22v2%22%5C%C3%A9.csv`,
    );
    expect(attachment('Отток 50%.csv')).toBe(
      `attachment; filename="_____ 50_.csv"; filename*=UTF-8''%D0%9E%D1%82%D1%82%D0%BE%D0%BA%2050%25.csv`,
    );
    expect(attachment('a\r\nX-Injected: 1.csv')).not.toMatch(/[\r\n]/);
  });
});
