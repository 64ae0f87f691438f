/**
 * The JobQueue contract's message-group cases (fair scheduling), run by describeJobQueueContract
 * against every adapter. Order and cap cases run where the adapter claims them (capabilities);
 * elsewhere they are skipped with the reason.
 */
import { describe, expect, it } from 'vitest';
import { QueueError } from './errors.js';
import type { JobQueue, QueueSettings, ReceivedMessage } from './port.js';
import type { QueueUnderTest } from './queue.contract.js';
import { startQueueChild } from './test-support/processes.js';
import { openQueueFromSpec } from './test-support/spec.js';

export interface GroupCaseHelpers {
  setup(settings?: Partial<QueueSettings>): Promise<QueueUnderTest>;
}

const FAIR_ORDER_SKIP =
  'the adapter does not promise an order across groups (SQS fair queues reorder only once a group is detected as a noisy neighbour, statistically; fauxqs 1.9.2 accepts MessageGroupId on a standard queue and ignores it)';
const CAP_SKIP = 'the adapter has no cap per group (SQS has none)';

/** Sends `count` messages `<prefix>-0`, `<prefix>-1`, ... in group `groupId`, in batches of 10. */
async function sendMany(queue: JobQueue, prefix: string, count: number, groupId?: string) {
  for (let i = 0; i < count; i += 10) {
    const entries = Array.from({ length: Math.min(10, count - i) }, (_, j) => ({
      id: `m${j}`,
      body: `${prefix}-${i + j}`,
      ...(groupId === undefined ? {} : { groupId }),
    }));
    const { failed } = await queue.sendBatch(entries);
    expect(failed).toEqual([]);
  }
}

async function receiveBodies(queue: JobQueue, maxMessages = 1): Promise<string[]> {
  return (await queue.receive({ maxMessages, waitSeconds: 0 })).map((m) => m.body);
}

/** Receives and deletes until the queue gives nothing; returns the bodies in order received. */
async function drain(queue: JobQueue): Promise<string[]> {
  const bodies: string[] = [];
  for (;;) {
    const got = await queue.receive({ maxMessages: 10, waitSeconds: 0 });
    if (got.length === 0) return bodies;
    for (const message of got) {
      bodies.push(message.body);
      await queue.delete(message.receiptHandle);
    }
  }
}

