/**
 * Every failure the Vault screen can meet, turned into one plain line that
 * says what happened and what to do. Errors arrive from three places and are
 * told apart by shape, not class (the vault library is loaded lazily, so its
 * `VaultError` class is not at hand here): `{code, message}` from the vault
 * library and from the API, DOMException `name`s from WebAuthn, and
 * {@link VaultUiError} codes from the screen's own checks.
 */

/** Codes the screen raises itself, beside the library's and the server's. */
export type VaultUiCode =
  /** The authenticator answered but gave no PRF output (a moved or restored passkey, some Safari versions). */
  | 'prf_missing'
  /** The authenticator cannot do PRF at all, so it cannot make a vault key. */
  | 'prf_unsupported'
  /** This browser has no passkey enrolled (passphrase only). */
  | 'passkey_not_enrolled'
  /** This browser has no WebAuthn. */
  | 'webauthn_unavailable'
  /** A valid phrase, but its recovery key is not in this vault's set. */
  | 'phrase_not_this_vault'
  /** The two passphrases differ, or it is too short. */
  | 'passphrase_weak'
  | 'passphrase_mismatch'
  /** The server no longer holds this browser's wrapped key. */
  | 'enrolment_missing';

/** An expected failure raised by the screen itself (never carries a secret). */
export class VaultUiError extends Error {
  constructor(
    readonly code: VaultUiCode,
    message: string = code,
  ) {
    super(message);
    this.name = 'VaultUiError';
  }
}

/** What the user was doing, which decides what a code means to them. */
export type ProblemContext =
  'load' | 'phrase' | 'enrol' | 'unlock-passkey' | 'unlock-passphrase' | 'reveal' | 'save' | 'revoke' | 'repasskey';

export interface Problem {
  code: string;
  /** One line: what happened and what to do. */
  text: string;
  /** The library's or server's own short message, when it adds a fact (which version, which word). */
  detail?: string;
  /** True when the passkey path must not be offered again on this page: the passphrase is. */
  passkeyRefused?: boolean;
}

/** What a changed passkey means, in the user's words. Shown for a missing PRF output, a key that no longer opens the wrapped identity, or a failed canary. */
export const PASSKEY_CHANGED =
  'This passkey now gives a different key — this happens after restoring it to a new device or with some Safari versions. ' +
  'Unlock with your passphrase, then re-enrol the passkey. Nothing was changed or overwritten.';

export const VAULT_NOT_INITIALIZED =
  'This server has no vault yet. On a machine you trust, run `optimal vault init`: it asks for a passphrase, enrols that CLI and your paired devices, ' +
  'and prints the 24-word recovery phrase once. Then come back here and enrol this browser with that phrase.';

const SET_CODES = new Set([
  'set_unsigned',
  'set_tampered',
  'set_signer_untrusted',
  'set_rollback',
  'set_invalid',
  'set_mixed_kinds',
]);

/** The stable code of any error, or 'unknown'. */
export function problemCode(err: unknown): string {
  if (typeof err === 'object' && err !== null) {
    const e = err as { code?: unknown; name?: unknown };
    if (typeof e.code === 'string' && e.code !== '') return e.code;
    if (typeof e.name === 'string' && e.name.endsWith('Error') && e.name !== 'Error' && e.name !== 'TypeError')
      return e.name;
  }
  return 'unknown';
}

function messageOf(err: unknown): string | undefined {
  if (typeof err === 'object' && err !== null && typeof (err as { message?: unknown }).message === 'string') {
    const m = (err as { message: string }).message;
    return m === '' ? undefined : m;
  }
  return typeof err === 'string' ? err : undefined;
}

/**
 * The problem to show for `err` met while doing `context`. `subject` names
 * the entry or recipient involved, when there is one.
 */
