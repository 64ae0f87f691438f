import type { ThroughputCase } from './cases.js';
import type { WakeupPlace } from './latency.js';
import { SYSTEM_LABELS, type SystemId } from './systems/system.js';

/** Linear interpolation between the closest ranks (p in 0..1). */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = (sorted.length - 1) * p;
  const low = Math.floor(rank);
  const high = Math.ceil(rank);
  return sorted[low]! + (sorted[high]! - sorted[low]!) * (rank - low);
}

export const median = (values: readonly number[]): number => percentile(values, 0.5);

export interface Results {
  /** Messages/s of every run, by case id then system. */
  readonly throughput: Map<string, Map<SystemId, number[]>>;
  /** Wake-up samples in ms, by system then place. */
  readonly wakeup: Map<SystemId, Map<WakeupPlace, number[]>>;
}

function rate(value: number | undefined): string {
  return value === undefined ? '—' : Math.round(value).toLocaleString('en-US');
}

function ratio(ours: number | undefined, peer: number | undefined): string {
  return ours === undefined || peer === undefined ? '—' : `${(ours / peer).toFixed(2)}×`;
}

function medianRate(results: Results, caseId: string, system: SystemId): number | undefined {
  const runs = results.throughput.get(caseId)?.get(system);
  return runs && runs.length > 0 ? median(runs) : undefined;
}

/** The one table: median messages/s per case and system, with our ratio to each peer. */
export function throughputTable(cases: readonly ThroughputCase[], results: Results): string {
  const header = [
    'case',
    `${SYSTEM_LABELS.churnline} msg/s`,
    `${SYSTEM_LABELS.pgboss} msg/s`,
    `${SYSTEM_LABELS.bullmq} msg/s`,
    'ours/pg-boss',
    'ours/BullMQ',
  ];
  const rows = cases.map((testCase) => {
    const [ours, pgBoss, bullMq] = (['churnline', 'pgboss', 'bullmq'] as const).map((system) =>
      medianRate(results, testCase.id, system),
    );
    return [
      testCase.label,
      rate(ours),
      rate(pgBoss),
      rate(bullMq),
      ratio(ours, pgBoss),
      ratio(ours, bullMq),
    ];
  });
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => row[column]!.length)),
  );
  const line = (cells: string[]) =>
    `| ${cells.map((cell, column) => (column === 0 ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!))).join(' | ')} |`;
  const rule = `|${widths.map((width, column) => (column === 0 ? '-'.repeat(width + 2) : `${'-'.repeat(width + 1)}:`)).join('|')}|`;
  return [line(header), rule, ...rows.map(line)].join('\n');
}

const ms = (value: number) => (value < 10 ? value.toFixed(2) : value.toFixed(1));

export function wakeupLines(results: Results): string[] {
  const lines: string[] = [];
  for (const [system, places] of results.wakeup) {
    for (const [place, samples] of places) {
      lines.push(
        `wake-up ${place.padEnd(13)} ${SYSTEM_LABELS[system].padEnd(9)} median ${ms(median(samples))} ms, p95 ${ms(percentile(samples, 0.95))} ms (n=${samples.length})`,
      );
    }
  }
  return lines;
}

/** The issue's goals, each stated with the figure that decides it. */
export function goalLines(cases: readonly ThroughputCase[], results: Results): string[] {
  const verdict = (met: boolean) => (met ? 'met' : 'NOT met');
  const lines: string[] = [];
  for (const testCase of cases.filter((each) => each.kind === 'consume')) {
    const ours = medianRate(results, testCase.id, 'churnline');
    const bull = medianRate(results, testCase.id, 'bullmq');
    if (ours === undefined || bull === undefined) continue;
    lines.push(
      `goal receive+delete >= BullMQ worker, ${testCase.label}: ${ratio(ours, bull)} — ${verdict(ours >= bull)}`,
    );
  }
  for (const testCase of cases.filter((each) => each.kind === 'consume' && each.batch === 10)) {
    const ours = medianRate(results, testCase.id, 'churnline');
    if (ours === undefined) continue;
    lines.push(
      `goal >= 15,000 msg/s with batches of 10, ${testCase.label}: ${rate(ours)} — ${verdict(ours >= 15_000)}`,
    );
  }
  const inProcess = results.wakeup.get('churnline')?.get('in-process');
  if (inProcess) {
    const value = median(inProcess);
    lines.push(
      `goal in-process long-poll wake-up < 5 ms median: ${ms(value)} ms — ${verdict(value < 5)}`,
    );
  }
  return lines;
}
