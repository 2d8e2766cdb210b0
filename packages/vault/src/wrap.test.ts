import { hkdfSync } from 'node:crypto';
import { bech32 } from '@scure/base';
import { describe, expect, it } from 'vitest';
import {
  CANARY_TEXT,
  checkCanary,
  decryptEntry,
  encodeSigner,
  encryptEntry,
  generateIdentity,
  generateSigner,
  makeCanary,
  passkeyIdentity,
  recipientOf,
  unwrapWithIdentity,
  unwrapWithPassphrase,
  wrapToRecipient,
  wrapWithPassphrase,
  VaultError,
} from './index.js';

// scrypt at typage's default (2^18) takes about a second in pure JS; tests use 2^10.
const fast = { workFactor: 10 };

async function rejection(p: Promise<unknown>): Promise<VaultError> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(VaultError);
  return err as VaultError;
}

const prf = (seed: number) => Uint8Array.from({ length: 32 }, (_, i) => (seed * 31 + i) & 0xff);
const salt = Uint8Array.from({ length: 32 }, (_, i) => 255 - i);

describe('passphrase wrapping', () => {
  it('round-trips an identity and a signer', async () => {
    const { identity } = await generateIdentity();
    const blob = await wrapWithPassphrase(identity, 'correct horse battery staple', fast);
    expect(blob.startsWith('-----BEGIN AGE ENCRYPTED FILE-----')).toBe(true);
    expect(blob).not.toContain(identity);
    expect(await unwrapWithPassphrase(blob, 'correct horse battery staple')).toBe(identity);
    const signer = encodeSigner(generateSigner());
    expect(await unwrapWithPassphrase(await wrapWithPassphrase(signer, 'pw', fast), 'pw')).toBe(signer);
  });

  it('says passphrase_wrong for a wrong passphrase', async () => {
    const blob = await wrapWithPassphrase('AGE-SECRET-KEY-1XYZ', 'right', fast);
    const err = await rejection(unwrapWithPassphrase(blob, 'wrong'));
    expect(err.code).toBe('passphrase_wrong');
    expect(err.message).not.toContain('right');
    expect((await rejection(unwrapWithPassphrase(blob, 'Right'))).code).toBe('passphrase_wrong');
  });

  it('uses typage default work factor 18 unless told otherwise', async () => {
    const header = (blob: string) => Buffer.from(blob.split('\n').slice(1, -2).join(''), 'base64').toString('latin1');
    expect(header(await wrapWithPassphrase('s', 'p', fast))).toMatch(/\n-> scrypt \S+ 10\n/);
    expect(header(await wrapWithPassphrase('s', 'p'))).toMatch(/\n-> scrypt \S+ 18\n/);
  }, 30_000);

  it('says the blob is damaged rather than the passphrase wrong when it is', async () => {
    expect((await rejection(unwrapWithPassphrase('garbage', 'p'))).code).toBe('decrypt_failed');
  });

  it('refuses work factors typage would not open, and empty passphrases', async () => {
    await expect(wrapWithPassphrase('s', 'p', { workFactor: 21 })).rejects.toThrow(RangeError);
    await expect(wrapWithPassphrase('s', 'p', { workFactor: 0 })).rejects.toThrow(RangeError);
    await expect(wrapWithPassphrase('s', '', fast)).rejects.toThrow(RangeError);
  });
});

describe('passkey identity', () => {
  it('is the same for the same PRF output and salt', async () => {
    const a = await passkeyIdentity(prf(1), salt);
    const b = await passkeyIdentity(prf(1), salt);
    expect(b).toEqual(a);
    expect(await recipientOf(a.identity)).toBe(a.recipient);
  });

  it('differs for a different PRF output or salt', async () => {
    const a = await passkeyIdentity(prf(1), salt);
    expect((await passkeyIdentity(prf(2), salt)).identity).not.toBe(a.identity);
    expect((await passkeyIdentity(prf(1), salt.slice(1))).identity).not.toBe(a.identity);
  });

  it('is HKDF-SHA256 of the PRF output, salted with the stored PRF salt', async () => {
    const { identity } = await passkeyIdentity(prf(3), salt);
    const expected = new Uint8Array(hkdfSync('sha256', prf(3), salt, 'fabric-vault/passkey/x25519/v1', 32));
    expect(bech32.decodeToBytes(identity).bytes).toEqual(expected);
  });

  it('derives a hybrid identity for a post-quantum vault', async () => {
    const pq = await passkeyIdentity(prf(1), salt, { postQuantum: true });
    expect(pq.recipient.startsWith('age1pq1')).toBe(true);
    expect(await passkeyIdentity(prf(1), salt, { postQuantum: true })).toEqual(pq);
  });

  it('unwraps the browser identity in one step, and a changed PRF output cannot', async () => {
    const browser = await generateIdentity();
    const passkey = await passkeyIdentity(prf(7), salt);
    const blob = await wrapToRecipient(browser.identity, passkey.recipient);
    expect(blob).not.toContain(browser.identity);
    const unlocked = await passkeyIdentity(prf(7), salt);
    expect(await unwrapWithIdentity(blob, unlocked.identity)).toBe(browser.identity);
    const drifted = await passkeyIdentity(prf(8), salt);
    expect((await rejection(unwrapWithIdentity(blob, drifted.identity))).code).toBe('decrypt_failed');
  });

  it('insists on a 32-byte PRF output', async () => {
    await expect(passkeyIdentity(new Uint8Array(16), salt)).rejects.toThrow(RangeError);
  });
});

describe('canary', () => {
  it('opens with the identity it was made for', async () => {
    const id = await generateIdentity();
    const canary = await makeCanary(id.recipient);
    expect(canary).not.toContain(CANARY_TEXT);
    await expect(checkCanary(canary, id.identity)).resolves.toBeUndefined();
    expect(CANARY_TEXT).toBe('fabric-vault-canary-v1');
  });

  it('throws canary_mismatch for another identity (a passkey whose PRF output changed)', async () => {
    const enrolled = await passkeyIdentity(prf(1), salt);
    const canary = await makeCanary(enrolled.recipient);
    await expect(checkCanary(canary, (await passkeyIdentity(prf(1), salt)).identity)).resolves.toBeUndefined();
    const err = await rejection(checkCanary(canary, (await passkeyIdentity(prf(9), salt)).identity));
    expect(err.code).toBe('canary_mismatch');
  });

  it('throws canary_mismatch when the blob opens but holds another value', async () => {
    const id = await generateIdentity();
    const impostor = await encryptEntry('fabric-vault-canary-v2', [id.recipient]);
    expect(new TextDecoder().decode(await decryptEntry(impostor, [id.identity]))).toBe('fabric-vault-canary-v2');
    expect((await rejection(checkCanary(impostor, id.identity))).code).toBe('canary_mismatch');
  });

  it('throws canary_mismatch for a damaged canary', async () => {
    const id = await generateIdentity();
    expect(
      (
        await rejection(
          checkCanary('-----BEGIN AGE ENCRYPTED FILE-----\nAAAA\n-----END AGE ENCRYPTED FILE-----\n', id.identity),
        )
      ).code,
    ).toBe('canary_mismatch');
  });
});
