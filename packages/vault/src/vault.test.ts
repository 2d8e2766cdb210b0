import { describe, expect, it } from 'vitest';
import {
  checkCanary,
  decodeSigner,
  decryptEntry,
  encodeSigner,
  encryptEntry,
  generateIdentity,
  generateSigner,
  makeCanary,
  newRecoveryPhrase,
  nextUnsignedSet,
  passkeyIdentity,
  recoveryIdentity,
  recoverySigner,
  rewrapAll,
  signRecipientSet,
  unwrapWithIdentity,
  unwrapWithPassphrase,
  verifyRecipientSet,
  wrapToRecipient,
  wrapWithPassphrase,
  type RecipientEntry,
  type RecipientSet,
} from './index.js';

// The life of one vault through the core alone: what the CLI, the daemon and
// the browser each do with this package, with the server reduced to the
// strings it would store.

const fast = { workFactor: 10 };
const text = (b: Uint8Array) => new TextDecoder().decode(b);
const recipientsOf = (set: RecipientSet) => set.recipients.map((r) => r.recipient);
let clock = 1_700_000_000_000;
const now = () => (clock += 1000);

describe('a vault from init to recovery', () => {
  it('keeps every promise along the way', async () => {
    // init: the CLI's keys, the recovery phrase (shown once), version 1.
    const cli = await generateIdentity();
    const cliSigner = generateSigner();
    const phrase = newRecoveryPhrase();
    const recovery = await recoveryIdentity(phrase);
    const entry = (
      id: string,
      kind: RecipientEntry['kind'],
      recipient: string,
      signer: string | null,
    ): RecipientEntry => ({ id, kind, recipient, label: id, signer, addedAt: now() });
    const v1 = signRecipientSet(
      {
        vaultId: 'vlt_life',
        version: 1,
        postQuantum: false,
        previousHash: null,
        createdAt: now(),
        recipients: [
          entry('cli', 'cli', cli.recipient, cliSigner.publicKey),
          entry('recovery', 'recovery', recovery.recipient, recoverySigner(phrase).publicKey),
        ],
      },
      cliSigner,
    );
    const stored = {
      cli: await wrapWithPassphrase(cli.identity, 'pw', fast),
      cliSigner: await wrapWithPassphrase(encodeSigner(cliSigner), 'pw', fast),
    };

    // Pairing a device: it gets its own key; the CLI signs version 2.
    const device = await generateIdentity();
    const v2 = signRecipientSet(
      nextUnsignedSet(v1, [...v1.recipients, entry('device', 'device', device.recipient, null)], now()),
      cliSigner,
    );
    const deviceTrust = verifyRecipientSet(v2, null);

    // Enrolling a browser: passphrase blob, passkey blob, canary.
    const browser = await generateIdentity();
    const browserSigner = generateSigner();
    const prf = Uint8Array.from({ length: 32 }, (_, i) => i * 3);
    const prfSalt = Uint8Array.from({ length: 32 }, (_, i) => 200 - i);
    const passkey = await passkeyIdentity(prf, prfSalt);
    const browserBlobs = {
      passphrase: await wrapWithPassphrase(browser.identity, 'pw', fast),
      passkey: await wrapToRecipient(browser.identity, passkey.recipient),
      canary: await makeCanary(browser.recipient),
    };
    const v3 = signRecipientSet(
      nextUnsignedSet(
        v2,
        [...v2.recipients, entry('browser', 'browser', browser.recipient, browserSigner.publicKey)],
        now(),
      ),
      cliSigner,
    );
    const cliTrust = verifyRecipientSet(v3, verifyRecipientSet(v1, null), [v2]);

    // Writing entries: to every recipient, recovery included.
    const names = ['GITHUB_TOKEN', 'OPENAI_API_KEY', 'DB_URL'];
    let entries = await Promise.all(
      names.map(async (name) => ({ name, ciphertext: await encryptEntry(`${name}-value`, recipientsOf(v3)) })),
    );

    // The browser unlocks with its passkey (one prompt), checks the canary, reads.
    const unlocked = await unwrapWithIdentity(browserBlobs.passkey, (await passkeyIdentity(prf, prfSalt)).identity);
    await checkCanary(browserBlobs.canary, unlocked);
    expect(text(await decryptEntry(entries[0]!.ciphertext, [unlocked]))).toBe('GITHUB_TOKEN-value');
    // The device reads with its own key.
    expect(text(await decryptEntry(entries[1]!.ciphertext, [device.identity]))).toBe('OPENAI_API_KEY-value');

    // Revoking the device: the CLI (unlocked by passphrase) signs version 4 and rewraps everything.
    const cliKey = await unwrapWithPassphrase(stored.cli, 'pw');
    const signer = decodeSigner(await unwrapWithPassphrase(stored.cliSigner, 'pw'));
    const v4 = signRecipientSet(
      nextUnsignedSet(
        v3,
        v3.recipients.filter((r) => r.id !== 'device'),
        now(),
      ),
      signer,
    );
    const cliTrust4 = verifyRecipientSet(v4, cliTrust);
    const before = entries;
    entries = await rewrapAll(entries, [cliKey], recipientsOf(v4));
    for (const e of entries)
      await expect(decryptEntry(e.ciphertext, [device.identity])).rejects.toMatchObject({ code: 'decrypt_failed' });
    // What it could read before is what needs rotating: every entry it was a recipient of.
    expect(
      await Promise.all(before.map((e) => decryptEntry(e.ciphertext, [device.identity]).then(() => e.name))),
    ).toEqual(names);
    // The device, still trusting version 2, follows the chain to version 4 and sees it is out.
    expect(verifyRecipientSet(v4, deviceTrust, [v3]).version).toBe(4);
    expect(recipientsOf(v4)).not.toContain(device.recipient);

    // Recovery on an empty machine: the phrase alone reads every entry and signs version 5.
    const recovered = await recoveryIdentity(` ${phrase.toUpperCase()} `);
    for (const [i, e] of entries.entries())
      expect(text(await decryptEntry(e.ciphertext, [recovered.identity]))).toBe(`${names[i]}-value`);
    const newCli = await generateIdentity();
    const newCliSigner = generateSigner();
    const v5 = signRecipientSet(
      nextUnsignedSet(
        v4,
        [
          ...v4.recipients.filter((r) => r.id !== 'cli'),
          entry('cli2', 'cli', newCli.recipient, newCliSigner.publicKey),
        ],
        now(),
      ),
      recoverySigner(phrase),
    );
    expect(verifyRecipientSet(v5, cliTrust4).version).toBe(5);
  });
});
