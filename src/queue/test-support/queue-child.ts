/**
 * A separate process that works on a queue for the contract suite's multi-process cases.
 * argv: <spec JSON> <mode> [count]; reports one JSON line per event on stdout.
 *   consume <n>: receive in batches, report every message, work on the batch a little (20 ms,
 *                as a worker holds a job), delete it; stop after n in total or after 5 s with
 *                nothing left. The work keeps messages in flight long enough that two consumers
 *                really overlap: without it, under load one process could drain the queue before
 *                the other's next poll, and "both took part" failed with nothing wrong.
 *   hold <n>:    receive n messages, report them, then wait to be killed (never deletes).
 *   send <n>:    send n messages, reporting each message id.
 */
import { openQueueFromSpec, type QueueSpec } from './spec.js';

const [specJson, mode, countArg] = process.argv.slice(2);
const spec = JSON.parse(specJson ?? '') as QueueSpec;
const count = Number(countArg ?? '1');
const queue = await openQueueFromSpec(spec);
const report = (event: object) => process.stdout.write(`${JSON.stringify(event)}\n`);

/** How long a consumer works on each batch it receives before deleting it. */
const WORK_MS = 20;

async function consume(): Promise<void> {
  let seen = 0;
  let idleSince = Date.now();
  report({ event: 'ready' });
  while (seen < count && Date.now() - idleSince < 5000) {
    const messages = await queue.receive({
      maxMessages: 10,
      waitSeconds: 1,
      visibilitySeconds: 60,
    });
    if (messages.length > 0) {
      idleSince = Date.now();
      await new Promise((resolve) => setTimeout(resolve, WORK_MS));
    }
    for (const message of messages) {
      report({ event: 'received', body: message.body, receiveCount: message.receiveCount });
      await queue.delete(message.receiptHandle);
      seen++;
    }
  }
}

async function hold(): Promise<void> {
  const held: string[] = [];
  while (held.length < count) {
    for (const message of await queue.receive({ maxMessages: 10, waitSeconds: 5 })) {
      held.push(message.body);
    }
  }
  report({ event: 'holding', bodies: held });
  await new Promise(() => {});
}

async function send(): Promise<void> {
  for (let i = 0; i < count; i++) {
    const { messageId } = await queue.send({ body: `from-child-${i}` });
    report({ event: 'sent', messageId });
  }
}

const modes: Record<string, () => Promise<void>> = { consume, hold, send };
const run = modes[mode ?? ''];
if (!run) throw new Error(`unknown mode ${mode}`);
await run();
await queue.close();
report({ event: 'done' });
