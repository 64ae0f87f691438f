/**
 * The public IBM Telco Customer Churn file (data/telco-customer-churn.csv, 7,043 customers) that
 * the end-to-end tests upload, read once per test file.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const TELCO_PATH = fileURLToPath(
  new URL('../../data/telco-customer-churn.csv', import.meta.url),
);
/** The file's bytes, as a browser or curl would upload them. */
export const telcoCsv: Buffer = readFileSync(TELCO_PATH);
/** The same as text. */
export const telcoText: string = telcoCsv.toString('utf8');

/** The synthetic SaaS export (data/saas-customers.csv): a team's own data, not Telco-shaped. */
export const saasText: string = readFileSync(
  fileURLToPath(new URL('../../data/saas-customers.csv', import.meta.url)),
  'utf8',
);
