import Fastify from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { CHECK_RESPONSES, ResponseSchemaError, responseSerializer } from './serializer.js';

const schema = z.object({
  id: z.string(),
  count: z.number().int(),
  note: z.string().nullable(),
  tags: z.array(z.object({ name: z.string() })),
});
const good = { id: 'a', count: 2, note: null, tags: [{ name: 'x' }] };
const serializerFor = (check: boolean) =>
  responseSerializer(check)({ schema, method: 'GET', url: '/things/:id', httpStatus: '200' });

describe('response serializer', () => {
  it('checks every response in the test suite, where NODE_ENV is test', () => {
    expect(CHECK_RESPONSES).toBe(true);
  });

  it('writes a response that matches its schema as JSON.stringify does, checked or not', () => {
    expect(serializerFor(true)(good)).toBe(JSON.stringify(good));
    expect(serializerFor(false)(good)).toBe(JSON.stringify(good));
  });

  it('refuses, when checking, a field the schema does not declare, and names where it is', () => {
    const leaky = { ...good, tags: [{ name: 'x', owner_secret: 's' }] };
    expect(() => serializerFor(true)(leaky)).toThrow(ResponseSchemaError);
    expect(() => serializerFor(true)(leaky)).toThrow(
      /GET \/things\/:id.* at tags\.0\.owner_secret: a field/,
    );
  });

  it('refuses, when checking, a value of the wrong type or a missing field', () => {
    expect(() => serializerFor(true)({ ...good, count: 2.5 })).toThrow(/does not match its schema/);
    const { note: _, ...missing } = good;
    expect(() => serializerFor(true)(missing)).toThrow(/does not match its schema/);
  });

  it('writes whatever it is given when not checking, as the service does', () => {
    expect(serializerFor(false)({ ...good, extra: 1 })).toBe(JSON.stringify({ ...good, extra: 1 }));
  });

  describe('in a server', () => {
    const app = Fastify();
    afterEach(() => app.close());

    it('answers 500 for a response outside its schema instead of sending it', async () => {
      app.setSerializerCompiler(responseSerializer(true));
      app
        .withTypeProvider<ZodTypeProvider>()
        .get('/thing', { schema: { response: { 200: schema } } }, async () => ({
          ...good,
          password: 'hunter2',
        }));
      const response = await app.inject({ method: 'GET', url: '/thing' });
      expect(response.statusCode).toBe(500);
      expect(response.body).not.toContain('hunter2');
    });
  });
});
