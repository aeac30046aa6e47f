// Which addresses egress may connect to (OWASP A10): one table of non-public IPv4 and IPv6 ranges, read by
// classifyAddress (checked before connecting) and by the net.BlockList Node's connect enforces (checked again).
// Pure: no connection is opened here.
import net from 'node:net';

export type AddressCategory =
  | 'public'
  | 'loopback'
  | 'private'
  | 'unique-local'
  | 'cgnat'
  | 'link-local'
  | 'unspecified'
  | 'multicast'
  | 'reserved'
  | 'invalid';

/** Categories that allowPrivateFor hosts may resolve to. */
export const PRIVATE_OK: ReadonlySet<AddressCategory> = new Set(['loopback', 'private', 'unique-local', 'cgnat']);

// The one table of non-public ranges. classifyAddress reads it, and so does the net.BlockList handed to every
// connection, so Node's own connect refuses these addresses too (defence in depth), whatever the checks above it.
const V4_RULES: readonly (readonly [network: string, prefix: number, category: AddressCategory])[] = [
  ['0.0.0.0', 8, 'unspecified'], // "this network"; 0.0.0.0 reaches the local host on Linux
  ['10.0.0.0', 8, 'private'],
  ['100.64.0.0', 10, 'cgnat'],
  ['127.0.0.0', 8, 'loopback'],
  ['169.254.0.0', 16, 'link-local'], // includes 169.254.169.254, the cloud metadata service
  ['172.16.0.0', 12, 'private'],
  ['192.0.0.0', 24, 'reserved'], // IETF protocol assignments
  ['192.0.2.0', 24, 'reserved'], // documentation
  ['192.88.99.0', 24, 'reserved'], // 6to4 relay anycast
  ['192.168.0.0', 16, 'private'],
  ['198.18.0.0', 15, 'reserved'], // benchmarking
  ['198.51.100.0', 24, 'reserved'], // documentation
  ['203.0.113.0', 24, 'reserved'], // documentation
  ['224.0.0.0', 4, 'multicast'],
  ['240.0.0.0', 4, 'reserved'], // includes 255.255.255.255
];

