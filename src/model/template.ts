/**
 * An example file for a model: its inputs as columns and three made-up customers whose values
 * the model reads, so a user can see the expected names and formats before exporting.
 */
import { csvLine } from './csv-writer.js';
import { epochDays, isoOfEpochDays } from './dates.js';
import type { ModelColumn, ModelFile } from './model-file.js';

/** Three customers: the typical one, then one and two steps away from it. */
const EXAMPLES = 3;

function exampleValue(column: ModelColumn, example: number, asOfDays: number): string {
  if (column.kind === 'boolean') {
    const usual = column.mean >= 0.5;
    return (example === 1 ? !usual : usual) ? column.trueLabel : column.falseLabel;
  }
  if (column.kind === 'categorical') {
    const levels = column.levels
      .filter((level) => level.key !== '')
      .sort((a, b) => b.frequency - a.frequency || (a.key < b.key ? -1 : 1));
    return levels[example % Math.max(1, levels.length)]?.label ?? '';
  }
  const linear = column.terms.find((term) => term.transform === 'linear') ?? column.terms[0];
  const centre = linear?.transform === 'linear' ? linear.mean : 0;
  const spread = linear?.transform === 'linear' ? linear.scale : 1;
  const step = [0, -0.75, 0.75][example % EXAMPLES] ?? 0;
  const value = Math.max(0, centre + step * spread);
  if (column.source?.kind === 'date') {
    return isoOfEpochDays(asOfDays - value).slice(0, 10);
  }
  if (column.source?.kind === 'duration') return `${Math.round(value)} days`;
  return Number.isInteger(centre) || spread >= 10 ? String(Math.round(value)) : value.toFixed(2);
}

export function templateCsv(model: ModelFile, asOfDays = epochDays(Date.now())): string {
  const rows = [model.columns.map((column) => column.name)];
  for (let example = 0; example < EXAMPLES; example++) {
    rows.push(model.columns.map((column) => exampleValue(column, example, asOfDays)));
  }
  return rows.map((row) => csvLine(row)).join('');
}
