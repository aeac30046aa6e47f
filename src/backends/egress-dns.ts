// DNS for egress (DNS rebinding defence): a host is resolved once, every address it resolves to must be allowed,
// and the connection is pinned to those checked addresses (pinnedLookup), so no second DNS answer is ever used.
import net from 'node:net';
import { lookup as dnsLookup } from 'node:dns/promises';
import type { LookupAddress, LookupOptions } from 'node:dns';
import { classifyAddress, PRIVATE_OK } from './egress-addresses.ts';
import type { Deadline } from './egress-deadline.ts';
import { withinDeadline } from './egress-deadline.ts';
import { EgressError } from './egress-types.ts';

/** Resolves a host name to its addresses. */
export type Resolver = (host: string) => Promise<string[]>;

export async function defaultResolve(host: string): Promise<string[]> {
  const results = await dnsLookup(host, { all: true, order: 'verbatim' });
  return results.map((r) => r.address);
}

export interface CheckedAddress {
  address: string;
  family: 4 | 6;
}

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/** A `lookup` for net.connect that answers only with the addresses already checked: no second DNS query. */
export function pinnedLookup(addresses: readonly CheckedAddress[]) {
  return (_hostname: string, options: LookupOptions, callback: LookupCallback): void => {
    const wanted = options.family === 4 || options.family === 6 ? options.family : 0;
    const usable = addresses.filter((a) => wanted === 0 || a.family === wanted);
    const first = usable[0];
    if (first === undefined) {
      const err: NodeJS.ErrnoException = new Error('no checked address of the requested family');
      err.code = 'ENOTFOUND';
      callback(err, '', 0);
      return;
    }
    if (options.all)
      callback(
        null,
        usable.map((a) => ({ address: a.address, family: a.family })),
      );
    else callback(null, first.address, first.family);
  };
}

/** The host's addresses, each checked: all public, or all of PRIVATE_OK when the host may be private. */
export async function resolveAndCheck(
  host: string,
  mayBePrivate: boolean,
  resolve: Resolver,
  deadline: Deadline,
): Promise<CheckedAddress[]> {
  let addresses: string[];
  if (net.isIP(host) !== 0) {
    addresses = [host];
  } else {
    try {
      addresses = await withinDeadline(resolve(host), deadline);
    } catch (err) {
      if (err instanceof EgressError) throw err;
      throw new EgressError('NETWORK', `could not resolve ${host}`, { cause: err });
    }
  }
  if (addresses.length === 0) throw new EgressError('NETWORK', `${host} resolved to no address`);
  const checked: CheckedAddress[] = [];
  for (const address of addresses) {
    const category = classifyAddress(address);
    const ok = category === 'public' || (mayBePrivate && PRIVATE_OK.has(category));
    if (!ok) {
      // Every address must pass: with several, the connection could use any of them.
      throw new EgressError('ADDRESS_NOT_ALLOWED', `${host} resolves to a ${category} address`);
    }
    checked.push({ address, family: net.isIP(address) === 6 ? 6 : 4 });
  }
  return checked;
}