// IPv6 outside these ranges is global unicast. Two ranges are left out on purpose and judged by the IPv4
// address they embed: ::ffff:0:0/96 (IPv4-mapped) and 64:ff9b::/96 (NAT64, what DNS64 answers on an
// IPv6-only network).
const V6_RULES: readonly (readonly [first: string, last: string, category: AddressCategory])[] = [
  ['::', '::', 'unspecified'],
  ['::1', '::1', 'loopback'],
  ['::2', '::fffe:ffff:ffff', 'reserved'], // includes ::/96, the deprecated IPv4-compatible form
  ['0:0:0:0:1::', '64:ff9a:ffff:ffff:ffff:ffff:ffff:ffff', 'reserved'],
  ['64:ff9b:0:0:0:1::', '1fff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', 'reserved'], // 64:ff9b:1::/48, 100::/64, ...
  ['2001::', '2001:1ff:ffff:ffff:ffff:ffff:ffff:ffff', 'reserved'], // 2001::/23, includes Teredo 2001::/32
  ['2001:db8::', '2001:db8:ffff:ffff:ffff:ffff:ffff:ffff', 'reserved'], // documentation
  ['2002::', '2002:ffff:ffff:ffff:ffff:ffff:ffff:ffff', 'reserved'], // 6to4 hides an IPv4 address
  ['4000::', 'fbff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', 'reserved'],
  ['fc00::', 'fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', 'unique-local'],
  ['fe00::', 'fe7f:ffff:ffff:ffff:ffff:ffff:ffff:ffff', 'reserved'],
  ['fe80::', 'febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff', 'link-local'],
  ['fec0::', 'feff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', 'reserved'], // deprecated site-local
  ['ff00::', 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', 'multicast'],
];

function v4ToInt(address: string): number | undefined {
  const parts = address.split('.');
  if (parts.length !== 4) return undefined;
  let n = 0;
  for (const part of parts) {
    if (!/^\d{1,3}$/.test(part)) return undefined;
    const octet = Number(part);
    if (octet > 255) return undefined;
    n = n * 256 + octet;
  }
  return n;
}

const V4_TABLE = V4_RULES.map(([network, prefix, category]) => {
  const start = v4ToInt(network) ?? 0;
  return { start, end: start + 2 ** (32 - prefix) - 1, category };
});

function classifyV4(n: number): AddressCategory {
  return V4_TABLE.find((r) => n >= r.start && n <= r.end)?.category ?? 'public';
}

/** Eight 16-bit groups of an IPv6 address (accepts '::' and a trailing dotted quad), or undefined. */
function v6Groups(address: string): number[] | undefined {
  let text = address;
  const lastColon = text.lastIndexOf(':');
  const last = text.slice(lastColon + 1);
  if (last.includes('.')) {
    // ::ffff:127.0.0.1 -> ::ffff:7f00:1
    const v4 = v4ToInt(last);
    if (v4 === undefined) return undefined;
    text = `${text.slice(0, lastColon + 1)}${Math.floor(v4 / 65536).toString(16)}:${(v4 % 65536).toString(16)}`;
  }
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const parse = (part: string): number[] | undefined => {
    if (part === '') return [];
    const out: number[] = [];
    for (const group of part.split(':')) {
      if (!/^[0-9a-f]{1,4}$/i.test(group)) return undefined;
      out.push(parseInt(group, 16));
    }
    return out;
  };
  const head = parse(halves[0] ?? '');
  const tail = halves.length === 2 ? parse(halves[1] ?? '') : [];
  if (head === undefined || tail === undefined) return undefined;
  if (halves.length === 1) return head.length === 8 ? head : undefined;
  const missing = 8 - head.length - tail.length;
  if (missing < 1) return undefined;
  return [...head, ...new Array<number>(missing).fill(0), ...tail];
}

function compareGroups(x: readonly number[], y: readonly number[]): number {
  for (let i = 0; i < 8; i += 1) {
    const d = (x[i] ?? 0) - (y[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

const V6_TABLE = V6_RULES.map(([first, last, category]) => ({
  first: v6Groups(first) ?? [],
  last: v6Groups(last) ?? [],
  category,
}));

function classifyV6(groups: readonly number[]): AddressCategory {
  const embeddedV4 = (groups[6] ?? 0) * 65536 + (groups[7] ?? 0);
  const prefix = groups.slice(0, 6).join(':');
  if (prefix === '0:0:0:0:0:65535') return classifyV4(embeddedV4); // ::ffff:a.b.c.d
  if (prefix === '100:65435:0:0:0:0') return classifyV4(embeddedV4); // 64:ff9b::a.b.c.d
  const rule = V6_TABLE.find((r) => compareGroups(groups, r.first) >= 0 && compareGroups(groups, r.last) <= 0);
  return rule?.category ?? 'public';
}

/**
 * A net.BlockList of every non-public range (less the PRIVATE_OK ones when allowPrivate), for Node's connect
 * to enforce. It matches IPv4-mapped IPv6 addresses against the IPv4 rules by itself.
 */
export function nonPublicBlockList(allowPrivate: boolean): net.BlockList {
  const list = new net.BlockList();
  const blocked = (category: AddressCategory): boolean => !(allowPrivate && PRIVATE_OK.has(category));
  for (const [network, prefix, category] of V4_RULES) {
    if (!blocked(category)) continue;
    list.addSubnet(network, prefix, 'ipv4');
    list.addSubnet(`64:ff9b::${network}`, 96 + prefix, 'ipv6');
  }
  for (const [first, last, category] of V6_RULES) {
    if (!blocked(category)) continue;
    if (first === last) list.addAddress(first, 'ipv6');
    else list.addRange(first, last, 'ipv6');
  }
  return list;
}

/** What kind of address this is; only 'public' may be reached without allowPrivateFor. */
export function classifyAddress(address: string): AddressCategory {
  const family = net.isIP(address);
  if (family === 4) {
    const n = v4ToInt(address);
    return n === undefined ? 'invalid' : classifyV4(n);
  }
  if (family === 6) {
    if (address.includes('%')) return 'link-local'; // a zone index only makes sense for link-local scope
    const groups = v6Groups(address);
    return groups === undefined ? 'invalid' : classifyV6(groups);
  }
  return 'invalid';
}
