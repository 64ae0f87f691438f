import { describe, expect, it } from 'vitest';
import { csvCell, csvLine } from './csv-writer.js';
import { categoryKey, currencyOf, isMissing, parseBoolean, parseNumber } from './values.js';

describe('value parsing', () => {
  it.each([
    ['42', 42],
    ['-3.5', -3.5],
    ['$1,234.50', 1234.5],
    ['1.234,50 €', 1234.5],
    ['€ 12,5', 12.5],
    ['1,234', 1234],
    ['1,234,567', 1234567],
    ['1.234.567', 1234567],
    ['(12.00)', -12],
    ['USD 99', 99],
    [' 7 ', 7],
    ['1e3', 1000],
  ])('reads %j as %d', (raw, expected) => {
    expect(parseNumber(raw)).toBe(expected);
  });

  it('reads "1,234" as a decimal in comma-decimal files, and other numbers as usual', () => {
    expect(parseNumber('1,234', true)).toBe(1.234);
    expect(parseNumber('1.234,5', true)).toBe(1234.5);
    expect(parseNumber('29.85', true)).toBe(29.85);
    expect(parseNumber('1,234,567', true)).toBe(1234567);
  });

  it.each(['abc', '12abc4', '1.2.3', '--1', ''])('refuses %j as a number', (raw) => {
    expect(parseNumber(raw)).toBeNaN();
  });

  it('reads yes/no spellings and refuses others', () => {
    for (const yes of ['Yes', 'YES', 'true', 'T', '1', ' y ']) expect(parseBoolean(yes)).toBe(1);
    for (const no of ['No', 'false', 'F', '0', 'n']) expect(parseBoolean(no)).toBe(0);
    expect(parseBoolean('maybe')).toBeUndefined();
  });

  it('treats blanks and the usual "no value" words as missing', () => {
    for (const blank of ['', '  ', 'NA', 'n/a', 'null', 'NaN', '-', '#N/A']) {
      expect(isMissing(blank)).toBe(true);
    }
    for (const value of ['0', 'No', 'none of them', 'Month-to-month']) {
      expect(isMissing(value)).toBe(false);
    }
  });

  it('compares categories without case or extra spaces', () => {
    expect(categoryKey('  Fiber   Optic ')).toBe('fiber optic');
  });
});

describe('CSV cells', () => {
  it('neutralises cells a spreadsheet would run as formulas', () => {
    expect(csvCell('=HYPERLINK("x")')).toBe(`"'=HYPERLINK(""x"")"`);
    expect(csvCell('+cmd')).toBe("'+cmd");
    expect(csvCell('-1+2')).toBe("'-1+2");
    expect(csvCell('@SUM(A1)')).toBe("'@SUM(A1)");
    expect(csvCell('\tx')).toBe("'\tx");
    expect(csvCell('\rx')).toBe(`"'\rx"`);
  });

  it('keeps plain numbers, including negative ones, as numbers', () => {
    expect(csvCell('-12.5')).toBe('-12.5');
    expect(csvCell('+3')).toBe('+3');
  });

  it('quotes cells with commas, quotes or line breaks', () => {
    expect(csvLine(['a,b', 'say "x"', 'l1\nl2', 'plain'])).toBe(
      '"a,b","say ""x""","l1\nl2",plain\n',
    );
  });
});

describe('currencies', () => {
  it('are read from a money value or a header: a symbol or a three-letter code', () => {
    expect(currencyOf('$1,234.50')).toBe('$');
    expect(currencyOf('1.234,50 €')).toBe('€');
    expect(currencyOf('GBP 12')).toBe('GBP');
    expect(currencyOf('12 EUR')).toBe('EUR');
    expect(currencyOf('MRR ($)')).toBe('$');
    expect(currencyOf('MRR (USD)')).toBe('USD');
    expect(currencyOf('Revenue [CHF]')).toBe('CHF');
    for (const none of ['1234.50', 'MonthlyCharges', 'MRR', 'ARR usd', 'NPS']) {
      expect(currencyOf(none)).toBeUndefined();
    }
  });
});
