/**
 * Which address a request comes from, when reverse proxies stand in front of the Controller.
 *
 * `X-Forwarded-For` is a list every proxy appends its peer to, so only its right-hand end was written
 * by proxies we run; anything to the left of that may have come from the client itself. The client is
 * therefore the right-most address that is not one of our proxies — the rule of Express'
 * `trust proxy` and nginx's `real_ip_recursive`. Taking the left-most entry (what this code did
 * before) let any client pick its own address, and with it its login rate-limit bucket and the IP
 * its audit events record.
 */

/** How far the Controller trusts the hops in front of it (TRUST_PROXY). */
export type TrustProxy =
  /** No proxy: the socket peer is the client. */
  | { kind: 'none' }
  /** Exactly this many proxies stand in front (`true` = 1): the client is that many hops back. */
  | { kind: 'hops'; hops: number }
  /** Proxies are recognised by address: walk back over trusted addresses only. */
  | { kind: 'list'; ranges: Cidr[] };

export interface Cidr {
  /** 4 bytes (IPv4) or 16 bytes (IPv6). */
  bytes: Uint8Array;
  prefix: number;
  /** As configured, for messages. */
  text: string;
}

/** Names Express accepts in its trust list, for the ranges operators usually mean. */
const NAMED: Record<string, string[]> = {
  loopback: ['127.0.0.1/8', '::1/128'],
  linklocal: ['169.254.0.0/16', 'fe80::/10'],
  uniquelocal: ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', 'fc00::/7'],
};

function parseIpv4(s: string): Uint8Array | undefined {
  const parts = s.split('.');
  if (parts.length !== 4) return undefined;
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const p = parts[i]!;
    if (!/^\d{1,3}$/.test(p) || (p.length > 1 && p[0] === '0')) return undefined;
    const n = Number(p);
    if (n > 255) return undefined;
    out[i] = n;
  }
  return out;
}

function parseIpv6(s: string): Uint8Array | undefined {
  // A zone (fe80::1%eth0) names an interface on this host; it does not change the address.
  const zone = s.indexOf('%');
  if (zone >= 0) s = s.slice(0, zone);
  if (!/^[0-9a-fA-F:.]+$/.test(s)) return undefined;
  let tail: Uint8Array | undefined;
  // An embedded IPv4 tail (::ffff:10.0.0.1) stands for the last two groups.
  const lastColon = s.lastIndexOf(':');
  if (s.includes('.')) {
    tail = parseIpv4(s.slice(lastColon + 1));
    if (!tail) return undefined;
    s = `${s.slice(0, lastColon + 1)}0:0`;
  }
  const halves = s.split('::');
  if (halves.length > 2) return undefined;
  const groups = (h: string) => (h === '' ? [] : h.split(':'));
  const head = groups(halves[0]!);
  const rest = halves.length === 2 ? groups(halves[1]!) : [];
  const missing = 8 - head.length - rest.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return undefined;
  const all = [...head, ...Array<string>(halves.length === 2 ? missing : 0).fill('0'), ...rest];
  const out = new Uint8Array(16);
  for (let i = 0; i < 8; i++) {
    const g = all[i]!;
    if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
    const n = Number.parseInt(g, 16);
    out[2 * i] = n >> 8;
    out[2 * i + 1] = n & 0xff;
  }
  if (tail) out.set(tail, 12);
  return out;
}

/** IPv4-mapped IPv6 (`::ffff:10.0.0.1`, what a dual-stack socket reports) compares as the IPv4 address. */
function unmap(b: Uint8Array): Uint8Array {
  if (b.length === 16 && b.subarray(0, 10).every((x) => x === 0) && b[10] === 0xff && b[11] === 0xff) return b.slice(12);
  return b;
}

/** The bytes of an address as it appears in a header or a socket (brackets and an IPv4 port allowed), or undefined. */
export function parseIp(raw: string): Uint8Array | undefined {
  let s = raw.trim();
  if (s.startsWith('[')) {
    const end = s.indexOf(']');
    if (end < 0) return undefined;
    s = s.slice(1, end);
  } else if (/^\d+\.\d+\.\d+\.\d+:\d+$/.test(s)) {
    s = s.slice(0, s.indexOf(':'));
  }
  const b = s.includes(':') ? parseIpv6(s) : parseIpv4(s);
  return b && unmap(b);
}

