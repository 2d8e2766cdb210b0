import { describe, expect, it } from 'vitest';
import {
  fingerprint,
  generateIdentity,
  generateSigner,
  newRecoveryPhrase,
  recoveryIdentity,
  recoverySigner,
  setHash,
  signRecipientSet,
  type RecipientEntry,
  type RecipientSet,
  type Signer,
} from '@fabric/vault';
import {
  recipientRows,
  recoveryEntry,
  rotationFor,
  setAdding,
  setRemoving,
  verifyFrom,
  verifyFromStart,
  type SetSource,
} from './vault-chain.js';

/** The server, as an array of sets it hands out. */
function server(sets: RecipientSet[]): SetSource & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    current: async () => {
      calls.push('current');
      return sets[sets.length - 1]!;
    },
    after: async (v) => {
      calls.push(`after ${v}`);
      return sets.filter((s) => s.version > v);
    },
  };
}

async function member(
  kind: RecipientEntry['kind'],
  label: string,
  signs = true,
): Promise<{ entry: RecipientEntry; signer: Signer }> {
  const { recipient } = await generateIdentity();
  const signer = generateSigner();
  return {
    entry: {
      id: `${kind.slice(0, 3)}_${label}`,
      kind,
      recipient,
      label,
      signer: signs ? signer.publicKey : null,
      addedAt: 1,
    },
    signer,
  };
}

async function vault() {
  const phrase = newRecoveryPhrase();
  const rec = await recoveryIdentity(phrase);
  const recSigner = recoverySigner(phrase);
  const cli = await member('cli', 'laptop');
  const device = await member('device', 'alpha', false);
  const recovery: RecipientEntry = {
    id: 'recovery',
    kind: 'recovery',
    recipient: rec.recipient,
    label: 'recovery phrase',
    signer: recSigner.publicKey,
    addedAt: 1,
  };
  const v1 = signRecipientSet(
    {
      vaultId: 'vlt_test',
      version: 1,
      postQuantum: false,
      recipients: [cli.entry, recovery, device.entry],
      previousHash: null,
      createdAt: 1,
    },
    cli.signer,
  );
  return { phrase, rec, recSigner, cli, device, recovery, v1 };
}

describe('verifying the recipient set chain', () => {
  it('trusts version 1 on first contact and checks every later link', async () => {
    const { v1, recSigner } = await vault();
    const browser = await member('browser', 'phone');
    const v2 = signRecipientSet(setAdding(v1, browser.entry, 2), recSigner);
    const v3 = signRecipientSet(setRemoving(v2, 'dev_alpha', 3), browser.signer);
    const src = server([v1, v2, v3]);
    const got = await verifyFromStart(src);
    expect(got.set).toEqual(v3);
    expect(got.checked).toEqual([1, 2, 3]);
    expect(got.trusted).toMatchObject({ vaultId: 'vlt_test', version: 3, hash: setHash(v3) });
    expect(src.calls).toEqual(['after 0']);
  });

  it('says the vault is not initialised when the server has no set', async () => {
    await expect(verifyFromStart(server([]))).rejects.toMatchObject({ code: 'vault_not_initialized' });
  });

  it('refuses a history that does not start at version 1', async () => {
    const { v1, recSigner } = await vault();
    const browser = await member('browser', 'phone');
    const v2 = signRecipientSet(setAdding(v1, browser.entry, 2), recSigner);
    await expect(verifyFromStart(server([v2]))).rejects.toMatchObject({ code: 'set_invalid' });
  });

  it('refuses a recipient the server adds with a key of its own, on first contact and later', async () => {
    const { v1 } = await vault();
    const mallory = await member('browser', 'mallory');
    const forged = signRecipientSet({ ...setAdding(v1, mallory.entry, 2) }, mallory.signer);
    await expect(verifyFromStart(server([v1, forged]))).rejects.toMatchObject({ code: 'set_signer_untrusted' });
    const trusted = (await verifyFromStart(server([v1]))).trusted;
    await expect(verifyFrom(trusted, server([v1, forged]))).rejects.toMatchObject({ code: 'set_signer_untrusted' });
  });

  it('refuses a set edited after signing, and a rollback to an older version', async () => {
    const { v1, recSigner } = await vault();
    const browser = await member('browser', 'phone');
    const v2 = signRecipientSet(setAdding(v1, browser.entry, 2), recSigner);
    const edited: RecipientSet = {
      ...v1,
      recipients: v1.recipients.map((r) => (r.kind === 'device' ? { ...r, label: 'evil' } : r)),
    };
    await expect(verifyFromStart(server([edited]))).rejects.toMatchObject({ code: 'set_tampered' });
    const atTwo = (await verifyFromStart(server([v1, v2]))).trusted;
    await expect(verifyFrom(atTwo, server([v1]))).rejects.toMatchObject({ code: 'set_rollback' });
  });

  it('from trusted state, fetches the missed versions only when some were missed', async () => {
    const { v1, recSigner } = await vault();
    const a = await member('browser', 'a');
    const b = await member('browser', 'b');
    const v2 = signRecipientSet(setAdding(v1, a.entry, 2), recSigner);
    const v3 = signRecipientSet(setAdding(v2, b.entry, 3), a.signer);
    const atOne = (await verifyFromStart(server([v1]))).trusted;

    const same = server([v1]);
    expect(await verifyFrom(atOne, same)).toMatchObject({ checked: [], trusted: atOne });
    expect(same.calls).toEqual(['current']);

    const next = server([v1, v2]);
    expect((await verifyFrom(atOne, next)).checked).toEqual([2]);
    expect(next.calls).toEqual(['current']);

    const gap = server([v1, v2, v3]);
    const got = await verifyFrom(atOne, gap);
    expect(got.checked).toEqual([2, 3]);
    expect(got.trusted.version).toBe(3);
    expect(gap.calls).toEqual(['current', 'after 1']);
  });

  it('finds the recovery entry a phrase proves', async () => {
    const { v1, rec } = await vault();
    expect(recoveryEntry(v1, rec.recipient)?.kind).toBe('recovery');
    const other = await recoveryIdentity(newRecoveryPhrase());
    expect(recoveryEntry(v1, other.recipient)).toBeNull();
  });
});

