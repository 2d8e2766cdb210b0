import type {
  LedgerCheckpoint,
  LedgerProblem,
  LedgerProblemCode,
  LedgerRow,
  LedgerVerifyReport,
} from '@fabric/protocol';
import { GENESIS_HASH, eventHash } from './chain.js';
import { checkpointSignatureValid } from '@fabric/vault';

export interface VerifyLedgerOptions {
  deviceId: string;
  /** Every checkpoint the control plane holds for this device, in any order. */
  checkpoints: readonly LedgerCheckpoint[];
  /** The ledger key the control plane pinned for the device; null when it has none (checkpoint keys are then not compared). */
  pinnedKey: string | null;
  /** This device's own ledger public key, when known: it must be the pinned one. */
  localKey?: string | null;
  /** Problems listed in the report; the rest are only counted (default 100). */
  maxProblems?: number;
}

/** What a person needs to find an event: its seq, time and kind. */
interface Landmark {
  seq: number;
  ts: number;
  kind: string;
}

/**
 * Check a ledger in one pass over `events` (in seq order, as
 * `Ledger.iterate()` gives them) with constant memory, against the signed
 * checkpoints the control plane holds. Never throws on bad data: every
 * problem is in the report, `firstBad` names the earliest event to look at.
 *
 * What each kind of tampering looks like:
 * - an event edited in place: its stored hash is not the hash of its fields (`hash_mismatch`);
 * - an event edited with its hash recomputed: the next event chains to the old hash (`prev_mismatch`, naming the edited one);
 * - rows deleted from the middle: missing seqs (`gap`, naming the first missing);
 * - rows deleted from the end: a checkpoint past the local head (`truncated`);
 * - an edit with the whole chain recomputed after it: the chain holds, but a
 *   checkpoint's head differs at its seq (`checkpoint_mismatch`); the rewrite
 *   lies after the last checkpoint that still matches and at or before that one;
 * - checkpoints that cannot be trusted: a bad signature (`checkpoint_signature`)
 *   or another key than the pinned one (`key_mismatch`); they are not used
 *   for matching;
 * - a replaced local key file (`local_key_mismatch`).
 * With no checkpoints only the chain is checked, and the summary says so:
 * a rewrite of the whole file then goes unnoticed.
 */
