/**
 * Which IP addresses a webhook may never reach unless the operator allows private targets: the
 * machine itself, its networks, the cloud's metadata service, and addresses that are not one
 * host. IPv6 forms that carry an IPv4 address (mapped, compatible, NAT64, 6to4) are judged by the
 * IPv4 address inside, so `::ffff:127.0.0.1` is loopback like `127.0.0.1`.
 */
import { isIPv4, isIPv6 } from 'node:net';

interface Range {
  readonly bytes: readonly number[];
  readonly bits: number;
  readonly kind: string;
}

const range = (address: string, bits: number, kind: string): Range => ({
  bytes: isIPv4(address) ? ipv4Bytes(address) : ipv6Bytes(address),
  bits,
  kind,
});

const IPV4_REFUSED: readonly Range[] = [
  range('0.0.0.0', 8, 'an unspecified ("this network") address'),
  range('10.0.0.0', 8, 'a private address'),
  range('100.64.0.0', 10, 'a shared (carrier-grade NAT) address'),
  range('127.0.0.0', 8, 'a loopback address'),
  range('169.254.0.0', 16, 'a link-local address (where cloud metadata services live)'),
  range('172.16.0.0', 12, 'a private address'),
  range('192.0.0.0', 24, 'a reserved (IETF protocol) address'),
  range('192.0.2.0', 24, 'a documentation address'),
  range('192.168.0.0', 16, 'a private address'),
  range('198.18.0.0', 15, 'a benchmarking address'),
  range('198.51.100.0', 24, 'a documentation address'),
  range('203.0.113.0', 24, 'a documentation address'),
  range('224.0.0.0', 4, 'a multicast address'),
  range('240.0.0.0', 4, 'a reserved address'),
];

const IPV6_REFUSED: readonly Range[] = [
  range('::', 128, 'an unspecified address'),
  range('::1', 128, 'a loopback address'),
  range('100::', 64, 'a discard address'),
  range('2001::', 32, 'a Teredo tunnel address'),
  range('2001:db8::', 32, 'a documentation address'),
  range('fc00::', 7, 'a unique-local (private) address'),
  range('fe80::', 10, 'a link-local address'),
  range('fec0::', 10, 'a site-local address'),
  range('ff00::', 8, 'a multicast address'),
];

/** IPv6 prefixes whose address carries an IPv4 one, and where its four bytes sit. */
const IPV4_CARRIERS: readonly { range: Range; offset: number }[] = [
  { range: range('::ffff:0:0', 96, 'IPv4-mapped'), offset: 12 },
  { range: range('::', 96, 'IPv4-compatible'), offset: 12 },
  { range: range('64:ff9b::', 96, 'NAT64'), offset: 12 },
  { range: range('64:ff9b:1::', 48, 'local NAT64'), offset: 12 },
  { range: range('2002::', 16, '6to4'), offset: 2 },
];

/** Why a webhook must not go to `address`, e.g. "a loopback address"; null when it may. */
export function refusedAddressKind(address: string): string | null {
  if (isIPv4(address)) return matching(ipv4Bytes(address), IPV4_REFUSED);
  if (!isIPv6(address)) return 'not an IP address';
  const bytes = ipv6Bytes(address);
  const own = matching(bytes, IPV6_REFUSED);
  if (own) return own;
  for (const carrier of IPV4_CARRIERS) {
    if (!inRange(bytes, carrier.range)) continue;
    const inner = matching(bytes.slice(carrier.offset, carrier.offset + 4), IPV4_REFUSED);
    if (inner) return inner;
  }
  return null;
}

function matching(bytes: readonly number[], ranges: readonly Range[]): string | null {
  return ranges.find((r) => r.bytes.length === bytes.length && inRange(bytes, r))?.kind ?? null;
}

function inRange(bytes: readonly number[], r: Range): boolean {
  for (let bit = 0; bit < r.bits; bit += 8) {
    const take = Math.min(8, r.bits - bit);
    const mask = (0xff << (8 - take)) & 0xff;
    const index = bit / 8;
    if (((bytes[index] ?? 0) & mask) !== ((r.bytes[index] ?? 0) & mask)) return false;
  }
  return true;
}

function ipv4Bytes(address: string): number[] {
  return address.split('.').map(Number);
}

/** The 16 bytes of a valid IPv6 address (with `::` and a trailing dotted IPv4 part). */
export function ipv6Bytes(address: string): number[] {
  let text = address.replace(/%.*$/, ''); // a zone id (fe80::1%eth0) names an interface only
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (dotted) {
    const [a, b, c, d] = dotted.slice(1).map(Number) as [number, number, number, number];
    const hex = (high: number, low: number) => ((high << 8) | low).toString(16);
    text = `${text.slice(0, dotted.index)}${hex(a, b)}:${hex(c, d)}`;
  }
  const parse = (part: string) => (part ? part.split(':').map((w) => Number.parseInt(w, 16)) : []);
  const [head = '', rest] = text.split('::');
  const front = parse(head);
  const back = rest === undefined ? [] : parse(rest);
  const zeros = Array<number>(8 - front.length - back.length).fill(0);
  return [...front, ...zeros, ...back].flatMap((w) => [(w >> 8) & 0xff, w & 0xff]);
}
