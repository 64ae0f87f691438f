/**
 * `churnline quota show|set|clear --user <id>`: an operator's per-user limits, stored in the
 * database (both engines), over the defaults from the environment. API processes read a user's
 * limits at each check; the rate limit within a minute (src/api/quotas.ts).
 */
import type { Command } from 'commander';
import type { ZodType } from 'zod';
import { parseConfig } from '../../config/index.js';
import { quotaEnv } from '../../config/quotas.js';
import type { Db } from '../../db/connect.js';
import {
  clearQuotaOverrides,
  findQuotaOverrides,
  type QuotaOverridesChange,
  setQuotaOverrides,
} from '../../db/quotas.js';
import { UsageError } from '../errors.js';

async function withDatabase<T>(use: (db: Db) => Promise<T>): Promise<T> {
  const config = parseConfig(process.env);
  const { openDatabase } = await import('../../app.js');
  const db = await openDatabase(config);
  try {
    return await use(db);
  } finally {
    await db.destroy();
  }
}

const print = (value: unknown): void => {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
};

const UNITS: Record<string, number> = { kib: 1024, mib: 1024 ** 2, gib: 1024 ** 3, tib: 1024 ** 4 };

/**
 * A flag's value: `default` (back to the environment's), else checked as its variable is. Kept as
 * the word until the action: Commander turns a parser's null into an empty string.
 */
function limitValue(flag: string, schema: ZodType, bytes = false) {
  return (raw: string): number | 'default' => {
    if (raw === 'default') return 'default';
    let value: string | number = raw;
    const sized = bytes ? /^(\d+(?:\.\d+)?)\s*(KiB|MiB|GiB|TiB)$/i.exec(raw) : null;
    if (sized?.[1] && sized[2]) {
      value = Math.round(Number(sized[1]) * (UNITS[sized[2].toLowerCase()] as number));
    }
    const parsed = schema.safeParse(value);
    if (!parsed.success) {
      const why = parsed.error.issues[0]?.message ?? 'is not accepted';
      throw new UsageError(
        `${flag} ${JSON.stringify(raw)}: ${why}; or "default" for the configured default.`,
      );
    }
    return parsed.data as number;
  };
}

type Limit = number | 'default' | undefined;

interface SetOptions {
  user: string;
  storedBytes?: Limit;
  uploadsPerDay?: Limit;
  activeJobs?: Limit;
  rate?: Limit;
  burst?: Limit;
}

/** The change a flag asks for: absent keeps the value, `default` clears it (null). */
const changeOf = (value: Limit) => (value === 'default' ? null : value);

export function registerQuotaCommands(program: Command): void {
  const quota = program
    .command('quota')
    .description("A user's own limits over the configured defaults (QUOTA_*, RATE_LIMIT_*).");
  quota
    .command('show')
    .description("Print a user's limits in force, their own overrides and their use (JSON).")
    .requiredOption('--user <id>', "the user's id (the token's sub)")
    .action((options: { user: string }) =>
      withDatabase(async (db) => {
        const config = parseConfig(process.env);
        const { Quotas } = await import('../../api/quotas.js');
        const { usage, limits } = await new Quotas(db, config.quotas).usage(options.user);
        const { dayStart: _start, dayEnd, ...used } = usage;
        print({
          user: options.user,
          limits,
          overrides: (await findQuotaOverrides(db, options.user)) ?? {},
          usage: { ...used, uploadsResetAt: dayEnd.toISOString() },
        });
      }),
    );
  quota
    .command('set')
    .description(
      'Set some of a user\'s limits (0: unlimited; "default": back to the configured default).',
    )
    .requiredOption('--user <id>', "the user's id (the token's sub)")
    .option(
      '--stored-bytes <n>',
      'bytes of uploads and results (or 50GiB, 500MiB)',
      limitValue('--stored-bytes', quotaEnv.QUOTA_STORED_BYTES, true),
    )
    .option(
      '--uploads-per-day <n>',
      'uploads a UTC day',
      limitValue('--uploads-per-day', quotaEnv.QUOTA_UPLOADS_PER_DAY),
    )
    .option(
      '--active-jobs <n>',
      'predictions queued or running plus trainings',
      limitValue('--active-jobs', quotaEnv.QUOTA_ACTIVE_JOBS),
    )
    .option('--rate <n>', 'requests a second', limitValue('--rate', quotaEnv.RATE_LIMIT_PER_SECOND))
    .option('--burst <n>', 'requests at once', limitValue('--burst', quotaEnv.RATE_LIMIT_BURST))
    .action((options: SetOptions) => {
      const asked: QuotaOverridesChange = {
        storedBytes: changeOf(options.storedBytes),
        uploadsPerDay: changeOf(options.uploadsPerDay),
        activeJobs: changeOf(options.activeJobs),
        ratePerSecond: changeOf(options.rate),
        rateBurst: changeOf(options.burst),
      };
      const change = Object.fromEntries(
        Object.entries(asked).filter(([, value]) => value !== undefined),
      ) as QuotaOverridesChange;
      if (Object.keys(change).length === 0) {
        throw new UsageError(
          'quota set changes nothing: give at least one of --stored-bytes, --uploads-per-day, --active-jobs, --rate, --burst.',
        );
      }
      return withDatabase(async (db) =>
        print({ user: options.user, overrides: await setQuotaOverrides(db, options.user, change) }),
      );
    });
  quota
    .command('clear')
    .description("Remove a user's own limits: the configured defaults apply again.")
    .requiredOption('--user <id>', "the user's id (the token's sub)")
    .action((options: { user: string }) =>
      withDatabase(async (db) =>
        print({ user: options.user, cleared: await clearQuotaOverrides(db, options.user) }),
      ),
    );
}