export function verifyLedger(events: Iterable<LedgerRow>, opts: VerifyLedgerOptions): LedgerVerifyReport {
  const found = new Problems(opts.maxProblems ?? 100);

  if (opts.localKey && opts.pinnedKey && opts.localKey !== opts.pinnedKey) {
    found.add(
      null,
      'local_key_mismatch',
      "this device's ledger key is not the one the control plane pinned: the key file was replaced, so new checkpoints will be refused; restore ledger.key from a backup or re-pair the device",
    );
  }

  // Only checkpoints that verify under the right key say anything about the chain.
  const trusted: LedgerCheckpoint[] = [];
  for (const cp of opts.checkpoints) {
    if (!checkpointSignatureValid(opts.deviceId, cp)) {
      found.add(
        null,
        'checkpoint_signature',
        `checkpoint at seq ${cp.seq} (signed ${iso(cp.at)}) has a signature that does not verify; it is ignored (the control plane's copy was altered or forged)`,
      );
    } else if (opts.pinnedKey !== null && cp.publicKey !== opts.pinnedKey) {
      found.add(
        null,
        'key_mismatch',
        `checkpoint at seq ${cp.seq} (signed ${iso(cp.at)}) is signed by another key than the one pinned for this device; it is ignored`,
      );
    } else {
      trusted.push(cp);
    }
  }
  trusted.sort((a, b) => a.seq - b.seq);

  let count = 0;
  let prev: LedgerRow | null = null;
  let next = 0; // index into `trusted`
  let matched = 0;
  let lastMatchedSeq = 0;
  // The first event after the last matching checkpoint: where a rewrite found by a later checkpoint may start.
  let afterMatch: Landmark | null = null;

  // Every checkpoint after a rewrite differs too; they are counted into the first one's problem rather than listed.
  const rewrite: { problem: LedgerProblem | null; later: number } = { problem: null, later: 0 };
  const mismatch = (cp: LedgerCheckpoint, why: string) => {
    if (rewrite.problem) {
      rewrite.later++;
      return;
    }
    const from = lastMatchedSeq + 1;
    const start = afterMatch?.seq === from ? describe(afterMatch) : `event ${from}`;
    const since =
      lastMatchedSeq > 0
        ? `the last checkpoint that matches is at seq ${lastMatchedSeq}`
        : 'no earlier checkpoint matches';
    rewrite.problem = found.add(
      from,
      'checkpoint_mismatch',
      `${why}: the ledger was rewritten between ${start} and event ${cp.seq} (${since})`,
    );
    rewrite.later = 0;
  };
  const closeRewrite = () => {
    if (rewrite.problem && rewrite.later > 0) {
      rewrite.problem.message += `; ${rewrite.later} later checkpoint${rewrite.later === 1 ? ' differs' : 's differ'} too`;
    }
    rewrite.problem = null;
  };

  for (const ev of events) {
    count++;
    const expected = prev ? prev.seq + 1 : 1;
    if (ev.seq < expected) {
      found.add(
        ev.seq,
        'out_of_order',
        `${describe(ev)} comes after event ${expected - 1}: seqs repeat or go backwards`,
      );
      continue;
    }
    if (ev.seq > expected) {
      const range = ev.seq - 1 === expected ? `event ${expected} is` : `events ${expected} to ${ev.seq - 1} are`;
      found.add(expected, 'gap', `${range} missing (deleted rows); the next present is ${describe(ev)}`);
    } else if (ev.prevHash !== (prev ? prev.hash : GENESIS_HASH)) {
      // The link is kept in the later event, but the earlier one is the likelier edit (rewritten along with its own hash).
      found.add(
        prev ? prev.seq : ev.seq,
        'prev_mismatch',
        prev
          ? `${describe(ev)} chains to another hash than ${describe(prev)} holds: event ${prev.seq} was rewritten (or event ${ev.seq}'s link was)`
          : `${describe(ev)} does not chain to the genesis hash: the start of the ledger was rewritten`,
      );
    }
    if (eventHash(ev.prevHash, ev.seq, ev.ts, ev.actor, ev.kind, ev.payload) !== ev.hash) {
      found.add(
        ev.seq,
        'hash_mismatch',
        `${describe(ev)} does not match its stored hash: it was edited after it was written`,
      );
    }

    afterMatch ??= { seq: ev.seq, ts: ev.ts, kind: ev.kind };
    while (next < trusted.length && trusted[next]!.seq < ev.seq) {
      const cp = trusted[next++]!;
      mismatch(cp, `the checkpoint at seq ${cp.seq} (signed ${iso(cp.at)}) names an event that is no longer there`);
    }
    while (next < trusted.length && trusted[next]!.seq === ev.seq) {
      const cp = trusted[next++]!;
      if (cp.head === ev.hash) {
        matched++;
        lastMatchedSeq = ev.seq;
        afterMatch = null;
        closeRewrite();
      } else {
        mismatch(cp, `${describe(ev)} differs from its checkpoint signed ${iso(cp.at)}`);
      }
    }
    prev = ev;
  }

  closeRewrite();
  if (next < trusted.length) {
    const last = trusted[trusted.length - 1]!;
    const end = prev ? prev.seq : 0;
    found.add(
      end + 1,
      'truncated',
      `the ledger ends at ${prev ? describe(prev) : 'no event (it is empty)'} but the control plane holds a checkpoint at seq ${last.seq} (signed ${iso(last.at)}): events ${end + 1} to ${last.seq} at least were deleted`,
    );
  }

  const head = prev ? { seq: prev.seq, hash: prev.hash } : null;
  const total = opts.checkpoints.length;
  const ok = found.total === 0;
  let summary: string;
  if (!ok) {
    summary = `${found.total} problem${found.total === 1 ? '' : 's'} in ${count} events; first: ${found.first!.message}`;
  } else if (total === 0) {
    summary = `${count} events, chain intact; no checkpoint was checked (the control plane holds none), so a rewrite of the whole file would not show`;
  } else {
    summary = `${count} events, chain intact, ${matched} of ${total} checkpoints match (latest at seq ${lastMatchedSeq})`;
  }
  return {
    ok,
    events: count,
    head,
    checkpoints: { total, matched },
    firstBad: found.first,
    problems: found.list,
    problemsOmitted: found.total - found.list.length,
    summary,
  };
}

/** Problems in the order found, capped; `first` is the earliest event at fault (or the first problem when none names an event). */
class Problems {
  readonly list: LedgerProblem[] = [];
  total = 0;
  private earliest: LedgerProblem | null = null;
  private firstAny: LedgerProblem | null = null;

  constructor(private readonly max: number) {}

  /** Record a problem; answers it (its message may still be amended). */
  add(seq: number | null, code: LedgerProblemCode, message: string): LedgerProblem {
    const p = { seq, code, message };
    this.total++;
    if (this.list.length < this.max) this.list.push(p);
    this.firstAny ??= p;
    if (seq !== null && (this.earliest === null || seq < this.earliest.seq!)) this.earliest = p;
    return p;
  }

  get first(): LedgerProblem | null {
    return this.earliest ?? this.firstAny;
  }
}

function describe(ev: Landmark): string {
  // A tampered file can hold anything in `kind`: keep the message one short printable line.
  const kind = ev.kind.length > 64 ? `${ev.kind.slice(0, 64)}…` : ev.kind;
  return `event ${ev.seq} (${iso(ev.ts)}, ${kind.replace(/[^\x20-\x7e…]/g, '?')})`;
}

function iso(ms: number): string {
  const d = new Date(ms);
  return Number.isNaN(d.getTime()) ? `ts ${ms}` : d.toISOString();
}
