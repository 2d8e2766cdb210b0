import { createPrivateKey, createPublicKey, hkdfSync } from 'node:crypto';
import { bech32 } from '@scure/base';
import { describe, expect, it } from 'vitest';
import {
  decryptEntry,
  encryptEntry,
  newRecoveryPhrase,
  normalizePhrase,
  phraseFromEntropy,
  recoveryIdentity,
  recoverySigner,
  validatePhrase,
  VaultError,
  type VaultErrorCode,
} from './index.js';

// A fixed phrase so word substitutions below are deterministic.
const entropy = Uint8Array.from({ length: 32 }, (_, i) => (i * 37 + 11) & 0xff);
const phrase = phraseFromEntropy(entropy);
const words = phrase.split(' ');

function thrown(fn: () => unknown): VaultError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(VaultError);
    return err as VaultError;
  }
  throw new Error('expected a VaultError');
}

const codeOf = (input: string): VaultErrorCode | 'ok' => {
  try {
    validatePhrase(input);
    return 'ok';
  } catch (err) {
    return (err as VaultError).code;
  }
};

describe('recovery phrase', () => {
  it('is 24 words from the BIP39 English list and validates', () => {
    const p = newRecoveryPhrase();
    expect(p.split(' ')).toHaveLength(24);
    expect(() => validatePhrase(p)).not.toThrow();
    expect(newRecoveryPhrase()).not.toBe(p);
  });

  it('normalizes case, spacing and compatibility characters', () => {
    expect(normalizePhrase('  Abandon\t\tABILITY\n able \u3000about ')).toBe('abandon ability able about');
    // Fullwidth letters and a no-break space are NFKD-equivalent to plain ASCII.
    expect(normalizePhrase('\uFF41\uFF42\uFF41\uFF4E\uFF44\uFF4F\uFF4E\u00A0zoo')).toBe('abandon zoo');
  });

  it('gives the same identity and signer for the same phrase typed differently', async () => {
    const odd =
      '\n ' +
      words
        .map((w, i) =>
          i % 3 === 0
            ? w.toUpperCase()
            : i % 3 === 1
              ? w
              : [...w].map((c) => String.fromCharCode(c.charCodeAt(0) + 0xfee0)).join(''),
        )
        .join('  \u3000') +
      '\t';
    expect(normalizePhrase(odd)).toBe(phrase);
    const [a, b] = await Promise.all([recoveryIdentity(phrase), recoveryIdentity(odd)]);
    expect(b).toEqual(a);
    expect(recoverySigner(odd).publicKey).toBe(recoverySigner(phrase).publicKey);
    expect(recoverySigner(odd).secretKey).toEqual(recoverySigner(phrase).secretKey);
  });

  it('gives different keys for different phrases', async () => {
    const other = newRecoveryPhrase();
    expect((await recoveryIdentity(other)).identity).not.toBe((await recoveryIdentity(phrase)).identity);
    expect(recoverySigner(other).publicKey).not.toBe(recoverySigner(phrase).publicKey);
  });

  it('derives the identity as HKDF-SHA256 over the entropy with the versioned info string', async () => {
    const { identity } = await recoveryIdentity(phrase);
    const expected = new Uint8Array(
      hkdfSync('sha256', entropy, new Uint8Array(0), 'fabric-vault/recovery/x25519/v1', 32),
    );
    const decoded = bech32.decodeToBytes(identity);
    expect(decoded.prefix.toUpperCase()).toBe('AGE-SECRET-KEY-');
    expect(decoded.bytes).toEqual(expected);
  });

  it('derives an Ed25519 signer that Node verifies, from its own info string', () => {
    const signer = recoverySigner(phrase);
    const seed = new Uint8Array(hkdfSync('sha256', entropy, new Uint8Array(0), 'fabric-vault/recovery/ed25519/v1', 32));
    expect(signer.secretKey).toEqual(seed);
    const pkcs8 = Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), seed]);
    const pub = createPublicKey(createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' })).export({
      format: 'der',
      type: 'spki',
    });
    expect(Buffer.from(pub.subarray(-32)).toString('base64url')).toBe(signer.publicKey);
  });

  it('derives a post-quantum recovery identity deterministically, distinct from the classic one', async () => {
    const pq = await recoveryIdentity(phrase, { postQuantum: true });
    expect(pq.identity.startsWith('AGE-SECRET-KEY-PQ-1')).toBe(true);
    expect(pq.recipient.startsWith('age1pq1')).toBe(true);
    expect(await recoveryIdentity(phrase.toUpperCase(), { postQuantum: true })).toEqual(pq);
    const expected = new Uint8Array(
      hkdfSync('sha256', entropy, new Uint8Array(0), 'fabric-vault/recovery/mlkem768x25519/v1', 32),
    );
    expect(bech32.decodeToBytes(pq.identity).bytes).toEqual(expected);
    const armored = await encryptEntry('pq recovered', [pq.recipient]);
    const again = await recoveryIdentity(phrase, { postQuantum: true });
    expect(new TextDecoder().decode(await decryptEntry(armored, [again.identity]))).toBe('pq recovered');
  });

  it('recovers entries written to the recovery recipient on another machine', async () => {
    const { recipient } = await recoveryIdentity(phrase);
    const armored = await encryptEntry('GITHUB_TOKEN=ghp_x', [recipient]);
    const recovered = await recoveryIdentity(`  ${phrase.toUpperCase()}  `);
    expect(new TextDecoder().decode(await decryptEntry(armored, [recovered.identity]))).toBe('GITHUB_TOKEN=ghp_x');
  });

  it('names the position of a mistyped word', () => {
    const typo = [...words];
    typo[6] = `${typo[6]}x`;
    const err = thrown(() => validatePhrase(typo.join(' ')));
    expect(err.code).toBe('phrase_invalid');
    expect(err.message).toBe('word 7 is not a recovery word; check its spelling');
    expect(err.message).not.toContain(typo[6]!);
  });

  it('says how many words are missing', () => {
    const err = thrown(() => validatePhrase(words.slice(0, 23).join(' ')));
    expect(err.code).toBe('phrase_invalid');
    expect(err.message).toBe('a recovery phrase has 24 words, this has 23');
    expect(thrown(() => validatePhrase('')).message).toBe('a recovery phrase has 24 words, this has 0');
    expect(thrown(() => validatePhrase(`${phrase} abandon`)).message).toBe(
      'a recovery phrase has 24 words, this has 25',
    );
  });

  it('rejects two swapped words as a checksum failure, not a wrong key', async () => {
    const swapped = [...words];
    [swapped[3], swapped[4]] = [swapped[4]!, swapped[3]!];
    expect(swapped[3]).not.toBe(swapped[4]);
    const err = thrown(() => validatePhrase(swapped.join(' ')));
    expect(err.code).toBe('phrase_checksum');
    expect(err.message).toBe('the words do not check out: one is wrong or out of order');
    await expect(recoveryIdentity(swapped.join(' '))).rejects.toMatchObject({ code: 'phrase_checksum' });
    expect(() => recoverySigner(swapped.join(' '))).toThrow(VaultError);
  });

  it('rejects a wrong but real word as a checksum failure', () => {
    const wrong = [...words];
    wrong[10] = wrong[10] === 'zoo' ? 'abandon' : 'zoo';
    expect(codeOf(wrong.join(' '))).toBe('phrase_checksum');
  });

  it('catches almost every single-word substitution (the checksum is 8 bits)', () => {
    // 200 substitutions: BIP39 lets about 1 in 256 through; far more would mean the checksum is not checked.
    let passed = 0;
    for (let i = 0; i < 200; i++) {
      const w = [...words];
      w[i % 24] = phraseFromEntropy(Uint8Array.from({ length: 32 }, (_, j) => (i * 13 + j * 7) & 0xff)).split(' ')[
        (i * 5) % 23
      ]!;
      if (w.join(' ') === phrase) continue;
      if (codeOf(w.join(' ')) === 'ok') passed++;
      else expect(codeOf(w.join(' '))).toBe('phrase_checksum');
    }
    expect(passed).toBeLessThan(5);
  });

  it('never returns a key for an invalid phrase', async () => {
    await expect(recoveryIdentity('abandon '.repeat(23).trim())).rejects.toMatchObject({ code: 'phrase_invalid' });
    expect(() => recoverySigner('not words at all')).toThrow(VaultError);
  });
});
