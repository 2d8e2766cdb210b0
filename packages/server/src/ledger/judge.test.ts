import { describe, expect, it } from 'vitest';
import type { LedgerCheckpoint } from '@fabric/protocol';
import { judgeCheckpoint, type AnchorState } from './judge.js';

const KEY = 'A'.repeat(43);
const OTHER = 'B'.repeat(43);
const HEAD = 'a'.repeat(64);
const cp = (seq: number, head = HEAD, publicKey = KEY): LedgerCheckpoint => ({
  seq,
  head,
  at: 1,
  publicKey,
  signature: 's'.repeat(86),
});
const state = (over: Partial<AnchorState> = {}): AnchorState => ({
  pinnedKey: KEY,
  maxSeq: 10,
  headAtSeq: null,
  ...over,
});

describe('judging a ledger checkpoint against what the anchor holds', () => {
  it('stores the first checkpoint whatever its key, and any later one above the highest seq', () => {
    expect(judgeCheckpoint({ pinnedKey: null, maxSeq: 0, headAtSeq: null }, cp(7, HEAD, OTHER))).toEqual({
      kind: 'store',
    });
    expect(judgeCheckpoint(state(), cp(11))).toEqual({ kind: 'store' });
  });

  it('acknowledges the same seq and head again without storing it', () => {
    expect(judgeCheckpoint(state({ headAtSeq: HEAD }), cp(10))).toEqual({ kind: 'resend' });
    expect(judgeCheckpoint(state({ headAtSeq: HEAD }), cp(3))).toEqual({ kind: 'resend' });
  });

  it('refuses a key other than the pinned one, even for a resend', () => {
    const verdict = judgeCheckpoint(state({ headAtSeq: HEAD }), cp(10, HEAD, OTHER));
    expect(verdict).toMatchObject({ kind: 'refuse', code: 'ledger_conflict' });
    expect(verdict.kind === 'refuse' && verdict.message).toContain('different ledger key');
  });

  it('refuses the same seq with another head: the ledger was rewritten', () => {
    const verdict = judgeCheckpoint(state({ headAtSeq: 'b'.repeat(64) }), cp(10));
    expect(verdict).toMatchObject({ kind: 'refuse', code: 'ledger_conflict' });
    expect(verdict.kind === 'refuse' && verdict.message).toContain('rewritten');
  });

  it('refuses a seq never seen below the highest one: the ledger went backwards', () => {
    const verdict = judgeCheckpoint(state(), cp(9));
    expect(verdict).toMatchObject({ kind: 'refuse', code: 'ledger_conflict' });
    expect(verdict.kind === 'refuse' && verdict.message).toContain('went backwards');
  });
});
