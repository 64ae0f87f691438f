import { parseArgs } from 'node:util';
import { SYSTEM_IDS, type SystemId } from './systems/system.js';

export interface BenchConfig {
  readonly systems: readonly SystemId[];
  /** Each case runs this many times per system; the table shows the median. */
  readonly repeats: number;
  /** Messages per run of the one-message-at-a-time cases. */
  readonly singleCount: number;
  /** Messages per run of the batch-of-10 cases. */
  readonly batchCount: number;
  /** Wake-up samples for systems whose idle consumer blocks or polls often. */
  readonly latencySamples: number;
  /** Wake-up samples for pg-boss, whose worker polls only every 0.5 s (each sample costs ~0.5 s). */
  readonly pgBossLatencySamples: number;
  /** Consumer processes in the multi-process cases. */
  readonly consumerProcesses: number;
}

const OPTIONS = {
  systems: { env: 'BENCH_QUEUE_SYSTEMS', fallback: SYSTEM_IDS.join(',') },
  repeats: { env: 'BENCH_QUEUE_REPEATS', fallback: '3' },
  'single-count': { env: 'BENCH_QUEUE_SINGLE_COUNT', fallback: '2000' },
  'batch-count': { env: 'BENCH_QUEUE_BATCH_COUNT', fallback: '6000' },
  'latency-samples': { env: 'BENCH_QUEUE_LATENCY_SAMPLES', fallback: '200' },
  'pgboss-latency-samples': { env: 'BENCH_QUEUE_PGBOSS_LATENCY_SAMPLES', fallback: '20' },
  consumers: { env: 'BENCH_QUEUE_CONSUMERS', fallback: '4' },
} as const;

type OptionName = keyof typeof OPTIONS;

export const USAGE = `npm run bench:queue -- [options]   (each option also reads the env variable shown)
  --systems=churnline,pgboss,bullmq  BENCH_QUEUE_SYSTEMS                 systems to run (default all)
  --repeats=3                        BENCH_QUEUE_REPEATS                 runs per case; the median is shown
  --single-count=2000                BENCH_QUEUE_SINGLE_COUNT            messages per single-message run
  --batch-count=6000                 BENCH_QUEUE_BATCH_COUNT             messages per batch-of-10 run
  --latency-samples=200              BENCH_QUEUE_LATENCY_SAMPLES         wake-up samples (churnline, BullMQ)
  --pgboss-latency-samples=20        BENCH_QUEUE_PGBOSS_LATENCY_SAMPLES  wake-up samples (pg-boss polls every 0.5 s)
  --consumers=4                      BENCH_QUEUE_CONSUMERS               processes in the multi-process cases`;

/** Flags win over environment variables, which win over the defaults. */
export function parseConfig(argv: readonly string[], env: NodeJS.ProcessEnv): BenchConfig {
  const flags: Record<string, { type: 'string' } | { type: 'boolean' }> = {
    help: { type: 'boolean' },
  };
  for (const name of Object.keys(OPTIONS)) flags[name] = { type: 'string' };
  const values: Record<string, string | boolean | undefined> = parseArgs({
    args: [...argv],
    options: flags,
    strict: true,
  }).values;
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const raw = (name: OptionName): string =>
    (values[name] as string | undefined) ?? env[OPTIONS[name].env] ?? OPTIONS[name].fallback;
  const count = (name: OptionName, min: number): number => {
    const value = Number(raw(name));
    if (!Number.isInteger(value) || value < min) {
      throw new Error(
        `--${name} / ${OPTIONS[name].env} must be a whole number >= ${min}; got ${JSON.stringify(raw(name))}.`,
      );
    }
    return value;
  };
  const systems = raw('systems')
    .split(',')
    .map((name) => name.trim())
    .filter(Boolean);
  for (const name of systems) {
    if (!SYSTEM_IDS.includes(name as SystemId)) {
      throw new Error(
        `Unknown system ${JSON.stringify(name)}; choose from ${SYSTEM_IDS.join(', ')}.`,
      );
    }
  }
  const batchCount = count('batch-count', 10);
  if (batchCount % 10 !== 0) throw new Error('--batch-count must be a multiple of 10.');
  return {
    systems: SYSTEM_IDS.filter((id) => systems.includes(id)),
    repeats: count('repeats', 1),
    singleCount: count('single-count', 1),
    batchCount,
    latencySamples: count('latency-samples', 1),
    pgBossLatencySamples: count('pgboss-latency-samples', 1),
    consumerProcesses: count('consumers', 1),
  };
}