/** The canonical text of an address: dotted IPv4, or compressed lower-case IPv6. */
export function formatIp(b: Uint8Array): string {
  if (b.length === 4) return b.join('.');
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((b[i]! << 8) | b[i + 1]!);
  // RFC 5952: the longest run (≥ 2) of zero groups becomes "::".
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) [best, bestLen] = [i, j - i];
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (best < 0) return hex.join(':');
  return `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLen).join(':')}`;
}

function parseCidr(text: string): Cidr {
  const slash = text.indexOf('/');
  const addr = slash < 0 ? text : text.slice(0, slash);
  const raw = addr.includes(':') ? parseIpv6(addr) : parseIpv4(addr);
  if (!raw) throw new Error(`"${text}" is not an IPv4/IPv6 address or CIDR`);
  const max = raw.length * 8;
  let prefix = max;
  if (slash >= 0) {
    const p = text.slice(slash + 1);
    if (!/^\d{1,3}$/.test(p) || Number(p) > max) throw new Error(`"${text}" has a prefix length outside 0-${max}`);
    prefix = Number(p);
  }
  // ::ffff:10.0.0.0/104 is the IPv4 range 10.0.0.0/8: addresses are compared unmapped.
  const bytes = unmap(raw);
  if (bytes.length === 4 && raw.length === 16) prefix = Math.max(0, prefix - 96);
  return { bytes, prefix, text };
}

function inRange(ip: Uint8Array, range: Cidr): boolean {
  if (ip.length !== range.bytes.length) return false;
  let bits = range.prefix;
  for (let i = 0; bits > 0; i++, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
    if ((ip[i]! & mask) !== (range.bytes[i]! & mask)) return false;
  }
  return true;
}

/**
 * TRUST_PROXY: `false` (default), `true` (one proxy), a hop count, or a comma-separated list of
 * proxy addresses/CIDRs (and the names loopback, linklocal, uniquelocal). Throws with what is wrong.
 */
export function parseTrustProxy(value: string): TrustProxy {
  const s = value.trim().toLowerCase();
  if (['false', '0', 'no', ''].includes(s)) return { kind: 'none' };
  if (['true', 'yes'].includes(s)) return { kind: 'hops', hops: 1 };
  if (/^\d+$/.test(s)) {
    const hops = Number(s);
    if (hops > 32) throw new Error('a hop count must be between 0 and 32');
    return { kind: 'hops', hops };
  }
  const ranges: Cidr[] = [];
  for (const item of s.split(',').map((x) => x.trim())) {
    if (item === '') throw new Error('an empty entry in the proxy list');
    for (const text of NAMED[item] ?? [item]) ranges.push(parseCidr(text));
  }
  return { kind: 'list', ranges };
}

export interface ClientIpInput {
  /** The TCP peer, as the runtime reports it. */
  peer?: string;
  forwardedFor?: string;
  realIp?: string;
}

/**
 * The client's address under `trust`: the socket peer unless it is a trusted proxy, else the
 * right-most forwarded address that is not one. An entry that is not an address ends the walk at the
 * hop that reported it (that hop is the last one whose word we take).
 */
export function selectClientIp(trust: TrustProxy, input: ClientIpInput): string | undefined {
  const peer = input.peer;
  if (trust.kind === 'none' || peer === undefined) return peer;
  const peerBytes = parseIp(peer);
  const trusted = (b: Uint8Array, depth: number) => (trust.kind === 'hops' ? depth < trust.hops : trust.ranges.some((r) => inRange(b, r)));
  if (!peerBytes || !trusted(peerBytes, 0)) return peer;
  const hops = input.forwardedFor
    ? input.forwardedFor
        .split(',')
        .map((x) => x.trim())
        .filter(Boolean)
        .reverse()
    : input.realIp
      ? [input.realIp.trim()]
      : [];
  let current = formatIp(peerBytes);
  for (let depth = 1; depth <= hops.length; depth++) {
    const b = parseIp(hops[depth - 1]!);
    if (!b) return current;
    current = formatIp(b);
    if (!trusted(b, depth)) return current;
  }
  return current;
}
