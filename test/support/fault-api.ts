/**
 * `churnline serve --roles api` for the fault tests, run as a child process (see startFaultApi):
 * the app is built from the environment exactly as the CLI builds it; it prints its URL on
 * stdout once listening. FAULT_KILL_AT=after-upload-put makes it SIGKILL itself once an upload's
 * object is stored, before its row says so; FAULT_ABANDONED_UPLOAD_AGE_MS shortens the age after
 * which its sweep removes unfinished uploads (the restarted API of a test).
 */
import type { AddressInfo } from 'node:net';
import { createApp } from '../../src/app.js';
import type { BlobStore } from '../../src/blobs/port.js';
import { parseConfig } from '../../src/config/index.js';
import { createLogger } from '../../src/log.js';

const config = parseConfig(process.env);
const log = createLogger(config.logLevel);
const age = process.env.FAULT_ABANDONED_UPLOAD_AGE_MS;
const killAfterUploadPut = process.env.FAULT_KILL_AT === 'after-upload-put';

function dieAfterUploadPut(blobs: BlobStore): BlobStore {
  return new Proxy(blobs, {
    get(target, property, receiver) {
      if (property !== 'put') return Reflect.get(target, property, receiver);
      return async (...args: Parameters<BlobStore['put']>) => {
        const stored = await target.put(...args);
        if (args[0].includes('/uploads/')) process.kill(process.pid, 'SIGKILL');
        return stored;
      };
    },
  });
}

const app = await createApp(config, log, ['api'], {
  ...(age === undefined ? {} : { abandonedUploadAgeMs: Number(age) }),
  ...(killAfterUploadPut ? { blobs: dieAfterUploadPut } : {}),
});
await app.start();
const server = app.server;
if (!server) throw new Error('the api role built no server');
await server.listen({ host: '127.0.0.1', port: 0 });
process.stdout.write(`http://127.0.0.1:${(server.server.address() as AddressInfo).port}\n`);
await new Promise((resolve) => process.once('SIGTERM', resolve));
await app.close();
