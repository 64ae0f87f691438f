import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { newWebhookSecret, signWebhook, webhookHeaders } from './signature.js';

/**
 * The Standard Webhooks verification, written from the specification rather than from
 * signature.ts: strip `whsec_`, base64-decode, HMAC-SHA256 over "id.timestamp.body", base64.
 */
function specSignature(secret: string, id: string, timestamp: string, body: string): string {
  const key = Buffer.from(secret.split('_')[1] ?? '', 'base64');
  return `v1,${createHmac('sha256', key).update(`${id}.${timestamp}.${body}`).digest('base64')}`;
}

describe('webhook signatures', () => {
  it('makes whsec_ secrets of 32 random bytes', () => {
    const secret = newWebhookSecret();
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(Buffer.from(secret.slice(6), 'base64')).toHaveLength(32);
    expect(newWebhookSecret()).not.toBe(secret);
  });

  it('matches the example of the Standard Webhooks specification', () => {
    // From the specification's reference test vectors.
    const secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
    const id = 'msg_p5jXN8AQM9LWM0D4loKWxJek';
    const body = '{"test": 2432232314}';
    expect(signWebhook(secret, { id, timestamp: 1614265330, body })).toBe(
      'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
    );
  });

  it('signs with every secret given, space-separated, as during a rotation', () => {
    const current = newWebhookSecret();
    const previous = newWebhookSecret();
    const message = {
      id: 'msg_0123456789abcdef0123456789abcdef',
      timestamp: 1_760_000_000,
      body: '{"a":1}',
    };
    const headers = webhookHeaders([current, previous], message);
    expect(headers['webhook-id']).toBe(message.id);
    expect(headers['webhook-timestamp']).toBe('1760000000');
    expect(headers['webhook-signature']).toBe(
      `${specSignature(current, message.id, '1760000000', message.body)} ${specSignature(previous, message.id, '1760000000', message.body)}`,
    );
  });
});
