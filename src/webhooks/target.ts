/**
 * Where a webhook may go (SSRF defence). A URL is checked when it is registered (its form, and
 * what its host resolves to now) and again at every delivery, where the host is resolved ONCE and
 * the connection is made to the address that was checked (send.ts): a name that resolves to a
 * public address for the check and to 127.0.0.1 for the connection (DNS rebinding) gets nowhere.
 */
import { lookup as dnsLookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { refusedAddressKind } from './addresses.js';

export interface TargetPolicy {
  /** Loopback, private, link-local... addresses allowed (WEBHOOK_ALLOW_PRIVATE_TARGETS). */
  readonly allowPrivate: boolean;
  /** Plain http:// allowed (WEBHOOK_ALLOW_HTTP); otherwise https:// only. */
  readonly allowHttp: boolean;
}

export const STRICT_TARGETS: TargetPolicy = { allowPrivate: false, allowHttp: false };

export const MAX_URL_LENGTH = 2000;

/** A URL refused as a webhook target; the message says why and what to do, for the API user. */
export class WebhookTargetError extends Error {
  override name = 'WebhookTargetError';
  constructor(
    readonly code: 'invalid_webhook_url' | 'unsafe_webhook_target' | 'unresolvable_webhook_host',
    message: string,
  ) {
    super(message);
  }
}

const PRIVATE_HINT =
  'Webhooks go only to public internet addresses (the operator can allow private ones with WEBHOOK_ALLOW_PRIVATE_TARGETS=true).';

/** Names that mean this machine or a private network whatever DNS says. */
const LOCAL_NAMES = /(^|\.)(localhost|local|internal|localdomain|home\.arpa)$/;

export interface Address {
  readonly address: string;
  readonly family: 4 | 6;
}

export type Lookup = (host: string) => Promise<readonly Address[]>;

const systemLookup: Lookup = async (host) =>
  (await dnsLookup(host, { all: true, verbatim: true })).map((entry) => ({
    address: entry.address,
    family: entry.family === 6 ? 6 : 4,
  }));

/** The URL's form: scheme, no credentials, a usable port, no host that is plainly local. */
export function checkWebhookUrl(raw: string, policy: TargetPolicy): URL {
  const invalid = (message: string) => new WebhookTargetError('invalid_webhook_url', message);
  if (raw.length > MAX_URL_LENGTH) {
    throw invalid(`The webhook URL is longer than ${MAX_URL_LENGTH} characters.`);
  }
  if (!URL.canParse(raw)) {
    throw invalid('The webhook URL is not a valid absolute URL such as https://example.com/hook.');
  }
  const url = new URL(raw);
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && policy.allowHttp)) {
    throw invalid(
      url.protocol === 'http:'
        ? 'The webhook URL must use https:// (plain http is allowed only when the operator sets WEBHOOK_ALLOW_HTTP=true).'
        : `The webhook URL must be an https:// URL; ${url.protocol} URLs are not supported.`,
    );
  }
  if (url.username || url.password) {
    throw invalid(
      'The webhook URL must not contain a user name or password (user:pass@). Verify the webhook-signature header instead, or put a token in the path.',
    );
  }
  if (url.hash) throw invalid('The webhook URL must not have a #fragment: it is never sent.');
  const port = url.port === '' ? null : Number(url.port);
  if (port !== null && port !== 80 && port !== 443 && port < 1024) {
    throw invalid(`The webhook URL's port ${port} is refused: use 80, 443 or a port from 1024.`);
  }
  const host = hostOf(url);
  const literal = isIP(host) !== 0;
  if (!policy.allowPrivate) {
    if (literal) refuseAddress(host, host);
    else if (LOCAL_NAMES.test(host) || !host.includes('.')) {
      throw new WebhookTargetError(
        'unsafe_webhook_target',
        `The webhook URL's host ${host} names this machine or a private network. ${PRIVATE_HINT}`,
      );
    }
  }
  return url;
}

/**
 * Resolves the URL's host once and checks every address it has (one private address among public
 * ones is refused: the connection could go to either). Returns the address to connect to.
 */
export async function resolveWebhookTarget(
  url: URL,
  policy: TargetPolicy,
  lookup: Lookup = systemLookup,
): Promise<Address> {
  const host = hostOf(url);
  const family = isIP(host);
  if (family !== 0) {
    if (!policy.allowPrivate) refuseAddress(host, host);
    return { address: host, family: family === 6 ? 6 : 4 };
  }
  let addresses: readonly Address[];
  try {
    addresses = await lookup(host);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new WebhookTargetError(
      'unresolvable_webhook_host',
      code === 'ENOTFOUND' || code === 'ENODATA'
        ? `The webhook URL's host ${host} does not resolve (no such name in DNS): check its spelling.`
        : `The webhook URL's host ${host} could not be resolved just now (${code ?? 'DNS error'}).`,
    );
  }
  const first = addresses[0];
  if (!first) {
    throw new WebhookTargetError(
      'unresolvable_webhook_host',
      `The webhook URL's host ${host} has no address.`,
    );
  }
  if (!policy.allowPrivate) for (const entry of addresses) refuseAddress(entry.address, host);
  return first;
}

/** Form and resolution together, as the API checks a URL a user registers. */
export async function checkNewWebhookTarget(
  raw: string,
  policy: TargetPolicy,
  lookup?: Lookup,
): Promise<URL> {
  const url = checkWebhookUrl(raw, policy);
  try {
    await resolveWebhookTarget(url, policy, lookup);
  } catch (error) {
    // A name that exists but could not be looked up this moment is judged at delivery instead.
    const transient =
      error instanceof WebhookTargetError &&
      error.code === 'unresolvable_webhook_host' &&
      !/does not resolve/.test(error.message);
    if (!transient) throw error;
  }
  return url;
}

/** The URL's host as a connection takes it: no IPv6 brackets, no trailing dot, lower case. */
export function hostOf(url: URL): string {
  return url.hostname
    .replace(/^\[|\]$/g, '')
    .replace(/\.$/, '')
    .toLowerCase();
}

function refuseAddress(address: string, host: string): void {
  const kind = refusedAddressKind(address);
  if (!kind) return;
  const where = address === host ? host : `${host} resolves to ${address}, which`;
  throw new WebhookTargetError(
    'unsafe_webhook_target',
    `The webhook URL's host ${where} is ${kind}. ${PRIVATE_HINT}`,
  );
}
