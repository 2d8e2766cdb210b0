import { describe, expect, it } from 'vitest';
import type { EntryWithCiphertext } from '@fabric/protocol';
import { decryptEntry, encryptEntry, generateIdentity } from '@fabric/vault';
import { rewrapReadable } from './vault.js';

const entry = (name: string, ciphertext: string, version = 1) =>
  ({ name, ciphertext, version }) as unknown as EntryWithCiphertext;

describe('a rewrap', () => {
  it('carries over every entry the vault can open and names the ones it cannot, instead of failing on them', async () => {
    const vault = await generateIdentity();
    const stranger = await generateIdentity();
    const next = await generateIdentity();
    const entries = [
      entry('OPENAI_API_KEY', await encryptEntry('sk-one', [vault.recipient])),
      // Written by someone else to a key outside the vault: no key of the vault opens it.
      entry('JUNK_KEY', await encryptEntry('not for you', [stranger.recipient])),
      entry('GITHUB_TOKEN', await encryptEntry('ghp-two', [vault.recipient])),
    ];
    const progress: number[] = [];
    const { rewrapped, unreadable } = await rewrapReadable(entries, vault.identity, [next.recipient], (done) =>
      progress.push(done),
    );
    expect(unreadable).toEqual(['JUNK_KEY']);
    expect(rewrapped.map((e) => e.name)).toEqual(['OPENAI_API_KEY', 'GITHUB_TOKEN']);
    const plain = await Promise.all(
      rewrapped.map(async (e) => new TextDecoder().decode(await decryptEntry(e.ciphertext, [next.identity]))),
    );
    expect(plain).toEqual(['sk-one', 'ghp-two']);
  });

  it('takes the batch path when every entry opens', async () => {
    const vault = await generateIdentity();
    const next = await generateIdentity();
    const entries = [
      entry('A_KEY', await encryptEntry('a', [vault.recipient])),
      entry('B_KEY', await encryptEntry('b', [vault.recipient])),
    ];
    const progress: [number, number][] = [];
    const { rewrapped, unreadable } = await rewrapReadable(entries, vault.identity, [next.recipient], (done, total) =>
      progress.push([done, total]),
    );
    expect(unreadable).toEqual([]);
    expect(rewrapped).toHaveLength(2);
    expect(progress.at(-1)).toEqual([2, 2]);
  });
});
