/**
 * Random values drawn from a CSPRNG pool refilled many values at a time (one `randomFillSync` per refill, not one
 * per value, as Node's own crypto.randomUUID does). Each byte is used once. Used for CSP nonces, session ids,
 * CSRF tokens and request ids.
 */
import { randomFillSync } from 'node:crypto';

export type Encode = (pool: Buffer, start: number, end: number) => string;

export function randomPool(bytesPerValue: number, valuesPerRefill: number, encode: Encode): () => string {
  const size = bytesPerValue * valuesPerRefill;
  let pool = Buffer.alloc(0);
  let offset = size;
  return () => {
    if (offset >= size) {
      pool = randomFillSync(Buffer.alloc(size));
      offset = 0;
    }
    const value = encode(pool, offset, offset + bytesPerValue);
    offset += bytesPerValue;
    return value;
  };
}