describe('the next set and the recipients table', () => {
  it('adds (replacing the same id) and removes recipients, linking to the previous hash', async () => {
    const { v1 } = await vault();
    const browser = await member('browser', 'phone');
    const added = setAdding(v1, browser.entry, 5);
    expect(added).toMatchObject({ version: 2, previousHash: setHash(v1), createdAt: 5, vaultId: v1.vaultId });
    expect(added.recipients.map((r) => r.id)).toEqual([...v1.recipients.map((r) => r.id), 'bro_phone']);
    const again = await member('browser', 'phone');
    expect(setAdding(v1, { ...again.entry }, 6).recipients.filter((r) => r.id === 'bro_phone')).toHaveLength(1);
    expect(setRemoving(v1, 'dev_alpha', 7).recipients.map((r) => r.id)).toEqual(['cli_laptop', 'recovery']);
    expect(() => setRemoving(v1, 'nobody', 7)).toThrow(/no recipient nobody/);
  });

  it('lists this browser first with fingerprints, and offers revoke to owners only, never for itself or the phrase', async () => {
    const { v1, recSigner } = await vault();
    const browser = await member('browser', 'phone');
    const v2 = signRecipientSet(setAdding(v1, browser.entry, 2), recSigner);
    const rows = recipientRows(v2, browser.entry.recipient, true);
    expect(rows.map((r) => [r.kind, r.label, r.isThisBrowser, r.revocable, r.canSign])).toEqual([
      ['browser', 'phone', true, false, true],
      ['cli', 'laptop', false, true, true],
      ['device', 'alpha', false, true, false],
      ['recovery', 'recovery phrase', false, false, true],
    ]);
    expect(rows[0]!.fingerprint).toBe(fingerprint(browser.entry.recipient));
    expect(recipientRows(v2, browser.entry.recipient, false).some((r) => r.revocable)).toBe(false);
  });
});

describe('finishing an interrupted rewrap', () => {
  const set = (version: number, ...keys: string[]) => ({
    version,
    recipients: keys.map((recipient) => ({ recipient })),
  });
  it('flags only entries whose set named a recipient that is gone', () => {
    const history = [set(1, 'a', 'b'), set(2, 'a', 'b', 'c'), set(3, 'a', 'c')];
    const stale = [
      { name: 'ON_V1', setVersion: 1 },
      { name: 'ON_V2', setVersion: 2 },
      { name: 'CURRENT', setVersion: 3 },
    ];
    expect(rotationFor(stale, history, set(3, 'a', 'c'))).toEqual(['ON_V1', 'ON_V2']);
    expect(rotationFor([{ name: 'ADDED_ONLY', setVersion: 1 }], [set(1, 'a')], set(2, 'a', 'b'))).toEqual([]);
  });
  it('flags an entry whose set it cannot see, to be safe', () => {
    expect(rotationFor([{ name: 'UNKNOWN', setVersion: 1 }], [], set(2, 'a'))).toEqual(['UNKNOWN']);
  });
});
