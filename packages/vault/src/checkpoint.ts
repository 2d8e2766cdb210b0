import { ed25519 } from '@noble/curves/ed25519.js';
import { ledgerCheckpointMessage, type LedgerCheckpoint } from '@fabric/protocol';
import { fromBase64url, utf8Bytes } from './bytes.js';

/**
 * Whether `cp.signature` is a valid Ed25519 signature by `cp.publicKey` over
 * `ledgerCheckpointMessage(deviceId, cp)`, under RFC 8032's strict rules (the
 * same verdict as Node's `crypto.verify`). Never throws: a key that is not an
 * Ed25519 point, or a signature of the wrong shape, is simply not valid. It
 * says nothing about whether the key is the device's pinned one. Runs in
 * browsers and Node alike, so the daemon, the control plane and the cockpit
 * share one check.
 */
export function checkpointSignatureValid(deviceId: string, cp: LedgerCheckpoint): boolean {
  const sig = fromBase64url(cp.signature);
  const pub = fromBase64url(cp.publicKey);
  if (!sig || !pub || sig.length !== 64 || pub.length !== 32) return false;
  try {
    return ed25519.verify(sig, utf8Bytes(ledgerCheckpointMessage(deviceId, cp)), pub, { zip215: false });
  } catch {
    return false;
  }
}

/** What is wrong with the first checkpoint of a list that fails (see `checkCheckpointList`). */
export type CheckpointProblem = 'no_pinned_key' | 'other_key' | 'bad_signature' | 'out_of_order';

export type CheckpointListVerdict =
  | { ok: true; count: number; last: Pick<LedgerCheckpoint, 'seq' | 'at'> | null }
  | { ok: false; seq: number; problem: CheckpointProblem };

/**
 * Check what the control plane says it holds for a device
 * (`GET /api/devices/:id/ledger`), without trusting it: every checkpoint
 * must be signed by the key pinned for the device (`no_pinned_key` when it
 * names none), carry a valid signature for that device id, and follow the
 * one before it in `seq`. Names the first that fails. Never throws.
 */
export function checkCheckpointList(list: {
  deviceId: string;
  publicKey: string | null;
  checkpoints: readonly LedgerCheckpoint[];
}): CheckpointListVerdict {
  let previous = 0;
  for (const cp of list.checkpoints) {
    const problem: CheckpointProblem | null =
      list.publicKey === null
        ? 'no_pinned_key'
        : cp.publicKey !== list.publicKey
          ? 'other_key'
          : !checkpointSignatureValid(list.deviceId, cp)
            ? 'bad_signature'
            : cp.seq <= previous
              ? 'out_of_order'
              : null;
    if (problem) return { ok: false, seq: cp.seq, problem };
    previous = cp.seq;
  }
  const last = list.checkpoints.at(-1);
  return { ok: true, count: list.checkpoints.length, last: last ? { seq: last.seq, at: last.at } : null };
}
