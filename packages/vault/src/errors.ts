/**
 * Stable codes for the vault's expected failures. They reach the CLI and the
 * browser, so a code is never renamed or reused.
 *
 * Malformed key material (an identity, recipient or signer string that does
 * not parse) is reported as `set_invalid`, except inside decryption, where it
 * is `decrypt_failed`. Wrong argument types and sizes are bugs and throw
 * `TypeError` / `RangeError`.
 */
export type VaultErrorCode =
  | 'phrase_invalid'
  | 'phrase_checksum'
  | 'passphrase_wrong'
  | 'decrypt_failed'
  | 'canary_mismatch'
  | 'set_unsigned'
  | 'set_tampered'
  | 'set_signer_untrusted'
  | 'set_rollback'
  | 'set_mixed_kinds'
  | 'set_invalid';

/** An expected failure. Messages are short, lowercase and never contain a secret. */
export class VaultError extends Error {
  readonly code: VaultErrorCode;

  constructor(code: VaultErrorCode, message: string) {
    super(message);
    this.name = 'VaultError';
    this.code = code;
  }
}

/** True for a {@link VaultError}, optionally with the given code. */
export function isVaultError(err: unknown, code?: VaultErrorCode): err is VaultError {
  return err instanceof VaultError && (code === undefined || err.code === code);
}
