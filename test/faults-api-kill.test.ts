import { describe, expect, it } from 'vitest';
import { useFaultHarness } from './support/fault-harness.js';
import { exited, startFaultApi, stopGracefully } from './support/fault-processes.js';
import { type FaultSetup, SETUPS } from './support/fault-setups.js';
import { checkInvariants, describeReport } from './support/invariants.js';
import { upload } from './support/service.js';
import { startSlowUpload, until } from './support/slow-upload.js';
import { telcoCsv as telco } from './support/telco.js';

const harness = useFaultHarness();
const { track } = harness;

type KillPoint = 'mid-put' | 'after-put';

/** Starts an API child, uploads as far as `killAt`, and returns once it died of SIGKILL. */
async function killDuringUpload(setup: FaultSetup, token: string, killAt: KillPoint) {
  const faults: Record<string, string> =
    killAt === 'after-put' ? { FAULT_KILL_AT: 'after-upload-put' } : {};
  const api = startFaultApi(setup.env, faults);
  track(api.child);
  const url = await api.url;
  const uploads = () => setup.targets.db.selectFrom('uploads').select('state').execute();
  if (killAt === 'mid-put') {
    const slow = startSlowUpload(url, token);
    slow.send(telco.subarray(0, 64 * 1024));
    const leftovers = setup.targets.leftovers;
    await until('the upload is being stored', async () => {
      if ((await uploads()).length === 0) return false;
      // On disk, wait for the write's temporary file too: the leftover the sweep must remove.
      return leftovers ? (await leftovers()).length > 0 : true;
    });
    api.child.kill('SIGKILL');
    await slow.settled;
  } else {
    await expect(upload(url, token, telco)).rejects.toThrow();
  }
  expect(await exited(api.child)).toEqual({ code: null, signal: 'SIGKILL' });
  expect(await uploads()).toEqual([{ state: 'storing' }]);
}

describe.each(SETUPS)('SIGKILL of the API during an upload, %s setup', (setupName) => {
  it.each(['mid-put', 'after-put'] as KillPoint[])(
    '%s: a restarted API removes the unfinished upload, its object and temporaries',
    async (killAt) => {
      const setup = await harness.setup(setupName);
      const token = await setup.api.token('alice');
      await killDuringUpload(setup, token, killAt);
      const { blobs, leftovers } = setup.targets;
      const left = [...(await blobs.list('users/')), ...((await leftovers?.()) ?? [])];
      console.log(`API kill ${killAt} (${setupName}) left: ${left.join(', ') || 'only the row'}`);
      if (killAt === 'after-put') expect(await blobs.list('users/')).toHaveLength(1);
      if (killAt === 'mid-put' && leftovers) expect(await leftovers()).not.toEqual([]);

      const restarted = startFaultApi(setup.env, { FAULT_ABANDONED_UPLOAD_AGE_MS: '0' });
      track(restarted.child);
      await restarted.url;
      await until('the sweep removed the upload', async () => {
        const rows = await setup.targets.db.selectFrom('uploads').select('id').execute();
        return rows.length === 0;
      });
      const report = await checkInvariants(setup.targets);
      expect(report).toMatchObject({ orphans: [], leftovers: [], predictions: 0 });
      expect(await blobs.list('users/')).toEqual([]);
      // Nothing is left for the restarted API to answer with either.
      const listed = await fetch(`${await restarted.url}/v1/uploads`, {
        headers: { authorization: `Bearer ${token}` },
      });
      expect(await listed.json()).toEqual({ uploads: [] });
      expect(await stopGracefully(restarted.child)).toEqual({ code: 0, signal: null });
      console.log(`API kill ${killAt} (${setupName}): ${describeReport(report)}, 0 upload rows`);
    },
    120_000,
  );
});
