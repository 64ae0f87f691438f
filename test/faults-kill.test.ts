import { describe, expect, it } from 'vitest';
import { useFaultHarness } from './support/fault-harness.js';
import { exited, startFaultWorker, stopGracefully } from './support/fault-processes.js';
import { SETUPS } from './support/fault-setups.js';
import type { KillPoint } from './support/faults.js';
import { checkInvariants, describeReport } from './support/invariants.js';
import { startWorkerProcess, submitCsv } from './support/service.js';
import { telcoCsv as telco } from './support/telco.js';

const PREDICTIONS = 3;

const harness = useFaultHarness();
const { track } = harness;

/** Attempts per prediction once the killed one ran again: a kill before startAttempt costs none. */
const EXPECTED_ATTEMPTS: Record<KillPoint, number[]> = {
  'claim-lost': [1, 1, 1],
  'mid-scoring': [1, 1, 2],
  'after-result-put': [1, 1, 2],
  'before-ack': [1, 1, 1],
};

describe.each(SETUPS)('SIGKILL at a named point of a job, %s setup', (setupName) => {
  it.each(Object.keys(EXPECTED_ATTEMPTS) as KillPoint[])(
    '%s: another worker finishes every prediction, one result each',
    async (killAt) => {
      const setup = await harness.setup(setupName);
      const token = await setup.api.token('alice');
      for (let i = 0; i < PREDICTIONS; i++) await submitCsv(setup.api, token, telco);

      const faulty = track(startFaultWorker(setup.env, { FAULT_KILL_AT: killAt }));
      expect(await exited(faulty)).toEqual({ code: null, signal: 'SIGKILL' });

      const worker = track(startWorkerProcess(setup.env));
      const report = await checkInvariants({ ...setup.targets, timeoutMs: 60_000 });
      expect(await stopGracefully(worker)).toEqual({ code: 0, signal: null });
      expect(report).toMatchObject({ completed: PREDICTIONS, failed: 0, results: PREDICTIONS });
      expect([...report.attempts].sort()).toEqual(EXPECTED_ATTEMPTS[killAt]);
      console.log(`kill ${killAt} (${setupName}): ${describeReport(report)}`);
    },
    120_000,
  );
});
