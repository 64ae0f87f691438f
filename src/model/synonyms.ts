/**
 * Other names that customer exports commonly use for the fields of a churn model, by normalised
 * header. A model file stores each field's synonyms, so a file with "Monthly Fee ($)" still
 * finds `MonthlyCharges`.
 */
import { normaliseHeader } from './headers.js';

const COMMON_SYNONYMS: Record<string, readonly string[]> = {
  gender: ['sex'],
  seniorcitizen: ['senior', 'issenior', 'age65plus'],
  partner: ['haspartner', 'married'],
  dependents: ['hasdependents'],
  tenure: [
    'tenuremonths',
    'monthsasacustomer',
    'monthswithcompany',
    'monthsactive',
    'customermonths',
  ],
  phoneservice: ['phone', 'hasphoneservice'],
  multiplelines: ['multiphonelines', 'multiplephonelines'],
  internetservice: ['internet', 'internettype', 'internetplan'],
  onlinesecurity: ['security'],
  onlinebackup: ['backup'],
  deviceprotection: ['deviceprotectionplan', 'protectionplan'],
  techsupport: ['premiumtechsupport', 'support'],
  streamingtv: ['tvstreaming'],
  streamingmovies: ['moviestreaming'],
  contract: ['contracttype', 'plantype', 'contractterm'],
  paperlessbilling: ['paperless', 'ebilling'],
  paymentmethod: ['paymenttype', 'payment', 'billingmethod'],
  monthlycharges: ['monthlycharge', 'monthlyfee', 'monthlybill', 'monthlyamount', 'mrc'],
  totalcharges: ['totalcharge', 'lifetimecharges', 'totalspend', 'totalbilled', 'totalrevenue'],
};

/** The column's own normalised name first, then the known synonyms for it. */
export function synonymsFor(header: string): string[] {
  const own = normaliseHeader(header);
  return [own, ...(COMMON_SYNONYMS[own] ?? []).filter((synonym) => synonym !== own)];
}

/**
 * Normalised headers of a column that holds a customer's monthly revenue, most specific first. Not
 * a model field: the summary uses it to put a price on the risk (see score-batch.ts).
 */
export const MONTHLY_REVENUE_SYNONYMS: readonly string[] = [
  'monthlyrevenue',
  'mrr',
  'monthlyrecurringrevenue',
  'monthlycharges',
  'monthlycharge',
  'monthlyspend',
  'monthlyfee',
  'monthlybill',
  'monthlyamount',
  'mrc',
  // Exports in other languages: German, French, Spanish, Italian, Portuguese, Dutch.
  'monatsbeitrag',
  'monatlicherbeitrag',
  'monatsumsatz',
  'monatsgebuhr',
  'monatlichekosten',
  'mensualite',
  'cotisationmensuelle',
  'abonnementmensuel',
  'revenumensuel',
  'cuotamensual',
  'importemensual',
  'ingresomensual',
  'canonemensile',
  'importomensile',
  'mensalidade',
  'receitamensal',
  'maandbedrag',
  'maandelijksekosten',
];

/** Index of the header holding monthly revenue (the first synonym found wins), or -1. */
export function monthlyRevenueColumn(headers: readonly string[]): number {
  const normalised = headers.map(normaliseHeader);
  for (const synonym of MONTHLY_REVENUE_SYNONYMS) {
    const found = normalised.indexOf(synonym);
    if (found !== -1) return found;
  }
  return -1;
}
