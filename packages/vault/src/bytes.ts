import { base64urlnopad, utf8 } from '@scure/base';

// Byte helpers shared by the package. No TextEncoder/TextDecoder: the package
// compiles against the bare ES lib, and @scure/base's strict UTF-8 coder works
// the same in browsers and Node.

/** UTF-8 bytes of a string (throws on lone surrogates). */
export function utf8Bytes(text: string): Uint8Array {
  return utf8.decode(text);
}

/** The string of UTF-8 bytes (throws on invalid UTF-8). */
export function utf8Text(bytes: Uint8Array): string {
  return utf8.encode(bytes);
}

/** Unpadded base64url (RFC 4648 §5), the encoding of public keys, signatures and hashes. */
export function toBase64url(bytes: Uint8Array): string {
  return base64urlnopad.encode(bytes);
}

/** Strict unpadded base64url decode; null when the text is not exactly that. */
export function fromBase64url(text: string): Uint8Array | null {
  try {
    return base64urlnopad.decode(text);
  } catch {
    return null;
  }
}

/**
 * Overwrite a buffer with zeros. Best effort: JavaScript gives no control over
 * copies the engine or a library made (typage's stream pipeline allocates its
 * own chunks), but the buffers this package hands out or keeps are cleared.
 */
export function zero(...buffers: Uint8Array[]): void {
  for (const b of buffers) b.fill(0);
}