export function vaultProblem(err: unknown, context: ProblemContext, subject?: string): Problem {
  const code = problemCode(err);
  const detail = messageOf(err);
  // The library's or server's message is kept where it names a fact the plain line cannot (a version, a wait, a conflict's cause).
  const factual = SET_CODES.has(code) || code === 'conflict' || code === 'rate_limited';
  const p = (text: string, extra: Partial<Problem> = {}): Problem => ({
    code,
    text,
    ...(factual && detail ? { detail } : {}),
    ...extra,
  });
  const it = subject ?? 'the entry';

  if (SET_CODES.has(code)) {
    if (code === 'set_invalid' && detail?.includes('another vault')) {
      return p(
        "The server now holds a different vault from the one this browser enrolled in (it was reset, or this is another server). Forget this browser's enrolment and enrol again with the new vault's recovery phrase.",
      );
    }
    const what =
      code === 'set_rollback'
        ? 'an older recipient set than this browser has already seen'
        : 'a recipient set that does not verify';
    return p(
      `The server sent ${what}. Nothing was decrypted or sent. Compare with \`optimal vault recipients\` on a machine you trust: the server may have been tampered with.`,
    );
  }

  switch (code) {
    case 'phrase_invalid':
      // The library names the position (never the word) or the count.
      return { code, text: capitalise(detail ?? 'that is not a recovery phrase') + '.' };
    case 'phrase_checksum':
      return p(
        'All 24 are recovery words, but they do not check out: one is wrong or two are swapped. Compare with the sheet `optimal vault init` printed.',
      );
    case 'phrase_not_this_vault':
      return p("That is a valid recovery phrase, but not this vault's: its key is not among this vault's recipients.");
    case 'passphrase_wrong':
      return p('Wrong passphrase. It is the one chosen when this browser was enrolled, not your sign-in password.');
    case 'passphrase_weak':
      return p('Choose a passphrase of at least 8 characters; several words are easier to type and harder to guess.');
    case 'passphrase_mismatch':
      return p('The two passphrases differ; type the same one twice.');
    case 'prf_missing':
      return p(PASSKEY_CHANGED, { passkeyRefused: true });
    case 'canary_mismatch':
      if (context === 'unlock-passkey') return p(PASSKEY_CHANGED, { passkeyRefused: true });
      return p(
        "The passphrase opened a key that fails its check (the canary). This browser's stored key is inconsistent: enrol it again with the recovery phrase.",
      );
    case 'decrypt_failed':
      if (context === 'unlock-passkey') return p(PASSKEY_CHANGED, { passkeyRefused: true });
      if (context === 'unlock-passphrase')
        return p(
          "This browser's stored key is damaged and cannot be opened. Enrol the browser again with the recovery phrase.",
        );
      if (context === 'enrol')
        return p(
          'An entry could not be opened with the recovery phrase, so nothing was re-encrypted. Check with `optimal vault ls` on an enrolled machine.',
        );
      if (context === 'revoke')
        return p(
          'This browser cannot open every entry, so nothing was re-encrypted. Run the revocation from a machine that can (`optimal vault revoke`).',
        );
      return p(
        `This browser's key cannot open ${it}: it was not encrypted to this browser. Save it again from a machine that can read it.`,
      );
    case 'prf_unsupported':
      return p(
        'This authenticator cannot derive a vault key (no WebAuthn PRF extension). Use another passkey provider, or enrol with the passphrase only.',
      );
    case 'passkey_not_enrolled':
      return p(
        'This browser has no passkey enrolled for the vault. Unlock with the passphrase; you can add a passkey once unlocked.',
        { passkeyRefused: true },
      );
    case 'webauthn_unavailable':
      return p('This browser cannot use passkeys here. Use the passphrase.', {
        passkeyRefused: context === 'unlock-passkey',
      });
    case 'enrolment_missing':
      return p(
        "The server no longer holds this browser's wrapped key. Enrol this browser again with the recovery phrase.",
      );
    case 'NotAllowedError':
      if (context === 'unlock-passkey')
        return p('The passkey prompt was cancelled or timed out. Try again, or use the passphrase.');
      return p('The passkey prompt was cancelled or timed out. Try again, or continue without a passkey.');
    case 'InvalidStateError':
      return p(
        "This authenticator already holds a passkey for this browser's vault key. Remove it in the authenticator's settings, or pick another one.",
      );
    case 'SecurityError':
      return p(
        "Passkeys need a secure page (https or localhost) whose address matches the server's name. Use the passphrase.",
        { passkeyRefused: context === 'unlock-passkey' },
      );
    case 'NotSupportedError':
      return p(
        'This authenticator does not support what the vault needs (a discoverable passkey with user verification). Use another, or the passphrase.',
      );
    case 'AbortError':
      return p('The passkey prompt was interrupted. Try again.');
    case 'vault_not_initialized':
      return p(VAULT_NOT_INITIALIZED);
    case 'conflict':
      if (context === 'save')
        return p(
          `Not saved: ${it} was changed elsewhere, or the vault's recipients changed, since the list was loaded. The list is refreshed; check it, then save again.`,
        );
      return p(
        'The vault changed while this ran (another client enrolled, revoked or saved something). Nothing is lost: try again.',
      );
    case 'forbidden':
      if (context === 'enrol')
        return p('Only an owner can enrol a browser: it changes who can decrypt the vault. Ask an owner.');
      if (context === 'revoke') return p('Only an owner can revoke a recipient.');
      return p('You are not allowed to do this; ask an owner.');
    case 'not_found':
      if (context === 'unlock-passkey' || context === 'unlock-passphrase')
        return p(
          "The server no longer holds this browser's wrapped key. Enrol this browser again with the recovery phrase.",
        );
      return p('Not found on the server; refresh the list.');
    case 'credential_not_found':
      return p(`${capitalise(it)} is no longer in the vault; the list is refreshed.`);
    case 'rate_limited':
      if (context.startsWith('unlock')) return p('Too many unlock attempts from here. Wait a minute, then try again.');
      return p('Too many requests. Wait a minute, then try again.');
    case 'network':
      return p('Cannot reach the control plane. Check your connection and try again.');
    case 'cloud_only':
      return p('This control plane runs in local mode: the vault lives on the fabric (cloud) control plane.');
    case 'unauthorized':
    case 'token_missing':
    case 'token_invalid':
    case 'token_expired':
      return p('Your sign-in has expired. Sign in again.');
    default:
      return { code, text: detail ? `Something went wrong: ${detail}` : 'Something went wrong. Try again.' };
  }
}

function capitalise(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}
