import { z } from 'zod';

/** Ids are opaque: a short prefix, then URL-safe random characters. */
export const idSchema = z.string().regex(/^[a-z]{1,4}_[A-Za-z0-9_-]{8,64}$/, 'malformed id');
export const sessionIdSchema = idSchema;
export const deviceIdSchema = idSchema;
export const corrIdSchema = z.string().min(1).max(128);

/** Random id with a prefix, from Web Crypto (works in Node and browsers). */
export function newId(prefix: string): string {
  const bytes = new Uint8Array(16);
  webCrypto().getRandomValues(bytes);
  let out = '';
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  for (const b of bytes) out += alphabet[b & 63]!;
  return `${prefix}_${out}`;
}

interface RandomSource {
  getRandomValues(array: Uint8Array): Uint8Array;
}

/** Web Crypto without DOM or Node typings: the package compiles with `types: []`. */
function webCrypto(): RandomSource {
  return (globalThis as unknown as { crypto: RandomSource }).crypto;
}
