// The passkey path of the vault, as a browser client runs it. Bundled by
// Vite for the browser target and loaded in headless Chromium by
// ../passkey.browser.test.ts, which drives these functions through
// `window.fabricVault` against a CDP virtual authenticator.
//
// The test plays the server: it keeps the `StoredMaterial` enrol returns and
// hands it back on each unlock. Secrets (the browser identity, the PRF
// output) stay in this page; what crosses back to the test is what a server
// would store, plus the few facts the assertions need.
import {
  checkCanary,
  decryptEntry,
  encryptEntry,
  generateIdentity,
  isVaultError,
  makeCanary,
  passkeyIdentity,
  unwrapWithIdentity,
  unwrapWithPassphrase,
  wrapToRecipient,
  wrapWithPassphrase,
} from '@fabric/vault';

/** What the server stores for one enrolled browser. */
export interface StoredMaterial {
  /** The passkey's credential id, base64url. */
  credentialId: string;
  /** The PRF salt (32 random bytes made at enrolment), base64url. */
  salt: string;
  /** The browser identity, wrapped to the passkey-derived recipient. */
  wrappedByPasskey: string;
  /** The browser identity, wrapped by the passphrase (age scrypt). */
  wrappedByPassphrase: string;
  /** CANARY_TEXT encrypted to the browser recipient. */
  canary: string;
  /** The browser identity's recipient (public). */
  recipient: string;
}

/**
 * An unlock's outcome. `code` is a VaultError code, or `prf_unavailable` when
 * the authenticator answered without a PRF output (this page's own code: a
 * client must refuse that as it refuses a changed output). `prfCheck` (passkey
 * unlocks that got a PRF output) is the first 8 bytes of SHA-256 of that
 * output, in hex: enough to tell two outputs apart, useless for the key.
 */
export type UnlockResult =
  { ok: true; recipient: string; prfCheck?: string } | { ok: false; code: string; prfCheck?: string };

export type ReadResult = { ok: true; text: string } | { ok: false; code: string };

/** What enrol hands back: the material for the server, and the PRF output's check (see UnlockResult). */
export interface EnrolResult {
  material: StoredMaterial;
  prfCheck: string;
}

const RP_ID = 'localhost';
/** Low scrypt work factor: this page is a test, not a client people use. */
const TEST_WORK_FACTOR = 10;

// The identity an unlock produced, kept only in this page's memory.
let unlocked: string | null = null;

/**
 * Enrol this browser: create a passkey with PRF, make a browser identity, wrap
 * it to the passkey-derived key and by the passphrase, and make its canary.
 */
async function enrol(passphrase: string): Promise<EnrolResult> {
  const salt = crypto.getRandomValues(new Uint8Array(32));
  const created = await navigator.credentials.create({
    publicKey: {
      rp: { id: RP_ID, name: 'Fabric vault test' },
      user: { id: crypto.getRandomValues(new Uint8Array(16)), name: 'tester@fabric.test', displayName: 'Tester' },
      challenge: crypto.getRandomValues(new Uint8Array(32)),
      pubKeyCredParams: [{ type: 'public-key', alg: -7 }],
      authenticatorSelection: { residentKey: 'required', userVerification: 'required' },
      extensions: { prf: { eval: { first: salt } } },
    },
  });
  if (!(created instanceof PublicKeyCredential)) throw new Error('create() returned no public key credential');
  const prf = created.getClientExtensionResults().prf;
  if (prf?.enabled !== true) throw new Error('the authenticator did not enable prf');
  const credentialId = new Uint8Array(created.rawId);

  // CTAP 2.1 authenticators may evaluate the PRF at create(); otherwise it
  // takes a get() (a second prompt, at enrolment only).
  const atCreate = prf.results?.first;
  const prfOutput = atCreate !== undefined ? bytesOf(atCreate) : await prfFromGet(credentialId, salt);
  if (prfOutput === null) throw new Error('the authenticator returned no prf output');
  const passkey = await passkeyIdentity(prfOutput, salt);
  const prfCheck = await digest(prfOutput);
  prfOutput.fill(0);

  const browser = await generateIdentity();
  const material: StoredMaterial = {
    credentialId: toBase64url(credentialId),
    salt: toBase64url(salt),
    wrappedByPasskey: await wrapToRecipient(browser.identity, passkey.recipient),
    wrappedByPassphrase: await wrapWithPassphrase(browser.identity, passphrase, { workFactor: TEST_WORK_FACTOR }),
    canary: await makeCanary(browser.recipient),
    recipient: browser.recipient,
  };
  return { material, prfCheck };
}