export function describeMessageGroupCases({ setup }: GroupCaseHelpers): void {
  describe('message groups (fair scheduling)', () => {
    it('accepts a group on send and in a batch, and refuses one SQS would refuse', async () => {
      const { queue } = await setup();
      await queue.send({ body: 'one', groupId: 'user_2x9!Q-._~' });
      const batch = await queue.sendBatch([
        { id: 'ok', body: 'two', groupId: 'u'.repeat(128) },
        { id: 'long', body: 'x', groupId: 'u'.repeat(129) },
        { id: 'space', body: 'x', groupId: 'has space' },
        { id: 'empty', body: 'x', groupId: '' },
        { id: 'accent', body: 'x', groupId: 'josé' },
      ]);
      expect(batch.successful.map((s) => s.id)).toEqual(['ok']);
      expect(batch.failed.map((f) => [f.id, f.code, f.senderFault])).toEqual(
        ['long', 'space', 'empty', 'accent'].map((id) => [id, 'InvalidParameterValue', true]),
      );
      const error = await queue.send({ body: 'x', groupId: 'a b' }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(QueueError);
      expect((error as QueueError).message).toMatch(/MessageGroupId/);
      expect((await drain(queue)).sort()).toEqual(['one', 'two']);
    });

    it('gives the next message to the group with the fewest in flight, the oldest first on a tie', async (ctx) => {
      const { queue } = await setup();
      if (!queue.capabilities.fairGroupOrder) ctx.skip(true, FAIR_ORDER_SKIP);
      await sendMany(queue, 'a', 50, 'user-a');
      await sendMany(queue, 'b', 1, 'user-b');
      // Held, not deleted: each receive sees the groups' counts in flight grow.
      expect(await receiveBodies(queue)).toEqual(['a-0']); // 0 and 0 in flight: A's is older
      expect(await receiveBodies(queue)).toEqual(['b-0']); // A has 1 in flight, B none
      await sendMany(queue, 'c', 1, 'user-c');
      await sendMany(queue, 'd', 1, 'user-d');
      expect(await receiveBodies(queue)).toEqual(['c-0']); // C and D have none; C's is older
      expect(await receiveBodies(queue)).toEqual(['d-0']);
      expect(await receiveBodies(queue)).toEqual(['a-1']); // only A has any left
      expect(await receiveBodies(queue)).toEqual(['a-2']);
    });

    it('fills a batch across groups, and gives every message exactly once in its group order', async (ctx) => {
      const { queue } = await setup({ visibilityTimeoutSeconds: 60 });
      if (!queue.capabilities.fairGroupOrder) ctx.skip(true, FAIR_ORDER_SKIP);
      await sendMany(queue, 'a', 20, 'user-a');
      await sendMany(queue, 'b', 3, 'user-b');
      const batch = await receiveBodies(queue, 10);
      expect(batch).toEqual(['a-0', 'b-0', 'a-1', 'b-1', 'a-2', 'b-2', 'a-3', 'a-4', 'a-5', 'a-6']);
      const rest = await drain(queue);
      expect(rest).toEqual(Array.from({ length: 13 }, (_, i) => `a-${i + 7}`));
      expect((await queue.stats()).inFlight).toBe(10);
    });

    it('keeps messages without a group oldest first among themselves, sharing out with groups', async (ctx) => {
      const { queue } = await setup();
      if (!queue.capabilities.fairGroupOrder) ctx.skip(true, FAIR_ORDER_SKIP);
      await sendMany(queue, 'n', 5);
      expect(await receiveBodies(queue)).toEqual(['n-0']);
      await sendMany(queue, 'a', 2, 'user-a');
      // Groupless messages are one lane: with one of them in flight, the new group goes first.
      expect(await receiveBodies(queue, 3)).toEqual(['a-0', 'n-1', 'a-1']);
      expect(await receiveBodies(queue, 10)).toEqual(['n-2', 'n-3', 'n-4']);
    });

    describe('cap per group', () => {
      it('passes over a group at its cap while others have work, never capping groupless ones', async (ctx) => {
        const probe = await setup();
        if (!probe.queue.capabilities.groupInFlightCap) ctx.skip(true, CAP_SKIP);
        const { queue } = await setup({ maxInFlightPerGroup: 2 });
        await sendMany(queue, 'a', 5, 'user-a');
        await sendMany(queue, 'b', 1, 'user-b');
        await sendMany(queue, 'n', 3);
        const first = await queue.receive({ maxMessages: 10, waitSeconds: 0 });
        expect(first.map((m) => m.body).sort()).toEqual(['a-0', 'a-1', 'b-0', 'n-0', 'n-1', 'n-2']);
        expect(await receiveBodies(queue, 10)).toEqual([]);
        expect((await queue.stats()).visible).toBe(3);

        // One of A's leaves flight: A may have one more.
        const a0 = first.find((m) => m.body === 'a-0') as ReceivedMessage;
        await queue.delete(a0.receiptHandle);
        expect(await receiveBodies(queue, 10)).toEqual(['a-2']);

        // A receive waiting on a capped group is woken when one of the group's messages goes.
        const waiting = queue.receive({ maxMessages: 10, waitSeconds: 10 });
        const a1 = first.find((m) => m.body === 'a-1') as ReceivedMessage;
        await queue.delete(a1.receiptHandle);
        expect((await waiting).map((m) => m.body)).toEqual(['a-3']);
      });

      it('counts a message back in the queue (timed out or released) as out of flight', async (ctx) => {
        const probe = await setup();
        if (!probe.queue.capabilities.groupInFlightCap) ctx.skip(true, CAP_SKIP);
        const { queue } = await setup({ maxInFlightPerGroup: 1 });
        await sendMany(queue, 'a', 3, 'user-a');
        const [held] = await queue.receive({ waitSeconds: 0 });
        expect(held?.body).toBe('a-0');
        expect(await receiveBodies(queue)).toEqual([]);
        await queue.changeVisibility(held?.receiptHandle as string, 0);
        // a-0 is visible again, so A may have one message in flight again (a-0 or a-1: a-0's
        // visibility time is now, a-1's its send time, which may be the same millisecond).
        const again = await receiveBodies(queue, 10);
        expect(again).toHaveLength(1);
        expect(['a-0', 'a-1']).toContain(again[0]);
        expect(await receiveBodies(queue, 10)).toEqual([]);
      });

      it('holds the cap when two queue instances claim at once', async (ctx) => {
        const probe = await setup();
        if (!probe.queue.capabilities.groupInFlightCap) ctx.skip(true, CAP_SKIP);
        const under = await setup({ maxInFlightPerGroup: 2 });
        const other = await openQueueFromSpec(under.spec);
        try {
          await sendMany(under.queue, 'a', 30, 'user-a');
          // Connections open first (where there are any), so that the claims really overlap.
          await Promise.all(
            [under.queue, other].flatMap((queue) => [1, 2, 3, 4].map(() => queue.stats())),
          );
          const receives = [under.queue, other].flatMap((queue) =>
            Array.from({ length: 6 }, () => queue.receive({ maxMessages: 10, waitSeconds: 0 })),
          );
          const got = (await Promise.all(receives)).flat();
          expect(got).toHaveLength(2);
          expect(new Set(got.map((m) => m.body)).size).toBe(2);
        } finally {
          await other.close();
        }
      });
    });

    it('never gives the same message to two consumer processes at once, across groups', async () => {
      const probe = await setup();
      const cap = probe.queue.capabilities.groupInFlightCap ? { maxInFlightPerGroup: 3 } : {};
      const under = await setup(cap);
      const perGroup = 60;
      const groups = ['user-a', 'user-b', 'user-c', undefined];
      const total = perGroup * groups.length;
      const children = [0, 1].map(() => startQueueChild(under.spec, 'consume', total));
      await Promise.all(children.map((c) => c.waitFor((e) => e.event === 'ready')));
      for (const [i, groupId] of groups.entries()) {
        await sendMany(under.queue, `g${i}`, perGroup, groupId);
      }
      await Promise.all(children.map((c) => c.exited));
      const received = children.flatMap((c) =>
        c.events.filter((e) => e.event === 'received').map((e) => e.body as string),
      );
      expect(received).toHaveLength(total);
      expect(new Set(received).size).toBe(total);
      for (const child of children)
        expect(child.events.some((e) => e.event === 'received')).toBe(true);
      expect(await under.queue.stats()).toMatchObject({ visible: 0, inFlight: 0 });
    });
  });
}
