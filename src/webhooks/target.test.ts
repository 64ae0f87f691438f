import { describe, expect, it } from 'vitest';
import { refusedAddressKind } from './addresses.js';
import {
  checkNewWebhookTarget,
  checkWebhookUrl,
  type Lookup,
  resolveWebhookTarget,
  STRICT_TARGETS,
} from './target.js';

const OPEN = { allowPrivate: true, allowHttp: true };

/** A resolver that answers from a table: no DNS traffic leaves the test. */
const dns =
  (table: Record<string, string[]>): Lookup =>
  async (host) => {
    const found = table[host];
    if (!found)
      throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
    return found.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
  };

describe('refusedAddressKind', () => {
  it.each([
    ['127.0.0.1', 'loopback'],
    ['127.255.0.9', 'loopback'],
    ['::1', 'loopback'],
    ['10.0.0.1', 'private'],
    ['172.16.5.4', 'private'],
    ['172.31.255.255', 'private'],
    ['192.168.1.1', 'private'],
    ['100.64.0.1', 'carrier-grade NAT'],
    ['169.254.169.254', 'link-local'],
    ['fe80::1', 'link-local'],
    ['fe80::1%eth0', 'link-local'],
    ['fd12:3456::1', 'unique-local'],
    ['fc00::1', 'unique-local'],
    ['0.0.0.0', 'unspecified'],
    ['::', 'unspecified'],
    ['224.0.0.251', 'multicast'],
    ['ff02::1', 'multicast'],
    ['255.255.255.255', 'reserved'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:7f00:1', 'loopback'],
    ['::ffff:a9fe:a9fe', 'link-local'],
    ['::ffff:10.1.1.1', 'private'],
    ['::127.0.0.1', 'loopback'],
    ['64:ff9b::169.254.169.254', 'link-local'],
    ['2002:c0a8:0101::1', 'private'],
  ])('refuses %s as %s', (address, kind) => {
    expect(refusedAddressKind(address)).toContain(kind);
  });

  it.each([
    '8.8.8.8',
    '93.184.215.14',
    '172.32.0.1',
    '100.128.0.1',
    '2606:4700:4700::1111',
    '::ffff:8.8.8.8',
  ])('allows the public address %s', (address) => {
    expect(refusedAddressKind(address)).toBeNull();
  });
});

describe('checkWebhookUrl', () => {
  it.each([
    ['not a url', /not a valid absolute URL/],
    ['ftp://example.com/hook', /must be an https:\/\/ URL; ftp: URLs are not supported/],
    ['file:///etc/passwd', /file: URLs are not supported/],
    ['javascript:alert(1)', /javascript: URLs are not supported/],
    ['http://example.com/hook', /must use https:\/\/ .*WEBHOOK_ALLOW_HTTP=true/],
    ['https://user:pass@example.com/hook', /must not contain a user name or password/],
    ['https://example.com:22/hook', /port 22 is refused/],
    ['https://example.com/hook#x', /#fragment/],
    [`https://example.com/${'a'.repeat(2000)}`, /longer than 2000 characters/],
    [
      'https://127.0.0.1/hook',
      /host 127.0.0.1 is a loopback address.*WEBHOOK_ALLOW_PRIVATE_TARGETS=true/,
    ],
    ['https://[::1]/hook', /host ::1 is a loopback address/],
    ['https://169.254.169.254/latest/meta-data', /link-local address/],
    ['https://0x7f.1/hook', /host 127.0.0.1 is a loopback address/],
    ['https://2130706433/hook', /host 127.0.0.1 is a loopback address/],
    ['https://017700000001/hook', /host 127.0.0.1 is a loopback address/],
    ['https://127.1/hook', /host 127.0.0.1 is a loopback address/],
    ['https://[::ffff:127.0.0.1]/hook', /loopback address/],
    ['https://0.0.0.0/hook', /unspecified/],
    ['https://localhost/hook', /host localhost names this machine or a private network/],
    ['https://LOCALHOST./hook', /host localhost names this machine/],
    ['https://api.localhost/hook', /names this machine/],
    ['https://printer.local/hook', /names this machine/],
    ['https://metadata.google.internal/computeMetadata', /names this machine/],
    ['https://intranet/hook', /names this machine or a private network/],
  ])('refuses %s', (url, message) => {
    expect(() => checkWebhookUrl(url, STRICT_TARGETS)).toThrow(message);
  });

  it('accepts a public https URL, and what the operator allows', () => {
    expect(checkWebhookUrl('https://hooks.example.com/a?b=c', STRICT_TARGETS).href).toBe(
      'https://hooks.example.com/a?b=c',
    );
    expect(checkWebhookUrl('https://93.184.215.14:8443/x', STRICT_TARGETS).port).toBe('8443');
    expect(checkWebhookUrl('http://127.0.0.1:9000/hook', OPEN).host).toBe('127.0.0.1:9000');
    expect(() =>
      checkWebhookUrl('http://127.0.0.1/', { allowPrivate: true, allowHttp: false }),
    ).toThrow(/must use https/);
  });
});

describe('resolveWebhookTarget', () => {
  const table = dns({
    'hooks.example.com': ['93.184.215.14'],
    'rebind.example.com': ['93.184.215.14', '127.0.0.1'],
    'v6.example.com': ['2606:4700::1'],
    'mapped.example.com': ['::ffff:169.254.169.254'],
  });

  it('resolves once and answers the address to connect to', async () => {
    const url = new URL('https://hooks.example.com/x');
    expect(await resolveWebhookTarget(url, STRICT_TARGETS, table)).toEqual({
      address: '93.184.215.14',
      family: 4,
    });
    expect(
      await resolveWebhookTarget(new URL('https://v6.example.com/'), STRICT_TARGETS, table),
    ).toEqual({ address: '2606:4700::1', family: 6 });
  });

  it('refuses a name with any private address, saying which', async () => {
    await expect(
      resolveWebhookTarget(new URL('https://rebind.example.com/'), STRICT_TARGETS, table),
    ).rejects.toThrow(/rebind.example.com resolves to 127.0.0.1, which is a loopback address/);
    await expect(
      resolveWebhookTarget(new URL('https://mapped.example.com/'), STRICT_TARGETS, table),
    ).rejects.toThrow(/resolves to ::ffff:169.254.169.254, which is a link-local address/);
    expect(
      await resolveWebhookTarget(new URL('https://rebind.example.com/'), OPEN, table),
    ).toMatchObject({ address: '93.184.215.14' });
  });

  it('refuses a name that does not exist at registration, with the next step', async () => {
    await expect(
      checkNewWebhookTarget('https://no-such-host.example.com/', STRICT_TARGETS, table),
    ).rejects.toThrow(/does not resolve \(no such name in DNS\): check its spelling/);
    const flaky: Lookup = async () => {
      throw Object.assign(new Error('timeout'), { code: 'EAI_AGAIN' });
    };
    // A DNS hiccup is no reason to refuse: the delivery checks again anyway.
    expect(
      (await checkNewWebhookTarget('https://x.example.com/', STRICT_TARGETS, flaky)).host,
    ).toBe('x.example.com');
  });

  it('refuses a real name that resolves to this machine', async () => {
    // `localhost` is refused by name first; the system resolver is asked for real here.
    await expect(
      checkNewWebhookTarget('https://localhost/', { allowPrivate: false, allowHttp: false }),
    ).rejects.toThrow(/names this machine/);
    await expect(
      resolveWebhookTarget(new URL('https://localhost/'), STRICT_TARGETS),
    ).rejects.toThrow(/localhost resolves to (127.0.0.1|::1), which is a loopback address/);
  });
});
