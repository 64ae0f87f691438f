import path from 'node:path';
import type { Command } from 'commander';
import {
  createLocalToken,
  MAX_LOCAL_TOKEN_TTL_SECONDS,
  writeLocalKeyPair,
} from '../../api/auth/local-key.js';
import { parseConfig } from '../../config/index.js';
import { isUserId } from '../../ids.js';
import { UsageError } from '../errors.js';

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400 };

/** Parses a lifetime like 3600, 90m, 12h or 30d into seconds (1 s to 365 d). */
export function parseTtl(value: string): number {
  const match = /^(\d{1,9})([smhd]?)$/.exec(value.trim());
  const seconds = match ? Number(match[1]) * (UNIT_SECONDS[match[2] || 's'] ?? 1) : Number.NaN;
  if (!(seconds >= 1 && seconds <= MAX_LOCAL_TOKEN_TTL_SECONDS)) {
    throw new UsageError(
      `--ttl must be a lifetime like 3600 (seconds), 90m, 12h or 30d, from 1s to 365d; got ${JSON.stringify(value)}.`,
    );
  }
  return seconds;
}

function userId(value: string): string {
  if (!isUserId(value)) {
    throw new UsageError(
      `--user must be a user id: 1-128 letters, digits or _ | @ . : - (no "/" or ".."); got ${JSON.stringify(value)}.`,
    );
  }
  return value;
}

export function registerTokenCommands(program: Command): void {
  const token = program
    .command('token')
    .description(
      "Make API tokens signed with your own key (the data directory's, or AUTH_KEY_FILE).",
    );
  token
    .command('create')
    .description(
      "Print a bearer token for a user, signed with AUTH_KEY_FILE's private key, or else the data directory's key (created if missing).",
    )
    .option(
      '--key <private.jwk>',
      'sign with this private key file (from churnline token keygen) instead of AUTH_KEY_FILE',
    )
    .requiredOption('--user <id>', 'the user id the token is for (its "sub")', userId)
    .option(
      '--ttl <lifetime>',
      'how long the token is valid: 3600, 90m, 12h, 30d',
      parseTtl,
      30 * 86_400,
    )
    .action(async (options: { user: string; ttl: number; key?: string }) => {
      const config = parseConfig(process.env);
      // The API checks tokens against the identity provider then, so a local token would be refused.
      if (config.auth.mode !== 'local') {
        throw new UsageError(
          'AUTH_JWKS_URL is set, so the API accepts only tokens from your identity provider; unset it to use tokens of your own key (AUTH_KEY_FILE).',
        );
      }
      const jwt = await createLocalToken({
        dataDir: config.dataDir,
        keyFile: options.key === undefined ? config.auth.keyFile : path.resolve(options.key),
        userId: options.user,
        ttlSeconds: options.ttl,
      });
      process.stdout.write(`${jwt}\n`);
    });

  token
    .command('keygen')
    .description(
      'Create a key pair several machines share: the private key signs tokens (keep it where you make them), the public one verifies them (give every API AUTH_KEY_FILE=<public.jwk>).',
    )
    .argument('<private.jwk>', 'where to write the private key (mode 0600; must not exist)')
    .option(
      '--public <public.jwk>',
      'where to write the public key (default: the private file name with .public.jwk)',
    )
    .action(async (privateFile: string, options: { public?: string }) => {
      const publicFile =
        options.public ?? privateFile.replace(/(\.private)?(\.jwk|\.json)?$/, '.public.jwk');
      const { kid } = await writeLocalKeyPair(privateFile, publicFile);
      process.stdout.write(
        `Created key ${kid}:\n` +
          `  ${privateFile}  private: signs tokens (churnline token create --key ${privateFile}); keep it secret\n` +
          `  ${publicFile}  public: copy it to every API and set AUTH_KEY_FILE=${path.resolve(publicFile)}\n`,
      );
    });
}
