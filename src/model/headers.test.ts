import { describe, expect, it } from 'vitest';
import { CsvInputError } from './errors.js';
import { looksLikeIdentifier, mapColumns, normaliseHeader } from './headers.js';
import { synonymsFor } from './synonyms.js';

const fields = ['tenure', 'MonthlyCharges', 'Contract'].map((name) => ({
  field: name,
  synonyms: synonymsFor(name),
}));

describe('header mapping', () => {
  it('normalises case, spaces, punctuation and units', () => {
    expect(normaliseHeader('Monthly Charges ($)')).toBe('monthlycharges');
    expect(normaliseHeader('monthly_charges')).toBe('monthlycharges');
    expect(normaliseHeader('\uFEFFMonthlyCharges')).toBe('monthlycharges');
    expect(normaliseHeader('Tenure [months]')).toBe('tenure');
  });

  it('maps columns through synonyms and reports the extra ones as unused', () => {
    const mapping = mapColumns(
      ['Customer ID', 'Contract Type', 'Monthly Fee (€)', 'Tenure (months)', 'Region'],
      fields,
    );
    expect(Object.fromEntries(mapping.fieldColumns)).toEqual({
      tenure: 3,
      MonthlyCharges: 2,
      Contract: 1,
    });
    expect(mapping.unusedColumns).toEqual(['Customer ID', 'Region']);
  });

  it('lists what is missing, the closest headers and everything found', () => {
    let error: unknown;
    try {
      mapColumns(['tenur', 'Monthly Charge', 'Region'], fields);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(CsvInputError);
    expect((error as Error).message).toBe(
      'the file lacks 2 required columns: tenure (closest: "tenur"); Contract. Found: "tenur", "Monthly Charge", "Region".',
    );
  });

  it('recognises identifier columns', () => {
    for (const id of ['customerID', 'Customer Id', 'account_number', 'id', 'user_uuid']) {
      expect(looksLikeIdentifier(id)).toBe(true);
    }
    for (const feature of ['tenure', 'PaymentMethod', 'paid', 'Contract']) {
      expect(looksLikeIdentifier(feature)).toBe(false);
    }
  });
});
