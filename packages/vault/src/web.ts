// Web Crypto without DOM or Node typings: the package compiles with
// `types: []`, so the little it uses directly is typed here.

/** An opaque Web Crypto key; typage's Decrypter accepts an X25519 private one. */
export type WebCryptoKey = object & { readonly type: string };

interface SubtleLike {
  importKey(
    format: 'pkcs8',
    keyData: Uint8Array,
    algorithm: { name: 'X25519' },
    extractable: false,
    usages: ['deriveBits'],
  ): Promise<WebCryptoKey>;
}

/** Web Crypto's SubtleCrypto, or undefined where there is none (an insecure browser context). */
export function subtle(): SubtleLike | undefined {
  return (globalThis as unknown as { crypto?: { subtle?: SubtleLike } }).crypto?.subtle;
}
