/**
 * The one keyed hash that names an account in audit lines and throttle keys (sign-in, sign-up, passwords, account
 * pages): HMAC-SHA256 of the trimmed, lowercased email under a key derived from SESSION_SECRET with HKDF, hex, first
 * 128 bits. One account's events correlate across features, and someone holding the secret can check an address
 * against the log, while the log never holds one.
 */
import { createHmac, hkdfSync } from 'node:crypto';
import { normaliseEmail } from '../backends/credentials.ts';

const HKDF_INFO = 'lpa-front audit user hash v1';
const HASH_HEX_CHARS = 32;

export type AccountHasher = (email: string) => string;

export function createAccountHasher(secret: Buffer): AccountHasher {
  const key = Buffer.from(hkdfSync('sha256', secret, Buffer.alloc(0), HKDF_INFO, 32));
  return (email) =>
    createHmac('sha256', key).update(normaliseEmail(email), 'utf8').digest('hex').slice(0, HASH_HEX_CHARS);
}
