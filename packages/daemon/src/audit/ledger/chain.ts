import { hash } from 'node:crypto';
import type { LedgerRow } from '@fabric/protocol';

export type { LedgerRow };

/** `prevHash` of event 1. */
export const GENESIS_HASH = '0'.repeat(64);

/** Written first into every event hash, so a ledger hash is never mistaken for any other SHA-256 use. */
export const LEDGER_HASH_TAG = 'fabric-ledger/v1';

// One scratch buffer, reused: verify hashes a million events, and allocating
// per event costs more than the hash itself. Grown when a field needs more.
let scratch = Buffer.allocUnsafe(4096);

/**
 * Write `text` as a 4-byte big-endian byte length then its UTF-8 bytes at
 * `at`; answers the offset after it. The caller made room for 4 + 3 × length
 * bytes (the most UTF-8 a JS string of that length can take).
 */
function field(text: string, at: number): number {
  const n = scratch.write(text, at + 4, 'utf8');
  scratch.writeUInt32BE(n, at);
  return at + 4 + n;
}

/**
 * The hash of one event (lowercase hex SHA-256). The input is the tag then
 * `prevHash`, `seq`, `ts`, `actor`, `kind`, `payload`, each written as its
 * UTF-8 byte length (4 bytes, big-endian) and its bytes; numbers as decimal
 * text. Length prefixes make the encoding unambiguous: no two different
 * field lists give the same bytes, whatever characters they hold.
 */
export function eventHash(
  prevHash: string,
  seq: number,
  ts: number,
  actor: string,
  kind: string,
  payload: string,
): string {
  const s = String(seq);
  const t = String(ts);
  const room =
    7 * 4 +
    3 * (LEDGER_HASH_TAG.length + prevHash.length + s.length + t.length + actor.length + kind.length + payload.length);
  if (room > scratch.length) scratch = Buffer.allocUnsafe(Math.max(room, scratch.length * 2));
  let at = field(LEDGER_HASH_TAG, 0);
  at = field(prevHash, at);
  at = field(s, at);
  at = field(t, at);
  at = field(actor, at);
  at = field(kind, at);
  at = field(payload, at);
  return hash('sha256', scratch.subarray(0, at), 'hex');
}

/** Whether an event's stored hash is the hash of its own fields (says nothing about its link to the previous event). */
export function eventHashValid(ev: LedgerRow): boolean {
  return eventHash(ev.prevHash, ev.seq, ev.ts, ev.actor, ev.kind, ev.payload) === ev.hash;
}

/** Make the event that follows `prev` (null: the first one). */
export function nextEvent(
  prev: { seq: number; hash: string } | null,
  ts: number,
  actor: string,
  kind: string,
  payload: string,
): LedgerRow {
  const seq = prev ? prev.seq + 1 : 1;
  const prevHash = prev ? prev.hash : GENESIS_HASH;
  return { seq, ts, actor, kind, payload, prevHash, hash: eventHash(prevHash, seq, ts, actor, kind, payload) };
}
