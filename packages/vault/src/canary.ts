import { utf8Text, zero } from './bytes.js';
import { VaultError } from './errors.js';
import { decryptEntry, encryptEntry } from './entries.js';

/** The known value in every canary. */
export const CANARY_TEXT = 'fabric-vault-canary-v1';

/**
 * A canary for one identity: CANARY_TEXT encrypted to its recipient at
 * enrolment. Before an unlock path (a passkey's PRF output, say) is trusted,
 * the identity it produced must open the canary: a PRF output that changed
 * gives another key, and this catches it before anything is written.
 */
export function makeCanary(recipient: string): Promise<string> {
  return encryptEntry(CANARY_TEXT, [recipient]);
}

/**
 * Resolves when `canary` decrypts to CANARY_TEXT with `identity`; otherwise
 * throws `canary_mismatch` (wrong key, damaged canary or another value), never
 * returns quietly.
 */
export async function checkCanary(canary: string, identity: string): Promise<void> {
  let bytes: Uint8Array;
  try {
    bytes = await decryptEntry(canary, [identity]);
  } catch {
    throw new VaultError(
      'canary_mismatch',
      'this key does not open the canary: use the passphrase or the recovery phrase',
    );
  }
  let text: string | null;
  try {
    text = utf8Text(bytes);
  } catch {
    text = null;
  } finally {
    zero(bytes);
  }
  if (text !== CANARY_TEXT)
    throw new VaultError(
      'canary_mismatch',
      'the canary holds another value: use the passphrase or the recovery phrase',
    );
}