/**
 * Unlock with the passkey: one get() with the stored salt, the derived key
 * opens the wrapped identity, and the canary must open before it is trusted.
 * Never writes: a refused unlock leaves the stored material as it was.
 */
async function unlockWithPasskey(material: StoredMaterial): Promise<UnlockResult> {
  unlocked = null;
  const prfOutput = await prfFromGet(fromBase64url(material.credentialId), fromBase64url(material.salt));
  if (prfOutput === null) return { ok: false, code: 'prf_unavailable' };
  const prfCheck = await digest(prfOutput);
  try {
    const passkey = await passkeyIdentity(prfOutput, fromBase64url(material.salt));
    const identity = await unwrapWithIdentity(material.wrappedByPasskey, passkey.identity);
    await checkCanary(material.canary, identity);
    unlocked = identity;
    return { ok: true, recipient: material.recipient, prfCheck };
  } catch (err) {
    if (isVaultError(err)) return { ok: false, code: err.code, prfCheck };
    throw err;
  } finally {
    prfOutput.fill(0);
  }
}

/** Unlock with the passphrase; the canary is checked the same way. */
async function unlockWithPassphrase(material: StoredMaterial, passphrase: string): Promise<UnlockResult> {
  unlocked = null;
  try {
    const identity = await unwrapWithPassphrase(material.wrappedByPassphrase, passphrase);
    await checkCanary(material.canary, identity);
    unlocked = identity;
    return { ok: true, recipient: material.recipient };
  } catch (err) {
    if (isVaultError(err)) return { ok: false, code: err.code };
    throw err;
  }
}

/** Encrypt an entry to a recipient (what any enrolled client does on `vault add`). */
function addEntry(recipient: string, text: string): Promise<string> {
  return encryptEntry(text, [recipient]);
}

/** Decrypt an entry with the identity the last unlock produced; `locked` when there is none. */
async function readEntry(armored: string): Promise<ReadResult> {
  if (unlocked === null) return { ok: false, code: 'locked' };
  try {
    const bytes = await decryptEntry(armored, [unlocked]);
    const text = new TextDecoder().decode(bytes);
    bytes.fill(0);
    return { ok: true, text };
  } catch (err) {
    if (isVaultError(err)) return { ok: false, code: err.code };
    throw err;
  }
}

function lock(): void {
  unlocked = null;
}

/** The PRF output for this credential and salt; null when the authenticator signed but gave none. */
async function prfFromGet(credentialId: Bytes, salt: Bytes): Promise<Bytes | null> {
  const got = await navigator.credentials.get({
    publicKey: {
      rpId: RP_ID,
      challenge: crypto.getRandomValues(new Uint8Array(32)),
      allowCredentials: [{ type: 'public-key', id: credentialId }],
      userVerification: 'required',
      extensions: { prf: { eval: { first: salt } } },
    },
  });
  if (!(got instanceof PublicKeyCredential)) throw new Error('get() returned no public key credential');
  const first = got.getClientExtensionResults().prf?.results?.first;
  if (first === undefined) return null;
  const out = bytesOf(first);
  if (out.length !== 32) throw new Error(`a prf output of ${out.length} bytes`);
  return out;
}

/** Bytes over a plain ArrayBuffer, as WebAuthn and Web Crypto take them. */
type Bytes = Uint8Array<ArrayBuffer>;

function bytesOf(source: BufferSource): Bytes {
  const view =
    source instanceof ArrayBuffer
      ? new Uint8Array(source)
      : new Uint8Array(source.buffer, source.byteOffset, source.byteLength);
  return Uint8Array.from(view);
}

async function digest(bytes: Bytes): Promise<string> {
  const hash = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
  return [...hash.subarray(0, 8)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

function toBase64url(bytes: Uint8Array): string {
  let binary = '';
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function fromBase64url(text: string): Bytes {
  const binary = atob(text.replace(/-/g, '+').replace(/_/g, '/'));
  return Uint8Array.from(binary, (c) => c.charCodeAt(0));
}

export const fabricVault = { enrol, unlockWithPasskey, unlockWithPassphrase, addEntry, readEntry, lock };
export type FabricVaultPage = typeof fabricVault;

declare global {
  interface Window {
    fabricVault: FabricVaultPage;
  }
}

window.fabricVault = fabricVault;
document.getElementById('status')!.textContent = 'ready';
