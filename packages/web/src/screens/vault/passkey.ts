import { VaultUiError } from '../../model/vault-errors.js';

/**
 * WebAuthn with the PRF extension, as the vault uses it: a discoverable
 * passkey with user verification whose PRF output over a fixed random salt
 * (stored on the server) is stable, so one prompt per unlock derives the key
 * that opens this browser's wrapped identity. The PRF output never leaves
 * this page: it is not in anything posted to the server.
 */

/** Bytes over a plain ArrayBuffer, as WebAuthn and Web Crypto take them. */
export type Bytes = Uint8Array<ArrayBuffer>;

export interface CreatedPasskey {
  credentialId: Bytes;
  /** The PRF output for the salt, or null when the authenticator gave none (at create or at the follow-up get). */
  prf: Bytes | null;
}

function webauthn(): CredentialsContainer {
  // Absent outside a secure context, whatever the DOM typings say.
  const { credentials } = navigator as { credentials?: CredentialsContainer };
  if (typeof PublicKeyCredential === 'undefined' || !credentials) throw new VaultUiError('webauthn_unavailable');
  return credentials;
}

/**
 * Create a passkey for this browser's vault key and evaluate its PRF over
 * `salt`. `userId` is stable per browser identity, so re-enrolling on the same
 * authenticator replaces the old passkey instead of piling up new ones.
 * CTAP 2.1 authenticators evaluate the PRF at create(); others need a get()
 * (a second prompt, at enrolment only). Throws `prf_unsupported` when the
 * authenticator does not do PRF at all.
 */
export async function createPasskey(o: {
  userId: string;
  userName: string;
  displayName: string;
  salt: Bytes;
}): Promise<CreatedPasskey> {
  const created = await webauthn().create({
    publicKey: {
      rp: { id: location.hostname, name: 'Fabric vault' },
      user: { id: new TextEncoder().encode(o.userId), name: o.userName, displayName: o.displayName },
      challenge: random(32),
      pubKeyCredParams: [
        { type: 'public-key', alg: -7 },
        { type: 'public-key', alg: -8 },
        { type: 'public-key', alg: -257 },
      ],
      authenticatorSelection: { residentKey: 'required', requireResidentKey: true, userVerification: 'required' },
      timeout: 120_000,
      extensions: { prf: { eval: { first: o.salt } } },
    },
  });
  if (!(created instanceof PublicKeyCredential)) throw new VaultUiError('webauthn_unavailable');
  const prf = created.getClientExtensionResults().prf;
  if (prf?.enabled === false) throw new VaultUiError('prf_unsupported');
  const credentialId = Uint8Array.from(new Uint8Array(created.rawId));
  const atCreate = prf?.results?.first;
  if (atCreate !== undefined) return { credentialId, prf: checked(atCreate) };
  return { credentialId, prf: await prfFromGet(credentialId, o.salt) };
}

/** The PRF output of this credential over `salt` (one prompt); null when the authenticator signed but gave none. */
export async function prfFromGet(credentialId: Bytes, salt: Bytes): Promise<Bytes | null> {
  const got = await webauthn().get({
    publicKey: {
      rpId: location.hostname,
      challenge: random(32),
      allowCredentials: [{ type: 'public-key', id: credentialId }],
      userVerification: 'required',
      timeout: 120_000,
      extensions: { prf: { eval: { first: salt } } },
    },
  });
  if (!(got instanceof PublicKeyCredential)) throw new VaultUiError('webauthn_unavailable');
  const first = got.getClientExtensionResults().prf?.results?.first;
  return first === undefined ? null : checked(first);
}

function checked(source: BufferSource): Bytes {
  const view =
    source instanceof ArrayBuffer
      ? new Uint8Array(source)
      : new Uint8Array(source.buffer, source.byteOffset, source.byteLength);
  const out = Uint8Array.from(view);
  if (out.length !== 32) throw new VaultUiError('prf_unsupported', `a prf output of ${out.length} bytes`);
  return out;
}

export function random(n: number): Bytes {
  return crypto.getRandomValues(new Uint8Array(n));
}

export function toBase64url(bytes: Uint8Array): string {
  let binary = '';
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

export function fromBase64url(text: string): Bytes {
  const binary = atob(text.replace(/-/g, '+').replace(/_/g, '/'));
  return Uint8Array.from(binary, (c) => c.charCodeAt(0));
}
