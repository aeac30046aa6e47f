/**
 * Postcode → addresses for the "Your details" page (ADR 0050), as the live front's OrdnanceSurvey service does it
 * (service-front/src/App/src/Service/AddressLookup/OrdnanceSurvey.php):
 *
 * - `os-places`: `GET {OS_PLACES_URL}?key=…&postcode=…&lr=EN` through the egress module, whose allow-list holds that
 *   one origin; the key goes in the query as OS requires and egress never logs a query.
 * - `fixture`, the embedded default when no key is set: a few addresses in OS Places' own shape
 *   (address-fixture.json), read through the same parser.
 *
 * Each OS `DPA.ADDRESS` is split into three lines and a postcode exactly as the live front splits it.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Egress, EgressLogger } from './egress.ts';
import { createEgress, privateHostsFor } from './egress.ts';

export interface LookupAddress {
  readonly line1: string;
  readonly line2: string;
  readonly line3: string;
  readonly postcode: string;
  /** The lines joined with commas, without the postcode: what the list of addresses shows. */
  readonly description: string;
}

export interface AddressLookup {
  readonly kind: 'os-places' | 'fixture';
  /** The addresses at a postcode ([] when none). Throws AddressLookupError when the service failed. */
  lookupPostcode(postcode: string): Promise<LookupAddress[]>;
  close(): void;
}

export class AddressLookupError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'AddressLookupError';
  }
}

/** A postcode worth asking about: letters, digits and spaces, 2 to 10 characters. Anything else is not sent. */
export function plausiblePostcode(value: string): boolean {
  return /^[A-Za-z0-9 ]{2,10}$/.test(value) && /[A-Za-z0-9]/.test(value);
}

const squash = (s: string) => s.replace(/\s+/g, '').toLowerCase();

/** OrdnanceSurvey::getAddressLines and getDescription, line for line. */
export function addressFromOs(address: string, postcode: string): LookupAddress {
  // Remove the comma after a leading house number ("1, High Street" → "1 High Street") and after inner ones.
  const reformatted = address.replace(/^([0-9-]+\w?),/, '$1').replace(/, ([0-9-]+\w?),/g, ', $1');
  const components = reformatted.split(',');
  if (squash(components[components.length - 1] ?? '') === squash(postcode)) components.pop();
  const count = components.length;
  const perLine = [1, 1, 1];
  if (count > 3) {
    perLine[0] = Math.floor(count / 3);
    perLine[1] = perLine[0] + (count % 3 === 2 ? 1 : 0);
    perLine[2] = perLine[1] + (count % 3 === 1 ? 1 : 0);
  }
  const lines: string[] = [];
  for (const n of perLine) {
    const parts: string[] = [];
    for (let j = 0; j < n && components.length > 0 && components[0] !== ''; j++)
      parts.push((components.shift() ?? '').trim());
    lines.push(parts.join(', '));
  }
  const [line1 = '', line2 = '', line3 = ''] = lines;
  return { line1, line2, line3, postcode, description: [line1, line2, line3].filter((l) => l !== '').join(', ') };
}

/** The addresses in an OS Places answer; throws when it is not one. */
export function addressesFromOsBody(body: unknown): LookupAddress[] {
  const b = body !== null && typeof body === 'object' ? (body as Record<string, unknown>) : null;
  const header = b?.header !== null && typeof b?.header === 'object' ? (b.header as Record<string, unknown>) : null;
  if (header?.totalresults === 0) return [];
  if (b === null || !Array.isArray(b.results))
    throw new AddressLookupError('OS Places answered something that is not a result list');
  const out: LookupAddress[] = [];
  for (const result of b.results as unknown[]) {
    const dpa = result !== null && typeof result === 'object' ? (result as Record<string, unknown>).DPA : undefined;
    const d = dpa !== null && typeof dpa === 'object' ? (dpa as Record<string, unknown>) : null;
    if (
      d === null ||
      typeof d.ADDRESS !== 'string' ||
      typeof d.POSTCODE !== 'string' ||
      d.ADDRESS.length > 500 ||
      d.POSTCODE.length > 10
    )
      continue;
    out.push(addressFromOs(d.ADDRESS, d.POSTCODE));
  }
  return out;
}

export interface OsPlacesOptions {
  readonly apiKey: string;
  /** The postcode endpoint, e.g. https://api.os.uk/search/places/v1/postcode. */
  readonly url: URL;
  readonly logger: EgressLogger;
  /** Hosts that may be private (EGRESS_ALLOW_PRIVATE), for a fake on loopback in tests. */
  readonly allowPrivateFor?: readonly string[];
  readonly egress?: Egress;
  readonly timeoutMs?: number;
}

export function osPlacesLookup(options: OsPlacesOptions): AddressLookup {
  const egress =
    options.egress ??
    createEgress({
      allowedOrigins: [options.url.origin],
      allowPrivateFor: privateHostsFor(options.allowPrivateFor ?? [], options.url),
      timeoutMs: options.timeoutMs ?? 5000,
      maxResponseBytes: 2 * 1024 * 1024,
      logger: options.logger,
    });
  return {
    kind: 'os-places',
    async lookupPostcode(postcode) {
      const url = new URL(options.url);
      url.searchParams.set('key', options.apiKey);
      url.searchParams.set('postcode', postcode);
      url.searchParams.set('lr', 'EN');
      let res;
      try {
        res = await egress.request(url, {
          headers: { accept: 'application/json', 'accept-language': 'en', 'user-agent': 'lpa-front' },
        });
      } catch (err) {
        throw new AddressLookupError('OS Places could not be reached', { cause: err });
      }
      if (res.status !== 200) throw new AddressLookupError(`OS Places answered ${String(res.status)}`);
      let body: unknown;
      try {
        body = res.json<unknown>();
      } catch (err) {
        throw new AddressLookupError('OS Places answered something that is not JSON', { cause: err });
      }
      return addressesFromOsBody(body);
    },
    close: () => {
      egress.close();
    },
  };
}

/** The embedded default: OS-shaped answers for a few postcodes (see address-fixture.json), no network. */
export function fixtureLookup(): AddressLookup {
  let byPostcode: Record<string, unknown> | undefined;
  return {
    kind: 'fixture',
    lookupPostcode(postcode) {
      byPostcode ??= JSON.parse(readFileSync(join(import.meta.dirname, 'address-fixture.json'), 'utf8')) as Record<
        string,
        unknown
      >;
      const key = squash(postcode).toUpperCase();
      const answer = Object.hasOwn(byPostcode, key) ? byPostcode[key] : { header: { totalresults: 0 } };
      return Promise.resolve(addressesFromOsBody(answer));
    },
    close: () => undefined,
  };
}
