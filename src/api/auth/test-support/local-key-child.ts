/**
 * Started by the tests as a separate process: waits until the given wall-clock time so that
 * several children create the key at the same moment, then prints the key id it ended up with.
 */
import { loadOrCreateLocalSigningKey } from '../local-key.js';

const [dataDir, startAt] = process.argv.slice(2);
const delay = Number(startAt) - Date.now();
if (delay > 0) await new Promise((resolve) => setTimeout(resolve, delay));
const key = await loadOrCreateLocalSigningKey(dataDir!);
process.stdout.write(`${key.kid}\n`);
