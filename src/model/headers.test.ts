import { describe, expect, it } from 'vitest';
import { CsvInputError } from './errors.js';
import { customerIdColumn, looksLikeIdentifier, mapColumns, normaliseHeader } from './headers.js';
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

  it('keeps letters of every script, so non-Latin headers stay apart', () => {
    expect(normaliseHeader('Отток клиента')).toBe('отток клиента'.replace(' ', ''));
    expect(normaliseHeader('解约')).toBe('解约');
    expect(normaliseHeader('Résilié ?')).toBe('resilie');
    expect(normaliseHeader('(churn)')).toBe('(churn)');
    const mapping = mapColumns(
      ['解约', 'Отток', 'tenure'],
      [
        { field: 'Отток', synonyms: synonymsFor('Отток') },
        { field: 'tenure', synonyms: synonymsFor('tenure') },
      ],
    );
    expect(Object.fromEntries(mapping.fieldColumns)).toEqual({ Отток: 1, tenure: 2 });
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

  it('names at most 40 headers found, each cut to 60 characters, however wide the file', () => {
    const headers = [`${'é'.repeat(61)}`, ...Array.from({ length: 10_000 }, (_, i) => `c${i}`)];
    let message = '';
    try {
      mapColumns(headers, fields);
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(
      /^the file lacks 3 required columns: tenure; MonthlyCharges; Contract\./,
    );
    expect(message).toContain(`Found: "${'é'.repeat(60)}…", "c0", `);
    expect(message).toMatch(/"c38" and 9,961 more\.$/);
    expect(message.length).toBeLessThan(600);
  });

  it('recognises identifier columns', () => {
    for (const id of ['customerID', 'Customer Id', 'account_number', 'id', 'user_uuid']) {
      expect(looksLikeIdentifier(id)).toBe(true);
    }
    for (const feature of ['tenure', 'PaymentMethod', 'paid', 'Contract']) {
      expect(looksLikeIdentifier(feature)).toBe(false);
    }
  });

  it('finds the customer id column of an export in any order of words and in other languages', () => {
    for (const id of [
      'Mitglied-Nr',
      'Kundennummer',
      'Mitgliedsnummer',
      'Numéro client',
      'N° client',
      'ID Socio',
      'Código cliente',
      'Client code',
      'Subscriber No.',
      'memberNumber',
    ]) {
      expect(customerIdColumn(['Club', id, 'Tarif']), id).toBe(1);
    }
    for (const other of [
      'Club-Nr',
      'Number of users',
      'No. of logins',
      'Zip code',
      'Postal Code',
      'Referral',
      'Tarif',
      'Users',
    ]) {
      expect(customerIdColumn(['Plan', other]), other).toBe(-1);
    }
    // A strict identifier wins wherever it stands.
    expect(customerIdColumn(['Mitglied-Nr', 'customerID'])).toBe(1);
  });
});
