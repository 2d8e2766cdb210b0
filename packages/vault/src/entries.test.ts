import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  decryptEntry,
  encryptEntry,
  generateIdentity,
  isPostQuantum,
  recipientOf,
  rewrap,
  rewrapAll,
  fingerprint,
  VaultError,
} from './index.js';

const text = (b: Uint8Array) => new TextDecoder().decode(b);

async function rejection(p: Promise<unknown>): Promise<VaultError> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(VaultError);
  return err as VaultError;
}

describe('identities', () => {
  it('generates a classic X25519 identity whose recipient it can recompute', async () => {
    const id = await generateIdentity();
    expect(id.identity).toMatch(/^AGE-SECRET-KEY-1[0-9A-Z]{58}$/);
    expect(id.recipient).toMatch(/^age1[0-9a-z]{58}$/);
    expect(isPostQuantum(id.recipient)).toBe(false);
    expect(await recipientOf(id.identity)).toBe(id.recipient);
  });

  it('generates a post-quantum hybrid identity on request', async () => {
    const id = await generateIdentity({ postQuantum: true });
    expect(id.identity.startsWith('AGE-SECRET-KEY-PQ-1')).toBe(true);
    expect(id.recipient.startsWith('age1pq1')).toBe(true);
    expect(isPostQuantum(id.recipient)).toBe(true);
    expect(await recipientOf(id.identity)).toBe(id.recipient);
  });

  it('never generates the same identity twice', async () => {
    const a = await generateIdentity();
    const b = await generateIdentity();
    expect(a.identity).not.toBe(b.identity);
  });

  it('refuses a string that is not an identity, without echoing it', async () => {
    const err = await rejection(recipientOf('AGE-SECRET-KEY-1NOTAKEY'));
    expect(err.code).toBe('set_invalid');
    expect(err.message).not.toContain('NOTAKEY');
  });

  it('fingerprints a recipient as four groups of four hex characters of its SHA-256', async () => {
    const { recipient } = await generateIdentity();
    const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(recipient)));
    const hex = [...digest.slice(0, 8)].map((b) => b.toString(16).padStart(2, '0')).join('');
    expect(fingerprint(recipient)).toBe(`${hex.slice(0, 4)}-${hex.slice(4, 8)}-${hex.slice(8, 12)}-${hex.slice(12)}`);
    expect(fingerprint(recipient)).toMatch(/^[0-9a-f]{4}(-[0-9a-f]{4}){3}$/);
  });
});

describe('entries', () => {
  it('encrypts to several recipients and each of them decrypts', async () => {
    const ids = await Promise.all([generateIdentity(), generateIdentity(), generateIdentity()]);
    const armored = await encryptEntry(
      'sk-live-1234',
      ids.map((i) => i.recipient),
    );
    for (const id of ids) expect(text(await decryptEntry(armored, [id.identity]))).toBe('sk-live-1234');
  });

  it('keeps a non-recipient out with decrypt_failed', async () => {
    const [a, outsider] = await Promise.all([generateIdentity(), generateIdentity()]);
    const armored = await encryptEntry('sk-live-1234', [a.recipient]);
    const err = await rejection(decryptEntry(armored, [outsider.identity]));
    expect(err.code).toBe('decrypt_failed');
  });

  it('finds the matching identity among several', async () => {
    const [a, b, c] = await Promise.all([generateIdentity(), generateIdentity(), generateIdentity()]);
    const armored = await encryptEntry('x', [b.recipient]);
    expect(text(await decryptEntry(armored, [a.identity, c.identity, b.identity]))).toBe('x');
  });

  it('writes armored output that never contains the plaintext', async () => {
    const { recipient } = await generateIdentity();
    const secret = 'hunter2-hunter2-hunter2';
    const armored = await encryptEntry(secret, [recipient]);
    expect(armored.startsWith('-----BEGIN AGE ENCRYPTED FILE-----\n')).toBe(true);
    expect(armored.trimEnd().endsWith('-----END AGE ENCRYPTED FILE-----')).toBe(true);
    expect(armored).not.toContain(secret);
    expect(armored).not.toContain(btoa(secret).slice(0, 12));
    // Fresh randomness every time: equal plaintexts do not give equal files.
    expect(await encryptEntry(secret, [recipient])).not.toBe(armored);
  });

  it('round-trips binary plaintext byte for byte', async () => {
    const id = await generateIdentity();
    const bytes = Uint8Array.from({ length: 70_000 }, (_, i) => (i * 7) & 0xff);
    const out = await decryptEntry(await encryptEntry(bytes, [id.recipient]), [id.identity]);
    expect(out).toEqual(bytes);
  });

  it('reports a damaged file as decrypt_failed', async () => {
    const id = await generateIdentity();
    const armored = await encryptEntry('value', [id.recipient]);
    const lines = armored.split('\n');
    const last = lines.length - 3; // the final base64 line before the footer
    const line = lines[last]!;
    lines[last] = (line[0] === 'A' ? 'B' : 'A') + line.slice(1);
    expect((await rejection(decryptEntry(lines.join('\n'), [id.identity]))).code).toBe('decrypt_failed');
    expect((await rejection(decryptEntry('not age at all', [id.identity]))).code).toBe('decrypt_failed');
  });

  it('refuses to decrypt with no identities or a malformed one', async () => {
    const id = await generateIdentity();
    const armored = await encryptEntry('value', [id.recipient]);
    expect((await rejection(decryptEntry(armored, []))).code).toBe('decrypt_failed');
    const err = await rejection(decryptEntry(armored, ['AGE-SECRET-KEY-1SECRETJUNK']));
    expect(err.code).toBe('decrypt_failed');
    expect(err.message).not.toContain('SECRETJUNK');
  });

  it('refuses an empty recipient set and strings that are not recipients', async () => {
    const id = await generateIdentity();
    expect((await rejection(encryptEntry('v', []))).code).toBe('set_invalid');
    expect((await rejection(encryptEntry('v', [id.recipient, 'age1nope']))).code).toBe('set_invalid');
    expect((await rejection(encryptEntry('v', [id.identity]))).code).toBe('set_invalid');
  });

  it('refuses to put classic and post-quantum recipients in one file', async () => {
    const [classic, pq] = await Promise.all([generateIdentity(), generateIdentity({ postQuantum: true })]);
    expect((await rejection(encryptEntry('v', [classic.recipient, pq.recipient]))).code).toBe('set_mixed_kinds');
  });
});

