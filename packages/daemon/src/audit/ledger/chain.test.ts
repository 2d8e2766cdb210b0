import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { GENESIS_HASH, eventHash, eventHashValid, nextEvent } from './chain.js';

/** The encoding written out the slow, obvious way, to pin the fast one. */
function referenceHash(fields: string[]): string {
  const h = createHash('sha256');
  for (const f of ['fabric-ledger/v1', ...fields]) {
    const bytes = Buffer.from(f, 'utf8');
    const len = Buffer.alloc(4);
    len.writeUInt32BE(bytes.length);
    h.update(len).update(bytes);
  }
  return h.digest('hex');
}

describe('eventHash', () => {
  it('is SHA-256 over the tag and each field as a 4-byte big-endian length and its UTF-8 bytes', () => {
    const payload = JSON.stringify({ path: '/tmp/é✓😀', n: 1 });
    expect(eventHash(GENESIS_HASH, 1, 1700000000000, 'owner', 'fs.write', payload)).toBe(
      referenceHash([GENESIS_HASH, '1', '1700000000000', 'owner', 'fs.write', payload]),
    );
  });

  it('gives different hashes for fields that would collide when joined with a separator', () => {
    const a = eventHash(GENESIS_HASH, 1, 5, 'a|b', 'c', '{}');
    const b = eventHash(GENESIS_HASH, 1, 5, 'a', 'b|c', '{}');
    expect('a|b' + '|' + 'c').toBe('a' + '|' + 'b|c');
    expect(a).not.toBe(b);
    // Nor do fields that concatenate to the same bytes, or numbers that do.
    expect(eventHash(GENESIS_HASH, 1, 5, 'ab', 'c', '{}')).not.toBe(eventHash(GENESIS_HASH, 1, 5, 'a', 'bc', '{}'));
    expect(eventHash(GENESIS_HASH, 11, 5, 'a', 'b', '{}')).not.toBe(eventHash(GENESIS_HASH, 1, 15, 'a', 'b', '{}'));
  });

  it('changes when any one field changes', () => {
    const base = [GENESIS_HASH, 3, 10, 'owner', 'k', '"x"'] as const;
    const h = eventHash(...base);
    expect(eventHash('1'.repeat(64), 3, 10, 'owner', 'k', '"x"')).not.toBe(h);
    expect(eventHash(GENESIS_HASH, 4, 10, 'owner', 'k', '"x"')).not.toBe(h);
    expect(eventHash(GENESIS_HASH, 3, 11, 'owner', 'k', '"x"')).not.toBe(h);
    expect(eventHash(GENESIS_HASH, 3, 10, 'owneR', 'k', '"x"')).not.toBe(h);
    expect(eventHash(GENESIS_HASH, 3, 10, 'owner', 'K', '"x"')).not.toBe(h);
    expect(eventHash(GENESIS_HASH, 3, 10, 'owner', 'k', '"y"')).not.toBe(h);
  });

  it('hashes a payload larger than its scratch buffer, and small ones correctly after it', () => {
    const big = JSON.stringify('€'.repeat(100_000));
    expect(eventHash(GENESIS_HASH, 1, 1, 'a', 'b', big)).toBe(referenceHash([GENESIS_HASH, '1', '1', 'a', 'b', big]));
    expect(eventHash(GENESIS_HASH, 2, 1, 'a', 'b', '1')).toBe(referenceHash([GENESIS_HASH, '2', '1', 'a', 'b', '1']));
  });
});

describe('nextEvent', () => {
  it('starts at seq 1 on the genesis hash and chains each event to the one before', () => {
    const first = nextEvent(null, 1, 'daemon', 'daemon.start', '{}');
    const second = nextEvent(first, 2, 'owner', 'fs.write', '{"path":"a"}');
    expect(first).toMatchObject({ seq: 1, prevHash: GENESIS_HASH });
    expect(second).toMatchObject({ seq: 2, prevHash: first.hash });
    expect(eventHashValid(first) && eventHashValid(second)).toBe(true);
    expect(eventHashValid({ ...second, payload: '{"path":"b"}' })).toBe(false);
  });
});
