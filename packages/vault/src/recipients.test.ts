import { ed25519 } from '@noble/curves/ed25519.js';
import { describe, expect, it } from 'vitest';
import {
  canonicalJson,
  decodeSigner,
  encodeSigner,
  generateIdentity,
  generateSigner,
  newRecoveryPhrase,
  nextUnsignedSet,
  recoveryIdentity,
  recoverySigner,
  setHash,
  signerFromSecret,
  signersOf,
  signRecipientSet,
  verifyRecipientSet,
  VaultError,
  type RecipientEntry,
  type RecipientKind,
  type RecipientSet,
  type Signer,
  type UnsignedRecipientSet,
} from './index.js';

interface Member {
  entry: RecipientEntry;
  signer: Signer;
  identity: string;
}

async function member(kind: RecipientKind, label: string, postQuantum = false): Promise<Member> {
  const id = await generateIdentity({ postQuantum });
  const signer = generateSigner();
  return {
    identity: id.identity,
    signer,
    entry: {
      id: `r_${label}`,
      kind,
      recipient: id.recipient,
      label,
      signer: signer.publicKey,
      addedAt: 1_700_000_000_000,
    },
  };
}

function genesis(members: Member[], postQuantum = false): UnsignedRecipientSet {
  return {
    vaultId: 'vlt_test',
    version: 1,
    postQuantum,
    recipients: members.map((m) => m.entry),
    previousHash: null,
    createdAt: 1_700_000_000_000,
  };
}

function thrown(fn: () => unknown): VaultError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(VaultError);
    return err as VaultError;
  }
  throw new Error('expected a VaultError');
}

/** A signature made outside signRecipientSet, as a hostile or buggy client would: canonical JSON with the context line. */
function forgeSignature(body: Omit<RecipientSet, 'signature'>, signer: Signer): RecipientSet {
  const msg = new TextEncoder().encode(`fabric-vault/recipient-set/v1\n${canonicalJson(body)}`);
  return { ...body, signature: Buffer.from(ed25519.sign(msg, signer.secretKey)).toString('base64url') };
}

async function vault() {
  const cli = await member('cli', 'cli');
  const device = await member('device', 'laptop');
  const browser = await member('browser', 'firefox');
  const v1 = signRecipientSet(genesis([cli, device]), cli.signer);
  const trusted1 = verifyRecipientSet(v1, null);
  const v2 = signRecipientSet(nextUnsignedSet(v1, [...v1.recipients, browser.entry], 1_700_000_001_000), device.signer);
  return { cli, device, browser, v1, v2, trusted1 };
}

describe('signers', () => {
  it('round-trip through their stored form', () => {
    const s = generateSigner();
    const encoded = encodeSigner(s);
    expect(encoded).toMatch(/^FABRIC-SIGNER-SECRET-KEY-1[0-9A-Z]+$/);
    expect(decodeSigner(encoded)).toEqual(s);
    expect(decodeSigner(encoded.toLowerCase())).toEqual(s);
    expect(signerFromSecret(s.secretKey)).toEqual(s);
  });

  it('refuse a damaged stored signer instead of becoming another key', () => {
    const encoded = encodeSigner(generateSigner());
    const damaged = encoded.slice(0, 30) + (encoded[30] === 'Q' ? 'P' : 'Q') + encoded.slice(31);
    expect(thrown(() => decodeSigner(damaged)).code).toBe('set_invalid');
    expect(thrown(() => decodeSigner('AGE-SECRET-KEY-1QQQQ')).code).toBe('set_invalid');
  });

  it('have a 32-byte base64url public key', () => {
    expect(generateSigner().publicKey).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });
});

