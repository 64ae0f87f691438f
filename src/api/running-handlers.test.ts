import Fastify from 'fastify';
import { expect, it } from 'vitest';
import { RunningHandlers } from './running-handlers.js';

it('counts handlers until they settle, and gives up waiting after the timeout', async () => {
  const app = Fastify();
  const handlers = new RunningHandlers();
  handlers.track(app);
  let release!: () => void;
  const released = new Promise<void>((resolve) => {
    release = resolve;
  });
  app.get('/slow', async () => {
    await released;
    return { ok: true };
  });
  app.get('/sync', (_request, reply) => {
    reply.send({ ok: true });
  });
  app.get('/fails', async () => {
    throw new Error('no');
  });

  expect(await handlers.settled(10)).toBe(true);
  await app.inject({ url: '/sync' });
  await app.inject({ url: '/fails' });
  expect(handlers.count).toBe(0);

  const slow = app.inject({ url: '/slow' });
  await new Promise((resolve) => setTimeout(resolve, 20));
  expect(handlers.count).toBe(1);
  expect(await handlers.settled(50)).toBe(false);
  const settling = handlers.settled(5_000);
  release();
  expect(await settling).toBe(true);
  expect((await slow).json()).toEqual({ ok: true });
  await app.close();
});
