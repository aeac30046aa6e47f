/**
 * The one Accept-Encoding negotiator (RFC 9110 §12.5.3), used by pre-rendered pages (compression.ts) and static
 * assets (assets.ts), so both answer a header the same way.
 *
 * - A coding named explicitly wins over `*`, wherever each stands; `x-gzip` is gzip (§8.4.1.3); names are
 *   case-insensitive and whitespace around `,` `;` `=` is ignored.
 * - q=0 refuses. A q that does not match the grammar (`0.0000`, `2`, `abc`) counts as a refusal too: sending the
 *   body uncompressed is always safe, guessing at a coding the client may not read is not.
 * - Highest q wins among the codings we have; on a tie our order (br, then gzip) decides. Identity wins only when
 *   the client ranks it above every coding it accepts. When nothing is acceptable the body goes uncompressed,
 *   even after `identity;q=0` (§12.5.3: a server may disregard the header rather than answer 406).
 */

export type Coding = 'br' | 'gzip';
export type Encoding = Coding | 'identity';

/** Our preference on equal q: smaller bodies first. */
const ORDER: readonly Coding[] = ['br', 'gzip'];

/** RFC 9110 §12.4.2 qvalue: "0" [ "." 0*3DIGIT ] / "1" [ "." 0*3("0") ]. */
function isQvalue(value: string): boolean {
  if (value === '0' || value === '1') return true;
  if (value.length < 2 || value.length > 5 || value[1] !== '.') return false;
  const decimals = value.slice(2);
  if (value.startsWith('0')) return /^\d*$/.test(decimals);
  return value.startsWith('1') && /^0*$/.test(decimals);
}

/** Per coding (lower-cased, `x-gzip` folded into gzip), the q the header gives it; `*` under its own name. */
type Weights = ReadonlyMap<string, number>;

function parse(header: string): Weights {
  const weights = new Map<string, number>();
  for (const member of header.split(',')) {
    const [rawName = '', ...params] = member.split(';');
    let name = rawName.trim().toLowerCase();
    if (name === '') continue;
    if (name === 'x-gzip') name = 'gzip';
    let q = 1;
    for (const param of params) {
      const eq = param.indexOf('=');
      const key = (eq === -1 ? param : param.slice(0, eq)).trim().toLowerCase();
      if (key !== 'q') continue;
      const value = eq === -1 ? '' : param.slice(eq + 1).trim();
      q = isQvalue(value) ? Number(value) : 0;
    }
    // Named twice: the lower weight stands (a refusal is never undone by a repeat).
    const seen = weights.get(name);
    weights.set(name, seen === undefined ? q : Math.min(seen, q));
  }
  return weights;
}

/** Per header: its weights and, per set of available codings (a 2-bit mask), the answer once computed. */
interface Parsed {
  readonly weights: Weights;
  readonly answers: (Encoding | undefined)[];
}

const cache = new Map<string, Parsed>();
const CACHE_MAX = 64;

/**
 * Browsers send a handful of distinct headers, so answers are remembered (at most 64 headers); pages ask per request.
 */
function parsedOf(header: string): Parsed {
  let parsed = cache.get(header);
  if (parsed === undefined) {
    parsed = { weights: parse(header), answers: [] };
    if (cache.size < CACHE_MAX) cache.set(header, parsed);
  }
  return parsed;
}

function choose(weights: Weights, br: boolean, gzip: boolean): Encoding {
  const star = weights.get('*');
  let best: Coding | undefined;
  let bestQ = 0;
  for (const coding of ORDER) {
    if (!(coding === 'br' ? br : gzip)) continue;
    const q = weights.get(coding) ?? star ?? 0;
    if (q > bestQ) {
      best = coding;
      bestQ = q;
    }
  }
  if (best === undefined) return 'identity';
  const identity = weights.get('identity');
  return identity !== undefined && identity > bestQ ? 'identity' : best;
}

/**
 * The encoding to send, given the request's Accept-Encoding and the codings this response has ready.
 * No header, or an empty one, means identity (§12.5.3: an empty value asks for no coding).
 */
export function negotiateEncoding(
  acceptEncoding: string | undefined,
  available: Readonly<Partial<Record<Coding, boolean>>>,
): Encoding {
  if (acceptEncoding === undefined || acceptEncoding === '') return 'identity';
  const br = available.br === true;
  const gzip = available.gzip === true;
  const parsed = parsedOf(acceptEncoding);
  const mask = (br ? 1 : 0) | (gzip ? 2 : 0);
  return (parsed.answers[mask] ??= choose(parsed.weights, br, gzip));
}
