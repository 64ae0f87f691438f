/**
 * Signing as the Standard Webhooks specification has it (standardwebhooks.com): a secret is
 * `whsec_` + base64 of random bytes; a signature is `v1,` + base64(HMAC-SHA256(secret bytes,
 * `${id}.${timestamp}.${body}`)), and several are sent space-separated while a rotated secret is
 * still honoured, so receivers can switch to the new secret at their own pace.
 */
import { createHmac, randomBytes } from 'node:crypto';

const SECRET_PREFIX = 'whsec_';
/** 32 bytes: within the 24-64 the specification asks for, as strong as the HMAC itself. */
const SECRET_BYTES = 32;

export function newWebhookSecret(): string {
  return SECRET_PREFIX + randomBytes(SECRET_BYTES).toString('base64');
}

/** The key bytes a secret stands for (the part after `whsec_`, base64-decoded). */
function secretKey(secret: string): Buffer {
  if (!secret.startsWith(SECRET_PREFIX)) throw new Error('webhook secret must start with whsec_');
  return Buffer.from(secret.slice(SECRET_PREFIX.length), 'base64');
}

export function signWebhook(
  secret: string,
  message: { id: string; timestamp: number; body: string },
): string {
  const mac = createHmac('sha256', secretKey(secret))
    .update(`${message.id}.${message.timestamp}.${message.body}`)
    .digest('base64');
  return `v1,${mac}`;
}

/** The three headers of a delivery attempt, signed with every secret given (current first). */
export function webhookHeaders(
  secrets: readonly string[],
  message: { id: string; timestamp: number; body: string },
): Record<string, string> {
  return {
    'webhook-id': message.id,
    'webhook-timestamp': String(message.timestamp),
    'webhook-signature': secrets.map((secret) => signWebhook(secret, message)).join(' '),
  };
}
