/**
 * The public IBM Telco Customer Churn file (data/telco-customer-churn.csv, 7,043 customers) that
 * the end-to-end tests upload, read once per test file.
 */
import { once } from 'node:events';
import { createWriteStream, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
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

const TELCO_LINES = telcoText.trimEnd().split(/\r?\n/);
const TELCO_COLUMNS = (TELCO_LINES[0] as string).split(',');

/** A Telco line with some columns set (Telco has no quoted cells). */
export function telcoWithValues(line: string, values: Record<string, string>): string {
  const cells = line.split(',');
  for (const [name, value] of Object.entries(values)) cells[TELCO_COLUMNS.indexOf(name)] = value;
  return cells.join(',');
}

/** Telco values of a customer about to leave: new, monthly, fiber, no support, paying by check. */
export const RISKY_CUSTOMER = {
  tenure: '1',
  Contract: 'Month-to-month',
  InternetService: 'Fiber optic',
  OnlineSecurity: 'No',
  TechSupport: 'No',
  PaymentMethod: 'Electronic check',
  PaperlessBilling: 'Yes',
  MonthlyCharges: '99.5',
  TotalCharges: '99.5',
};
/** And of one who stays: years on a two-year contract, with support, paying automatically. */
export const SAFE_CUSTOMER = {
  tenure: '70',
  Contract: 'Two year',
  InternetService: 'DSL',
  OnlineSecurity: 'Yes',
  TechSupport: 'Yes',
  PaymentMethod: 'Bank transfer (automatic)',
  PaperlessBilling: 'No',
  MonthlyCharges: '55',
  TotalCharges: '3850',
};

/**
 * Telco a month later, given each customer's tier in the first scoring: `risky` low-risk
 * customers turn risky, as many high-risk ones turn safe, `dropped` medium ones leave, and the
 * `added` ids join as risky customers.
 */
export function telcoNextMonth(
  tierOf: (id: string) => string | undefined,
  options: { risky: number; dropped: number; added: readonly string[] },
) {
  const madeRisky: string[] = [];
  const madeSafe: string[] = [];
  const dropped: string[] = [];
  const lines: string[] = [];
  for (const line of TELCO_LINES.slice(1)) {
    const id = line.slice(0, line.indexOf(','));
    const tier = tierOf(id);
    if (tier === 'low' && madeRisky.length < options.risky) {
      madeRisky.push(id);
      lines.push(telcoWithValues(line, RISKY_CUSTOMER));
    } else if (tier === 'high' && madeSafe.length < options.risky) {
      madeSafe.push(id);
      lines.push(telcoWithValues(line, SAFE_CUSTOMER));
    } else if (tier === 'medium' && dropped.length < options.dropped) {
      dropped.push(id);
    } else {
      lines.push(line);
    }
  }
  const template = TELCO_LINES[1] as string;
  for (const id of options.added) {
    lines.push(telcoWithValues(`${id}${template.slice(template.indexOf(','))}`, RISKY_CUSTOMER));
  }
  return { csv: [TELCO_LINES[0], ...lines].join('\n'), lines, madeRisky, madeSafe, dropped };
}

/**
 * The Telco file repeated to `rows` customers, each id made unique with the repetition number
 * (7590-VHVEG-000, 7590-VHVEG-001, ...); returns its path.
 */
export async function writeTelcoRows(rows: number): Promise<string> {
  const [header, ...lines] = telcoText.trimEnd().split(/\r?\n/);
  const file = path.join(tmpdir(), `churnline-${rows}-rows-${process.pid}-${Date.now()}.csv`);
  const out = createWriteStream(file);
  out.write(`${header}\n`);
  let written = 0;
  for (let repeat = 0; written < rows; repeat++) {
    const suffix = `-${String(repeat).padStart(3, '0')},`;
    const chunk: string[] = [];
    for (const line of lines) {
      if (written === rows) break;
      const comma = line.indexOf(',');
      chunk.push(line.slice(0, comma) + suffix + line.slice(comma + 1));
      written++;
    }
    if (!out.write(`${chunk.join('\n')}\n`)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
  return file;
}