describe('recipient set: signing and first contact', () => {
  it('signs and verifies, giving the state to remember', async () => {
    const { v1, trusted1, cli, device } = await vault();
    expect(v1.signedBy).toBe(cli.signer.publicKey);
    expect(trusted1).toEqual({
      vaultId: 'vlt_test',
      version: 1,
      hash: setHash(v1),
      signers: [cli.signer.publicKey, device.signer.publicKey],
    });
    expect(setHash(v1)).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it('hashes and verifies the same whatever order the keys arrive in (as after a JSON round trip)', async () => {
    const { v1 } = await vault();
    const shuffled = JSON.parse(JSON.stringify(Object.fromEntries(Object.entries(v1).reverse()))) as RecipientSet;
    expect(setHash(shuffled)).toBe(setHash(v1));
    expect(verifyRecipientSet(shuffled, null).hash).toBe(setHash(v1));
  });

  it('trusts a later version on first use when its own signature and signer check out', async () => {
    const { v2, device } = await vault();
    const state = verifyRecipientSet(v2, null);
    expect(state.version).toBe(2);
    expect(state.signers).toContain(device.signer.publicKey);
  });

  it('refuses even on first contact a set whose signer is not one of its members', async () => {
    const { cli } = await vault();
    const outsider = generateSigner();
    const forged = forgeSignature({ ...genesis([{ ...cli }]), signedBy: outsider.publicKey }, outsider);
    expect(thrown(() => verifyRecipientSet(forged, null)).code).toBe('set_signer_untrusted');
  });

  it('only lets a member of the set sign it', async () => {
    const { cli } = await vault();
    expect(thrown(() => signRecipientSet(genesis([cli]), generateSigner())).code).toBe('set_invalid');
  });

  it('refuses a signer whose public key does not match its secret', async () => {
    const { cli } = await vault();
    const liar: Signer = { publicKey: cli.signer.publicKey, secretKey: generateSigner().secretKey };
    expect(thrown(() => signRecipientSet(genesis([cli]), liar)).code).toBe('set_invalid');
  });

  it('does not change the unsigned set it was given', async () => {
    const { cli } = await vault();
    const unsigned = genesis([cli]);
    const before = JSON.stringify(unsigned);
    signRecipientSet(unsigned, cli.signer);
    expect(JSON.stringify(unsigned)).toBe(before);
  });

  it('calls a set without a signature unsigned', async () => {
    const { v1 } = await vault();
    const { signature: _s, signedBy: _b, ...bare } = v1;
    expect(thrown(() => verifyRecipientSet(bare as RecipientSet, null)).code).toBe('set_unsigned');
    expect(thrown(() => verifyRecipientSet({ ...v1, signature: '' }, null)).code).toBe('set_unsigned');
  });
});

describe('recipient set: what a client refuses', () => {
  it('a recipient injected by the server, signed with a key no trusted member holds', async () => {
    const { v1, trusted1 } = await vault();
    const server = await member('device', 'totally-a-laptop');
    // The server has every secret it stores, but not a member's signing key: it signs with its own.
    expect(thrown(() => signRecipientSet(nextUnsignedSet(v1, v1.recipients, 1), generateSigner())).code).toBe(
      'set_invalid',
    );
    const injected = signRecipientSet(
      nextUnsignedSet(v1, [...v1.recipients, server.entry], 1_700_000_002_000),
      server.signer,
    );
    const err = thrown(() => verifyRecipientSet(injected, trusted1));
    expect(err.code).toBe('set_signer_untrusted');
  });

  it('a recipient slipped into a signed set without signing again', async () => {
    const { v2, trusted1 } = await vault();
    const server = await member('device', 'extra');
    const edited = { ...v2, recipients: [...v2.recipients, server.entry] };
    expect(thrown(() => verifyRecipientSet(edited, trusted1)).code).toBe('set_tampered');
    expect(thrown(() => verifyRecipientSet(edited, null)).code).toBe('set_tampered');
  });

  it('any edit after signing: a label, a key, a flag, the signer field', async () => {
    const { v2, trusted1, cli } = await vault();
    const other = await member('device', 'other');
    const edits: RecipientSet[] = [
      { ...v2, recipients: v2.recipients.map((r, i) => (i === 0 ? { ...r, label: 'renamed' } : r)) },
      { ...v2, recipients: v2.recipients.map((r, i) => (i === 1 ? { ...r, recipient: other.entry.recipient } : r)) },
      { ...v2, createdAt: v2.createdAt + 1 },
      { ...v2, signedBy: cli.signer.publicKey },
      { ...v2, signature: v2.signature.slice(0, -2) + (v2.signature.endsWith('AA') ? 'AB' : 'AA') },
    ];
    for (const edited of edits) expect(thrown(() => verifyRecipientSet(edited, trusted1)).code).toBe('set_tampered');
    expect(verifyRecipientSet(v2, trusted1).version).toBe(2);
  });

  it('an older version replayed', async () => {
    const { v1, v2, trusted1 } = await vault();
    const trusted2 = verifyRecipientSet(v2, trusted1);
    const err = thrown(() => verifyRecipientSet(v1, trusted2));
    expect(err.code).toBe('set_rollback');
    expect(err.message).toContain('version 1');
  });

  it('another set under the version it already trusts', async () => {
    const { v1, trusted1, cli } = await vault();
    expect(verifyRecipientSet(v1, trusted1)).toEqual(trusted1);
    const twin = signRecipientSet({ ...genesis([cli]), vaultId: v1.vaultId }, cli.signer);
    expect(thrown(() => verifyRecipientSet(twin, trusted1)).code).toBe('set_tampered');
  });

  it('a successor that does not follow the trusted version (a fork)', async () => {
    const { v1, trusted1, cli, browser } = await vault();
    const fork = signRecipientSet(
      { ...nextUnsignedSet(v1, [...v1.recipients, browser.entry], 1), previousHash: 'x'.repeat(43) },
      cli.signer,
    );
    expect(thrown(() => verifyRecipientSet(fork, trusted1)).code).toBe('set_tampered');
  });

  it('a set from another vault', async () => {
    const { v2, trusted1 } = await vault();
    const err = thrown(() => verifyRecipientSet(v2, { ...trusted1, vaultId: 'vlt_other' }));
    expect(err.code).toBe('set_invalid');
  });

  it('classic and post-quantum recipients mixed, when signing and when a set arrives', async () => {
    const cli = await member('cli', 'cli');
    const pq = await member('device', 'pq', true);
    expect(thrown(() => signRecipientSet(genesis([cli, pq]), cli.signer)).code).toBe('set_mixed_kinds');
    expect(thrown(() => signRecipientSet(genesis([cli], true), cli.signer)).code).toBe('set_mixed_kinds');
    expect(thrown(() => signRecipientSet(genesis([pq], false), pq.signer)).code).toBe('set_mixed_kinds');
    const forged = forgeSignature({ ...genesis([cli, pq]), signedBy: cli.signer.publicKey }, cli.signer);
    expect(thrown(() => verifyRecipientSet(forged, null)).code).toBe('set_mixed_kinds');
  });

  it('two entries with the same id, key or signer, and malformed sets', async () => {
    const [a, b] = [await member('cli', 'a'), await member('device', 'b')];
    const sameId = genesis([a, { ...b, entry: { ...b.entry, id: a.entry.id } }]);
    const sameKey = genesis([a, { ...b, entry: { ...b.entry, recipient: a.entry.recipient } }]);
    const sameSigner = genesis([a, { ...b, entry: { ...b.entry, signer: a.entry.signer } }]);
    for (const s of [sameId, sameKey, sameSigner])
      expect(thrown(() => signRecipientSet(s, a.signer)).code).toBe('set_invalid');
    const malformed: UnsignedRecipientSet[] = [
      { ...genesis([a]), previousHash: 'abc' },
      { ...genesis([a]), version: 2, previousHash: null },
      { ...genesis([a]), version: 0 },
      { ...genesis([a]), recipients: [] },
      { ...genesis([a]), recipients: [{ ...a.entry, kind: 'server' as RecipientKind }] },
      { ...genesis([a]), recipients: [{ ...a.entry, recipient: 'age1notakey' }] },
      { ...genesis([a]), recipients: [{ ...a.entry, signer: 'not-a-key' }] },
    ];
    for (const s of malformed) expect(thrown(() => signRecipientSet(s, a.signer)).code).toBe('set_invalid');
  });
});

describe('recipient set: history', () => {
  it('verifies a chain of two versions, given the one in between', async () => {
    const { v1, v2, trusted1, cli, device } = await vault();
    const v3 = signRecipientSet(
      nextUnsignedSet(
        v2,
        v2.recipients.filter((r) => r.id !== device.entry.id),
        1_700_000_003_000,
      ),
      cli.signer,
    );
    expect(thrown(() => verifyRecipientSet(v3, trusted1)).code).toBe('set_invalid');
    const state = verifyRecipientSet(v3, trusted1, [v2]);
    expect(state).toEqual({ vaultId: v1.vaultId, version: 3, hash: setHash(v3), signers: signersOf(v3) });
    // Extra or out-of-range history is fine; order does not matter.
    expect(verifyRecipientSet(v3, trusted1, [v3, v2, v1])).toEqual(state);
    // On first contact, a chain from version 1 is checked link by link.
    expect(verifyRecipientSet(v3, null, [v2, v1])).toEqual(state);
  });

  it('refuses a chain with a doctored link', async () => {
    const { v2, trusted1, cli } = await vault();
    const v3 = signRecipientSet(nextUnsignedSet(v2, v2.recipients, 1), cli.signer);
    const doctored = { ...v2, recipients: v2.recipients.slice(0, 2) };
    expect(thrown(() => verifyRecipientSet(v3, trusted1, [doctored])).code).toBe('set_tampered');
  });

  it('refuses a chain whose middle link was signed by an outsider', async () => {
    const { v1, trusted1, cli } = await vault();
    const server = await member('device', 'server');
    const v2bad = signRecipientSet(nextUnsignedSet(v1, [...v1.recipients, server.entry], 1), server.signer);
    const v3 = signRecipientSet(nextUnsignedSet(v2bad, v2bad.recipients, 2), cli.signer);
    expect(thrown(() => verifyRecipientSet(v3, trusted1, [v2bad])).code).toBe('set_signer_untrusted');
  });

  it('does not let a revoked client sign the next version', async () => {
    const { v2, trusted1, cli, device } = await vault();
    // Version 3 revokes the device, signed by the CLI.
    const v3 = signRecipientSet(
      nextUnsignedSet(
        v2,
        v2.recipients.filter((r) => r.id !== device.entry.id),
        3,
      ),
      cli.signer,
    );
    const trusted3 = verifyRecipientSet(v3, trusted1, [v2]);
    expect(trusted3.signers).not.toContain(device.signer.publicKey);
    // The revoked device cannot sign a set it is not in...
    expect(thrown(() => signRecipientSet(nextUnsignedSet(v3, v3.recipients, 4), device.signer)).code).toBe(
      'set_invalid',
    );
    // ...and a set that puts it back, signed by itself, is refused by every client that saw version 3.
    const comeback = signRecipientSet(nextUnsignedSet(v3, [...v3.recipients, device.entry], 4), device.signer);
    expect(thrown(() => verifyRecipientSet(comeback, trusted3)).code).toBe('set_signer_untrusted');
  });

  it('lets the recovery phrase sign a new set when every device is lost', async () => {
    const phrase = newRecoveryPhrase();
    const rec = await recoveryIdentity(phrase);
    const recovery: RecipientEntry = {
      id: 'r_recovery',
      kind: 'recovery',
      recipient: rec.recipient,
      label: 'recovery phrase',
      signer: recoverySigner(phrase).publicKey,
      addedAt: 1,
    };
    const cli = await member('cli', 'old-cli');
    const v1 = signRecipientSet({ ...genesis([cli]), recipients: [cli.entry, recovery] }, cli.signer);
    const trusted1 = verifyRecipientSet(v1, null);
    // A new machine, only the phrase (typed in capitals): drop the old CLI, add the new one.
    const fresh = await member('cli', 'new-cli');
    const v2 = signRecipientSet(nextUnsignedSet(v1, [recovery, fresh.entry], 2), recoverySigner(phrase.toUpperCase()));
    expect(verifyRecipientSet(v2, trusted1).signers).toEqual([recovery.signer, fresh.signer.publicKey]);
  });

  it('works the same for a post-quantum vault', async () => {
    const [a, b, c] = [
      await member('cli', 'a', true),
      await member('device', 'b', true),
      await member('browser', 'c', true),
    ];
    const v1 = signRecipientSet(genesis([a, b], true), a.signer);
    const v2 = signRecipientSet(nextUnsignedSet(v1, [...v1.recipients, c.entry], 2), b.signer);
    const state = verifyRecipientSet(v2, verifyRecipientSet(v1, null));
    expect(state.version).toBe(2);
    expect(v2.postQuantum).toBe(true);
  });
});