describe('post-quantum vault', () => {
  it('works end to end: every hybrid recipient decrypts, an outsider cannot', async () => {
    const ids = await Promise.all([0, 1, 2].map(() => generateIdentity({ postQuantum: true })));
    const armored = await encryptEntry(
      'pq-secret',
      ids.map((i) => i.recipient),
    );
    // Each hybrid stanza carries a 1,120-byte ML-KEM-768+X25519 encapsulation.
    expect(armored.length).toBeGreaterThan(3 * 1500);
    for (const id of ids) expect(text(await decryptEntry(armored, [id.identity]))).toBe('pq-secret');
    const outsider = await generateIdentity({ postQuantum: true });
    expect((await rejection(decryptEntry(armored, [outsider.identity]))).code).toBe('decrypt_failed');
  });

  it('does not let a classic identity open a hybrid file', async () => {
    const pq = await generateIdentity({ postQuantum: true });
    const classic = await generateIdentity();
    const armored = await encryptEntry('pq-secret', [pq.recipient]);
    expect((await rejection(decryptEntry(armored, [classic.identity]))).code).toBe('decrypt_failed');
  });
});

describe('rewrap', () => {
  it('moves one entry to a new set', async () => {
    const [a, b, c] = await Promise.all([generateIdentity(), generateIdentity(), generateIdentity()]);
    const old = await encryptEntry('v1', [a.recipient, b.recipient]);
    const next = await rewrap(old, [a.identity], [a.recipient, c.recipient]);
    expect(text(await decryptEntry(next, [c.identity]))).toBe('v1');
    expect((await rejection(decryptEntry(next, [b.identity]))).code).toBe('decrypt_failed');
  });

  it('rewraps every entry without the revoked recipient, who can no longer decrypt them', async () => {
    const [cli, device, revoked] = await Promise.all([generateIdentity(), generateIdentity(), generateIdentity()]);
    const values = ['alpha', 'bravo-bravo', 'charlie!'];
    const entries = await Promise.all(
      values.map(async (v, i) => ({
        name: `SECRET_${i}`,
        version: i + 1,
        ciphertext: await encryptEntry(v, [cli.recipient, device.recipient, revoked.recipient]),
      })),
    );
    // Before: the revoked party reads everything.
    for (const [i, e] of entries.entries())
      expect(text(await decryptEntry(e.ciphertext, [revoked.identity]))).toBe(values[i]);

    const progress: [number, number][] = [];
    const rewrapped = await rewrapAll(entries, [cli.identity], [cli.recipient, device.recipient], (done, total) =>
      progress.push([done, total]),
    );

    expect(progress).toEqual([
      [1, 3],
      [2, 3],
      [3, 3],
    ]);
    expect(rewrapped.map((e) => [e.name, e.version])).toEqual(entries.map((e) => [e.name, e.version]));
    for (const [i, e] of rewrapped.entries()) {
      expect(e.ciphertext).not.toBe(entries[i]!.ciphertext);
      expect(text(await decryptEntry(e.ciphertext, [device.identity]))).toBe(values[i]);
      expect((await rejection(decryptEntry(e.ciphertext, [revoked.identity]))).code).toBe('decrypt_failed');
    }
    // The input is left alone.
    expect(text(await decryptEntry(entries[0]!.ciphertext, [revoked.identity]))).toBe('alpha');
  });

  it('zeroes each plaintext buffer once it is re-encrypted', async () => {
    const [a, b] = await Promise.all([generateIdentity(), generateIdentity()]);
    const values = ['first-secret', 'second-secret-longer'];
    const entries = await Promise.all(values.map(async (v) => ({ ciphertext: await encryptEntry(v, [a.recipient]) })));
    const seen: Uint8Array[] = [];
    const order: string[] = [];
    await rewrapAll(entries, [a.identity], [b.recipient], (done) => order.push(`progress ${done}`), {
      onZeroed: (buf) => {
        seen.push(buf);
        order.push(`zeroed ${buf.length}`);
      },
    });
    expect(seen.map((b) => b.length).sort()).toEqual(values.map((v) => v.length).sort());
    for (const buf of seen) expect(buf.every((x) => x === 0)).toBe(true);
    // Zeroed before the entry counts as done, not at the end of the batch.
    expect(order.filter((_, i) => i % 2 === 0).every((s) => s.startsWith('zeroed'))).toBe(true);
    expect(order.filter((_, i) => i % 2 === 1)).toEqual(['progress 1', 'progress 2']);
  });

  it('is all or nothing: an entry it cannot open fails the batch, naming its position', async () => {
    const [a, other] = await Promise.all([generateIdentity(), generateIdentity()]);
    const entries = [
      { ciphertext: await encryptEntry('mine', [a.recipient]) },
      { ciphertext: await encryptEntry('not mine', [other.recipient]) },
    ];
    const zeroed: Uint8Array[] = [];
    const err = await rejection(
      rewrapAll(entries, [a.identity], [a.recipient], undefined, { onZeroed: (b) => zeroed.push(b) }),
    );
    expect(err.code).toBe('decrypt_failed');
    expect(err.message).toContain('entry 2');
    expect(zeroed).toHaveLength(1);
    expect(zeroed[0]!.every((x) => x === 0)).toBe(true);
  });

  it('rewraps a larger batch several at a time, keeping order and counting progress', async () => {
    const [a, b] = await Promise.all([generateIdentity(), generateIdentity()]);
    const values = Array.from({ length: 12 }, (_, i) => `value-${i}-${'z'.repeat(i * 5)}`);
    const entries = await Promise.all(
      values.map(async (v, i) => ({ i, ciphertext: await encryptEntry(v, [a.recipient]) })),
    );
    const progress: number[] = [];
    const out = await rewrapAll(
      entries,
      [a.identity],
      [b.recipient],
      (done, total) => {
        expect(total).toBe(12);
        progress.push(done);
      },
      { concurrency: 3 },
    );
    expect(progress).toEqual(values.map((_, i) => i + 1));
    expect(out.map((e) => e.i)).toEqual(values.map((_, i) => i));
    for (const [i, e] of out.entries()) expect(text(await decryptEntry(e.ciphertext, [b.identity]))).toBe(values[i]);
  });

  it('returns an empty list for no entries, without calling back', async () => {
    const a = await generateIdentity();
    const onProgress = vi.fn();
    expect(await rewrapAll([], [a.identity], [a.recipient], onProgress)).toEqual([]);
    expect(onProgress).not.toHaveBeenCalled();
  });

  it('rewraps a classic vault into a post-quantum one', async () => {
    const classic = await generateIdentity();
    const pq = await generateIdentity({ postQuantum: true });
    const [entry] = await rewrapAll(
      [{ ciphertext: await encryptEntry('migrate me', [classic.recipient]) }],
      [classic.identity],
      [pq.recipient],
    );
    expect(text(await decryptEntry(entry!.ciphertext, [pq.identity]))).toBe('migrate me');
    expect((await rejection(decryptEntry(entry!.ciphertext, [classic.identity]))).code).toBe('decrypt_failed');
  });
});

describe('without X25519 in Web Crypto (older browsers)', () => {
  afterEach(() => {
    vi.unstubAllGlobals();
  });

  it("still decrypts and rewraps, through typage's own X25519", async () => {
    const [a, b] = await Promise.all([generateIdentity(), generateIdentity()]);
    const before = await encryptEntry('made with web crypto', [a.recipient, b.recipient]);
    const real = globalThis.crypto;
    const importKey = vi.fn(() => Promise.reject(new DOMException('X25519 is not supported', 'NotSupportedError')));
    vi.stubGlobal('crypto', { getRandomValues: real.getRandomValues.bind(real), subtle: { importKey } });

    expect(text(await decryptEntry(before, [b.identity]))).toBe('made with web crypto');
    const [moved] = await rewrapAll([{ ciphertext: before }], [a.identity], [b.recipient]);
    const after = await encryptEntry('made without', [a.recipient]);
    expect(importKey).toHaveBeenCalled();

    vi.unstubAllGlobals();
    expect(text(await decryptEntry(moved!.ciphertext, [b.identity]))).toBe('made with web crypto');
    expect(text(await decryptEntry(after, [a.identity]))).toBe('made without');
  });
});
