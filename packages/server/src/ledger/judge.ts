import type { ErrorCode, LedgerCheckpoint } from '@fabric/protocol';

/** What the control plane already holds for one device, as far as one new checkpoint needs to know. */
export interface AnchorState {
  /** The ledger key pinned on the device's first accepted checkpoint; null before that. */
  pinnedKey: string | null;
  /** The highest seq accepted so far; 0 before the first. */
  maxSeq: number;
  /** The head already recorded at the checkpoint's own seq, if any. */
  headAtSeq: string | null;
}

/**
 * `store`: a checkpoint not seen before, to keep (and to pin its key when
 * none is pinned yet). `resend`: the same seq and head as one already kept,
 * acknowledged again without a new row. `refuse`: it contradicts what is
 * held; `message` says how, for the device and the server log.
 */
export type Verdict = { kind: 'store' } | { kind: 'resend' } | { kind: 'refuse'; code: ErrorCode; message: string };

/**
 * The consistency rules for a checkpoint whose signature is already known to
 * be valid for `cp.publicKey`. Pure: the caller reads `state` and applies the
 * verdict in the same transaction.
 *
 * - signed by another key than the pinned one: refused (trust on first use);
 * - the same seq with another head: refused (the ledger was rewritten);
 * - a seq never seen and below the highest one: refused (the ledger went backwards);
 * - the same seq and head again: a resend, acknowledged.
 */
export function judgeCheckpoint(state: AnchorState, cp: LedgerCheckpoint): Verdict {
  if (state.pinnedKey !== null && state.pinnedKey !== cp.publicKey) {
    return refuse(
      `checkpoint ${cp.seq} is signed by a different ledger key than the one pinned for this device; re-pair the device if its ledger key really changed`,
    );
  }
  if (state.headAtSeq !== null) {
    if (state.headAtSeq === cp.head) return { kind: 'resend' };
    return refuse(
      `checkpoint ${cp.seq} names a different head than the one already recorded; the device's ledger was rewritten`,
    );
  }
  if (cp.seq < state.maxSeq) {
    return refuse(
      `checkpoint ${cp.seq} is below the highest recorded seq ${state.maxSeq}; the device's ledger went backwards`,
    );
  }
  return { kind: 'store' };
}

function refuse(message: string): Verdict {
  return { kind: 'refuse', code: 'ledger_conflict', message };
}
