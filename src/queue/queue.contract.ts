/**
 * The JobQueue contract: SQS semantics every adapter must show. Written once; each adapter's test
 * file calls describeJobQueueContract with a factory. A case an adapter cannot run says why.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { QueueError } from './errors.js';
import type { JobQueue, QueueSettings, ReceivedMessage } from './port.js';
import { describeMessageGroupCases } from './queue-groups.contract.js';
import { startQueueChild } from './test-support/processes.js';
import type { QueueSpec } from './test-support/spec.js';

export interface QueueUnderTest {
  readonly queue: JobQueue;
  /** How a child process opens this same queue. */
  readonly spec: QueueSpec;
  /** Moves the queue's clock forward; absent where the backend keeps real time. */
  readonly advanceClock?: (ms: number) => void;
  cleanup(): Promise<void>;
}

export type QueueFactory = (settings: Partial<QueueSettings>) => Promise<QueueUnderTest>;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export function describeJobQueueContract(adapter: string, factory: QueueFactory): void {
  describe(`JobQueue contract: ${adapter}`, () => {
    const open: QueueUnderTest[] = [];
    afterEach(async () => {
      await Promise.all(open.splice(0).map((q) => q.cleanup()));
    });
    async function setup(settings: Partial<QueueSettings> = {}) {
      const under = await factory({ receiveWaitTimeSeconds: 0, ...settings });
      open.push(under);
      return under;
    }
    /** Lets `seconds` pass for the queue: moves its clock if it can, else waits for real. */
    async function elapse(under: QueueUnderTest, seconds: number) {
      if (under.advanceClock) under.advanceClock(seconds * 1000 + 1);
      else await sleep(seconds * 1000 + 150);
    }
    async function receiveOne(
      queue: JobQueue,
      visibilitySeconds?: number,
    ): Promise<ReceivedMessage> {
      const [message] = await queue.receive({
        waitSeconds: 0,
        ...(visibilitySeconds === undefined ? {} : { visibilitySeconds }),
      });
      if (!message) throw new Error('expected a message, the queue gave none');
      return message;
    }
    async function rejection(promise: Promise<unknown>): Promise<QueueError> {
      const error = await promise.then(
        () => {
          throw new Error('expected the call to be refused');
        },
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(QueueError);
      return error as QueueError;
    }

    it('delivers what was sent: body, attributes, ids, receive count and timestamps', async () => {
      const { queue } = await setup();
      const before = Date.now();
      const sent = await queue.send({
        body: '{"job":1} ünïcødé 🚀',
        attributes: { kind: 'score' },
      });
      const got = await receiveOne(queue);
      expect(got.messageId).toBe(sent.messageId);
      expect(got.body).toBe('{"job":1} ünïcødé 🚀');
      expect(got.attributes).toEqual({ kind: 'score' });
      expect(got.receiveCount).toBe(1);
      expect(got.sentAt.getTime()).toBeGreaterThanOrEqual(before - 1000);
      expect(got.firstReceivedAt.getTime()).toBeGreaterThanOrEqual(got.sentAt.getTime());
      expect(typeof got.receiptHandle).toBe('string');
      expect(await queue.receive({ waitSeconds: 0 })).toEqual([]);
    });

    it('hides a received message until its visibility timeout, then redelivers it', async () => {
      const under = await setup({ visibilityTimeoutSeconds: 1 });
      await under.queue.send({ body: 'job' });
      const first = await receiveOne(under.queue);
      expect(await under.queue.receive({ waitSeconds: 0 })).toEqual([]);
      await elapse(under, 1);
      const again = await receiveOne(under.queue);
      expect(again.messageId).toBe(first.messageId);
      expect(again.receiveCount).toBe(2);
      expect(again.receiptHandle).not.toBe(first.receiptHandle);
      expect(again.firstReceivedAt.getTime()).toBe(first.firstReceivedAt.getTime());
    });

    it('never redelivers a deleted message', async () => {
      const under = await setup({ visibilityTimeoutSeconds: 1 });
      await under.queue.send({ body: 'job' });
      await under.queue.delete((await receiveOne(under.queue)).receiptHandle);
      await elapse(under, 1);
      expect(await under.queue.receive({ waitSeconds: 0 })).toEqual([]);
      const stats = await under.queue.stats();
      expect([stats.visible, stats.inFlight, stats.delayed]).toEqual([0, 0, 0]);
    });

    it('refuses a stale receipt handle once the message was received again', async () => {
      const under = await setup({ visibilityTimeoutSeconds: 1 });
      await under.queue.send({ body: 'job' });
      const stale = await receiveOne(under.queue);
      await elapse(under, 1);
      const current = await receiveOne(under.queue, 30);
      if (under.queue.capabilities.rejectsStaleReceiptHandles) {
        expect((await rejection(under.queue.delete(stale.receiptHandle))).code).toBe(
          'ReceiptHandleIsInvalid',
        );
        await rejection(under.queue.changeVisibility(stale.receiptHandle, 0));
      } else {
        await under.queue.delete(stale.receiptHandle).catch(() => {});
      }
      // The stale handle neither deleted nor released the message: it is still in flight.
      expect(await under.queue.receive({ waitSeconds: 0 })).toEqual([]);
      expect((await under.queue.stats()).inFlight).toBe(1);
      await under.queue.delete(current.receiptHandle);
      expect((await under.queue.stats()).inFlight).toBe(0);
    });

    it('extends visibility with a heartbeat and releases at once with 0', async () => {
      const under = await setup({ visibilityTimeoutSeconds: 1 });
      await under.queue.send({ body: 'job' });
      const got = await receiveOne(under.queue);
      await under.queue.changeVisibility(got.receiptHandle, 30);
      await elapse(under, 1);
      expect(await under.queue.receive({ waitSeconds: 0 })).toEqual([]);
      await under.queue.changeVisibility(got.receiptHandle, 0);
      const again = await receiveOne(under.queue);
      expect(again.receiveCount).toBe(2);
      await expect(under.queue.changeVisibility(again.receiptHandle, 43_201)).rejects.toThrow(
        /43200/,
      );
    });

    it('refuses to extend a message whose visibility already expired', async () => {
      const under = await setup({ visibilityTimeoutSeconds: 1 });
      await under.queue.send({ body: 'job' });
      const got = await receiveOne(under.queue);
      await elapse(under, 1);
      const error = await rejection(under.queue.changeVisibility(got.receiptHandle, 30));
      expect(['MessageNotInflight', 'ReceiptHandleIsInvalid']).toContain(error.code);
    });

    it('moves a message to the dead-letter queue after maxReceiveCount receives', async () => {
      const under = await setup({ maxReceiveCount: 3 });
      const { messageId } = await under.queue.send({ body: 'poison' });
      for (let receive = 1; receive <= 3; receive++) {
        const got = await receiveOne(under.queue);
        expect(got.receiveCount).toBe(receive);
        await under.queue.changeVisibility(got.receiptHandle, 0);
      }
      expect(await under.queue.receive({ waitSeconds: 0 })).toEqual([]);
      const stats = await under.queue.stats();
      expect(stats.visible + stats.inFlight).toBe(0);
      expect(stats.deadLetter.visible).toBe(1);
      const [dead] = await under.queue.listDeadLetters();
      expect(dead).toMatchObject({ messageId, body: 'poison', receiveCount: 3 });
      expect(dead?.reason).toMatch(/receive limit/);
    });

    it('dead-letters a received message at once with a reason', async () => {
      const { queue } = await setup();
      await queue.send({ body: 'forged' });
      const got = await receiveOne(queue);
      await queue.moveToDeadLetter(got.receiptHandle, 'signature does not match');
      expect(await queue.receive({ waitSeconds: 0 })).toEqual([]);
      const [dead] = await queue.listDeadLetters();
      expect(dead).toMatchObject({ body: 'forged', reason: 'signature does not match' });
      await rejection(queue.delete(got.receiptHandle));
    });

    it('redrives dead letters back, some or all, with new ids and a fresh receive count', async () => {
      const { queue } = await setup({ maxReceiveCount: 1 });
      const bodies = ['a', 'b', 'c'];
      const sentIds = new Set<string>();
      for (const body of bodies) sentIds.add((await queue.send({ body })).messageId);
      for (const message of await queue.receive({ maxMessages: 10, waitSeconds: 0 })) {
        await queue.changeVisibility(message.receiptHandle, 0);
      }
      expect(await queue.receive({ waitSeconds: 0 })).toEqual([]);
      expect((await queue.stats()).deadLetter.visible).toBe(3);

      expect(await queue.redriveDeadLetters({ max: 1 })).toEqual({ moved: 1 });
      expect((await queue.stats()).deadLetter.visible).toBe(2);
      expect(await queue.redriveDeadLetters()).toEqual({ moved: 2 });
      const back = await queue.receive({ maxMessages: 10, waitSeconds: 0 });
      expect(back.map((m) => m.body).sort()).toEqual(bodies);
      for (const message of back) {
        expect(sentIds.has(message.messageId)).toBe(false);
        expect(message.receiveCount).toBe(1);
      }
      expect(await queue.redriveDeadLetters()).toEqual({ moved: 0 });
    });

    it('refuses a message over the size limit with a clear error and accepts one at it', async () => {
      const { queue } = await setup();
      const limit = queue.settings.maxMessageBytes;
      expect(limit).toBe(262_144);
      const error = await rejection(queue.send({ body: 'x'.repeat(limit + 1) }));
      expect(error.code).toBe('MessageTooLarge');
      expect(error.retryable).toBe(false);
      expect(error.message).toContain('262,144');
      await queue.send({ body: 'x'.repeat(limit) });
      // Bytes, not characters: 'é' is two bytes in UTF-8.
      await rejection(queue.send({ body: 'é'.repeat(limit / 2 + 1) }));
      expect((await receiveOne(queue)).body.length).toBe(limit);
    });

    it('validates what it is given', async () => {
      const { queue } = await setup();
      expect((await rejection(queue.send({ body: '' }))).code).toBe('InvalidParameterValue');
      expect((await rejection(queue.send({ body: 'bad\u0000char' }))).code).toBe(
        'InvalidParameterValue',
      );
      expect((await rejection(queue.send({ body: 'x', delaySeconds: 901 }))).code).toBe(
        'InvalidParameterValue',
      );
      expect((await rejection(queue.receive({ maxMessages: 11 }))).code).toBe(
        'InvalidParameterValue',
      );
      expect((await rejection(queue.receive({ waitSeconds: 21 }))).code).toBe(
        'InvalidParameterValue',
      );
      await rejection(queue.delete('not-a-receipt-handle'));
    });

    it('holds a delayed message back until its delay has passed', async () => {
      const under = await setup();
      await under.queue.send({ body: 'later', delaySeconds: 1 });
      expect(await under.queue.receive({ waitSeconds: 0 })).toEqual([]);
      expect((await under.queue.stats()).delayed).toBe(1);
      await elapse(under, 1);
      expect((await receiveOne(under.queue)).body).toBe('later');
    });

    it('sends, deletes and changes visibility in batches of up to 10 with per-entry results', async () => {
      const { queue } = await setup();
      const entries = Array.from({ length: 10 }, (_, i) => ({ id: `m${i}`, body: `job-${i}` }));
      const sent = await queue.sendBatch([
        ...entries.slice(0, 9),
        { id: 'bad', body: 'x', delaySeconds: 5000 },
      ]);
      expect(sent.successful.map((s) => s.id)).toEqual(entries.slice(0, 9).map((e) => e.id));
      expect(sent.failed).toEqual([
        expect.objectContaining({ id: 'bad', code: 'InvalidParameterValue', senderFault: true }),
      ]);
      expect((await rejection(queue.sendBatch([...entries, { id: 'm10', body: 'x' }]))).code).toBe(
        'TooManyEntriesInBatchRequest',
      );
      expect((await rejection(queue.sendBatch([entries[0]!, entries[0]!]))).code).toBe(
        'BatchEntryIdsNotDistinct',
      );
      expect((await rejection(queue.sendBatch([]))).code).toBe('EmptyBatchRequest');
      const tooLong = Array.from({ length: 2 }, (_, i) => ({
        id: `l${i}`,
        body: 'x'.repeat(150_000),
      }));
      expect((await rejection(queue.sendBatch(tooLong))).code).toBe('BatchRequestTooLong');

      const got = await queue.receive({ maxMessages: 10, waitSeconds: 0 });
      expect(got).toHaveLength(9);
      const visibility = await queue.changeVisibilityBatch([
        ...got
          .slice(0, 3)
          .map((m, i) => ({ id: `v${i}`, receiptHandle: m.receiptHandle, visibilitySeconds: 0 })),
        { id: 'gone', receiptHandle: '999999999.nope', visibilitySeconds: 0 },
      ]);
      expect(visibility.successful).toHaveLength(3);
      expect(visibility.failed.map((f) => f.id)).toEqual(['gone']);
      const deleted = await queue.deleteBatch(
        got.slice(3).map((m, i) => ({ id: `d${i}`, receiptHandle: m.receiptHandle })),
      );
      expect(deleted).toEqual({
        successful: got.slice(3).map((_, i) => ({ id: `d${i}` })),
        failed: [],
      });
      const released = await queue.receive({ maxMessages: 10, waitSeconds: 0 });
      expect(released.map((m) => m.body).sort()).toEqual(
        got
          .slice(0, 3)
          .map((m) => m.body)
          .sort(),
      );
    });

    it('reports visible, in-flight and delayed counts and the age of the oldest message', async () => {
      const under = await setup();
      expect(await under.queue.stats()).toMatchObject({
        visible: 0,
        inFlight: 0,
        delayed: 0,
        oldestAgeSeconds: null,
      });
      await under.queue.sendBatch([1, 2, 3].map((i) => ({ id: `m${i}`, body: `job-${i}` })));
      await under.queue.send({ body: 'later', delaySeconds: 600 });
      await receiveOne(under.queue);
      await elapse(under, 2);
      const stats = await under.queue.stats();
      expect(stats).toMatchObject({ visible: 2, inFlight: 1, delayed: 1 });
      expect(stats.oldestAgeSeconds).toBeGreaterThanOrEqual(2);
      expect(stats.deadLetter).toMatchObject({ visible: 0, inFlight: 0, delayed: 0 });
    });

    it('removes messages past their retention, and dead letters past theirs', async (ctx) => {
      const probe = await setup();
      if (!probe.advanceClock) {
        ctx.skip(
          true,
          'needs a movable clock: the backend keeps real time and retention is at least 60 s',
        );
      }
      const under = await setup({
        messageRetentionSeconds: 60,
        deadLetterRetentionSeconds: 120,
        maxReceiveCount: 1,
      });
      await under.queue.send({ body: 'old' });
      await under.queue.send({ body: 'dead' });
      const [, dead] = await under.queue.receive({ maxMessages: 2, waitSeconds: 0 });
      await under.queue.moveToDeadLetter(dead!.receiptHandle, 'test');
      await elapse(under, 60);
      expect(await under.queue.receive({ waitSeconds: 0 })).toEqual([]);
      expect((await under.queue.stats()).deadLetter.visible).toBe(1);
      expect(await under.queue.purgeExpired()).toEqual({ removed: 1 });
      await elapse(under, 60);
      expect((await under.queue.stats()).deadLetter.visible).toBe(0);
      expect(await under.queue.purgeExpired()).toEqual({ removed: 1 });
    });

    describeMessageGroupCases({ setup });

    describe('long polling', () => {
      it('returns as soon as a message arrives in the same process', async () => {
        const { queue } = await setup();
        const started = performance.now();
        const waiting = queue.receive({ waitSeconds: 10 });
        await sleep(50);
        const sentAt = performance.now();
        await queue.send({ body: 'wake' });
        const [got] = await waiting;
        const latency = performance.now() - sentAt;
        expect(got?.body).toBe('wake');
        expect(performance.now() - started).toBeLessThan(5000);
        // Same process: woken by the send itself, not by a poll (bench:queue measures the median).
        if (queue.capabilities.inProcessWakeup) expect(latency).toBeLessThan(250);
      });

      it('waits the full time and returns nothing when nothing arrives; an abort ends it early', async () => {
        const { queue } = await setup();
        const started = performance.now();
        expect(await queue.receive({ waitSeconds: 1 })).toEqual([]);
        expect(performance.now() - started).toBeGreaterThanOrEqual(950);
        const controller = new AbortController();
        const aborted = queue.receive({ waitSeconds: 20, signal: controller.signal });
        setTimeout(() => controller.abort(), 50);
        const abortStarted = performance.now();
        expect(await aborted).toEqual([]);
        expect(performance.now() - abortStarted).toBeLessThan(2000);
      });

      it('returns a message sent with a delay as soon as the delay passes', async () => {
        const { queue } = await setup();
        const waiting = queue.receive({ waitSeconds: 10 });
        await sleep(50);
        const sent = performance.now();
        await queue.send({ body: 'later', delaySeconds: 1 });
        const [got] = await waiting;
        expect(got?.body).toBe('later');
        expect(performance.now() - sent).toBeLessThan(3000);
      });

      it('returns a message whose visibility timeout runs out while waiting', async () => {
        const { queue } = await setup({ visibilityTimeoutSeconds: 1 });
        const waiting = queue.receive({ waitSeconds: 10 });
        await sleep(50);
        const sent = performance.now();
        void queue.send({ body: 'abandoned' });
        // A second consumer races the waiting one; whoever gets it first never deletes it, so
        // the other must get it as soon as its visibility timeout runs out.
        const racing = queue.receive({ waitSeconds: 10 });
        const got = [...(await waiting), ...(await racing)];
        expect(got.map((m) => m.body)).toEqual(['abandoned', 'abandoned']);
        expect(got.map((m) => m.receiveCount).sort()).toEqual([1, 2]);
        expect(performance.now() - sent).toBeLessThan(4000);
      });

      it('wakes on a message sent by another process', async () => {
        const under = await setup();
        const waiting = under.queue.receive({ waitSeconds: 20 });
        const child = startQueueChild(under.spec, 'send', 1);
        const { messageId } = await child.waitFor((e) => e.event === 'sent');
        const sentSeen = performance.now();
        const [got] = await waiting;
        expect(got?.messageId).toBe(messageId);
        expect(performance.now() - sentSeen).toBeLessThan(2000);
        await child.exited;
      });
    });

    describe('many processes', () => {
      it('never gives the same message to two consumer processes at once', async () => {
        const under = await setup();
        const total = 600;
        const children = [0, 1].map(() => startQueueChild(under.spec, 'consume', total));
        // Both are polling before the first send, so each gets a share.
        await Promise.all(children.map((c) => c.waitFor((e) => e.event === 'ready')));
        for (let i = 0; i < total; i += 10) {
          await under.queue.sendBatch(
            Array.from({ length: 10 }, (_, j) => ({ id: `m${j}`, body: `job-${i + j}` })),
          );
        }
        await Promise.all(children.map((c) => c.exited));
        const received = children.flatMap((c) =>
          c.events.filter((e) => e.event === 'received').map((e) => e.body as string),
        );
        expect(received).toHaveLength(total);
        expect(new Set(received).size).toBe(total);
        // Both consumers took part (otherwise the case proves nothing about concurrency).
        for (const child of children)
          expect(child.events.some((e) => e.event === 'received')).toBe(true);
        expect(await under.queue.stats()).toMatchObject({ visible: 0, inFlight: 0 });
      });

      it('loses nothing when a consumer holding messages is killed with SIGKILL', async () => {
        const under = await setup({ visibilityTimeoutSeconds: 2 });
        const bodies = ['k0', 'k1', 'k2', 'k3', 'k4'];
        await under.queue.sendBatch(bodies.map((body, i) => ({ id: `m${i}`, body })));
        const child = startQueueChild(under.spec, 'hold', bodies.length);
        const holding = await child.waitFor((e) => e.event === 'holding');
        expect((holding.bodies as string[]).sort()).toEqual(bodies);
        child.process.kill('SIGKILL');
        await child.exited;
        expect((await under.queue.stats()).inFlight).toBe(bodies.length);
        const back: ReceivedMessage[] = [];
        const deadline = Date.now() + 10_000;
        while (back.length < bodies.length && Date.now() < deadline) {
          back.push(...(await under.queue.receive({ maxMessages: 10, waitSeconds: 5 })));
        }
        expect(back.map((m) => m.body).sort()).toEqual(bodies);
        for (const message of back) expect(message.receiveCount).toBe(2);
      });
    });
  });
}
