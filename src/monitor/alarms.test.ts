import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import type { QueueStats } from '../queue/port.js';
import { Alarms, webhookNotifier } from './alarms.js';

const depth = { visible: 0, inFlight: 0, delayed: 0, oldestAgeSeconds: null };
const stats = (deadLetters: number, oldestAgeSeconds: number | null): QueueStats => ({
  ...depth,
  oldestAgeSeconds,
  deadLetter: { ...depth, visible: deadLetters },
});

describe('Alarms', () => {
  it('raises above the thresholds, recovers below, and calls the webhook once per transition', async () => {
    const posts: Array<Record<string, unknown>> = [];
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk) => {
        body += chunk;
      });
      req.on('end', () => {
        posts.push(JSON.parse(body) as Record<string, unknown>);
        res.end('ok');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
    const lines: string[] = [];
    const log = pino({ level: 'info' }, { write: (line: string) => lines.push(line) });
    const alarms = new Alarms(
      { deadLetterDepth: 5, oldestMessageAgeSeconds: 1800, outboxPending: 100 },
      log,
      webhookNotifier(url),
    );
    try {
      const quiet = await alarms.evaluate({ queue: stats(5, 1800), outboxPending: 100 });
      expect(quiet.every((a) => !a.active)).toBe(true);
      const raised = await alarms.evaluate({ queue: stats(6, 1801), outboxPending: 0 });
      expect(raised.filter((a) => a.active).map((a) => a.name)).toEqual([
        'dead_letter_depth',
        'oldest_message_age',
      ]);
      await alarms.evaluate({ queue: stats(9, 2000), outboxPending: 0 }); // still raised: no new transition
      await alarms.evaluate({ queue: stats(0, 10), outboxPending: 101 });
      expect(posts.map((p) => [p.alarm, p.state])).toEqual([
        ['dead_letter_depth', 'ALARM'],
        ['oldest_message_age', 'ALARM'],
        ['dead_letter_depth', 'OK'],
        ['oldest_message_age', 'OK'],
        ['outbox_backlog', 'ALARM'],
      ]);
      expect(posts[0]?.text).toMatch(/6 messages in the dead-letter queue \(alarm above 5\)/);
      expect(lines.filter((l) => l.includes('ALARM:'))).toHaveLength(3);
      expect(lines.filter((l) => l.includes('alarm recovered'))).toHaveLength(2);
    } finally {
      server.close();
    }
  });

  it('keeps evaluating when the webhook fails, and logs the failure', async () => {
    const lines: string[] = [];
    const log = pino({ level: 'info' }, { write: (line: string) => lines.push(line) });
    const alarms = new Alarms({ deadLetterDepth: 0, oldestMessageAgeSeconds: 1 }, log, async () => {
      throw new Error('webhook down');
    });
    const states = await alarms.evaluate({ queue: stats(1, null), outboxPending: 0 });
    expect(states.find((a) => a.name === 'dead_letter_depth')?.active).toBe(true);
    expect(lines.some((l) => l.includes('alarm webhook failed'))).toBe(true);
  });

  it('evaluates only the outbox in a process that does not watch the queue', async () => {
    const alarms = new Alarms(
      { deadLetterDepth: 5, oldestMessageAgeSeconds: 1800, outboxPending: 0 },
      pino({ level: 'silent' }),
    );
    const states = await alarms.evaluate({ outboxPending: 1 });
    expect(states.map((a) => [a.name, a.active])).toEqual([['outbox_backlog', true]]);
  });
});
