/**
 * The harness every test/faults-*.test.ts file shares: one local AWS (fauxqs) for the file, its
 * credentials in process.env (restored afterwards), and after each test the child processes it
 * tracked killed, its setups stopped and its other clean-ups run, in that order (a setup's pools
 * close before, say, the proxy in front of its database goes away).
 */
import type { ChildProcess } from 'node:child_process';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { type LocalAws, startLocalAws } from '../../src/aws/test-support/local-aws.js';
import { type FaultSetup, type SetupName, type SetupOptions, startSetup } from './fault-setups.js';

export interface FaultHarness {
  /** The file's local AWS; read it inside a test or hook (it starts in beforeAll). */
  readonly aws: LocalAws;
  /** Registers a child process to SIGKILL after the test, whatever happened; returns it. */
  track<T extends ChildProcess>(child: T): T;
  /** startSetup with the file's AWS; the setup is stopped after the test. */
  setup(name: SetupName, options?: Omit<SetupOptions, 'aws'>): Promise<FaultSetup>;
  /** Runs `cleanup` after the test, after its children and setups (last registered first). */
  afterTest(cleanup: () => Promise<void> | void): void;
}

/** Registers the hooks in the calling test file; call it once, at the top level. */
export function useFaultHarness(): FaultHarness {
  let aws: LocalAws | undefined;
  let savedEnv: NodeJS.ProcessEnv | undefined;
  const children: ChildProcess[] = [];
  const setups: FaultSetup[] = [];
  const cleanups: Array<() => Promise<void> | void> = [];

  beforeAll(async () => {
    savedEnv = { ...process.env };
    aws = await startLocalAws();
    process.env.AWS_ACCESS_KEY_ID = aws.credentials.accessKeyId;
    process.env.AWS_SECRET_ACCESS_KEY = aws.credentials.secretAccessKey;
  });
  afterEach(async () => {
    for (const child of children.splice(0)) child.kill('SIGKILL');
    for (const setup of setups.splice(0)) await setup.stop();
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });
  afterAll(async () => {
    if (savedEnv) process.env = savedEnv;
    await aws?.stop();
  });

  return {
    get aws() {
      if (!aws)
        throw new Error('the fault harness starts its LocalAws in beforeAll; read it later');
      return aws;
    },
    track(child) {
      children.push(child);
      return child;
    },
    async setup(name, options = {}) {
      const setup = await startSetup(name, { ...options, ...(aws ? { aws } : {}) });
      setups.push(setup);
      return setup;
    },
    afterTest(cleanup) {
      cleanups.push(cleanup);
    },
  };
}
