import { ledgerCheckpointMessage, type LedgerCheckpoint, type LedgerHead } from '@fabric/protocol';
import type { LedgerSigner } from './key.js';

/** A checkpoint of `head` signed by `key` for `deviceId` at time `at` (ms). */
export function makeCheckpoint(key: LedgerSigner, deviceId: string, head: LedgerHead, at: number): LedgerCheckpoint {
  const body = { seq: head.seq, head: head.hash, at };
  return { ...body, publicKey: key.publicKey, signature: key.sign(ledgerCheckpointMessage(deviceId, body)) };
}

export interface CheckpointerOptions {
  deviceId: string;
  key: LedgerSigner;
  /** The ledger's current head (`Ledger.head`). */
  head: () => LedgerHead | null;
  /** Hand a checkpoint to the control-plane connection (a `ledger.checkpoint` message). */
  send: (cp: LedgerCheckpoint) => void;
  now: () => number;
  /** Send after this many new events… (default 1000) */
  everyEvents?: number;
  /** …or this long after the last send, whichever comes first (default 5 minutes). */
  everyMs?: number;
  /** Highest seq the control plane is already known to hold (default 0). */
  ackedSeq?: number;
}

/**
 * Decides when the device sends a signed checkpoint of its ledger head.
 * Pure: the clock, the head and the transport are passed in.
 *
 * The daemon calls `tick()` on a timer and after appends, `connected()` when
 * its control-plane connection opens, and `acked(seq)` on
 * `ledger.checkpoint_ack`. A checkpoint goes out when the head is past what
 * the control plane acknowledged and either `everyEvents` events were
 * appended since the last one sent, or `everyMs` passed since then. The same
 * seq is never sent twice while unacknowledged, except after `connected()`
 * (the previous send may have been lost with the old connection; the control
 * plane acknowledges a resend without storing it again).
 */
export class Checkpointer {
  private readonly opts: Required<Omit<CheckpointerOptions, 'ackedSeq'>>;
  private ackedSeq: number;
  /** Seq of the last checkpoint sent on this connection; 0 when none. */
  private sentSeq = 0;
  private sentAt: number;

  constructor(opts: CheckpointerOptions) {
    this.opts = {
      deviceId: opts.deviceId,
      key: opts.key,
      head: opts.head,
      send: opts.send,
      now: opts.now,
      everyEvents: opts.everyEvents ?? 1000,
      everyMs: opts.everyMs ?? 5 * 60_000,
    };
    this.ackedSeq = opts.ackedSeq ?? 0;
    // The interval counts from start: a daemon that just started waits for `connected()` or the first interval.
    this.sentAt = opts.now();
  }

  /** Send a checkpoint when one is due; answers the one sent, or null. */
  tick(): LedgerCheckpoint | null {
    const head = this.opts.head();
    if (!head || head.seq <= this.ackedSeq) return null;
    const since = Math.max(this.ackedSeq, this.sentSeq);
    if (head.seq <= since) return null;
    const now = this.opts.now();
    if (head.seq - since < this.opts.everyEvents && now - this.sentAt < this.opts.everyMs) return null;
    return this.sendHead(head, now);
  }

  /** The connection (re)opened: send the head now if the control plane may not hold it. */
  connected(): LedgerCheckpoint | null {
    this.sentSeq = 0;
    const head = this.opts.head();
    if (!head || head.seq <= this.ackedSeq) return null;
    return this.sendHead(head, this.opts.now());
  }

  /** The control plane holds the checkpoint at `seq`. */
  acked(seq: number): void {
    if (seq > this.ackedSeq) this.ackedSeq = seq;
  }

  /** Highest seq acknowledged so far. */
  get acknowledged(): number {
    return this.ackedSeq;
  }

  private sendHead(head: LedgerHead, now: number): LedgerCheckpoint {
    const cp = makeCheckpoint(this.opts.key, this.opts.deviceId, head, now);
    this.opts.send(cp);
    this.sentSeq = head.seq;
    this.sentAt = now;
    return cp;
  }
}
