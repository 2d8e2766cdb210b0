import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import {
  ledgerRowSchema,
  ledgerVerifyReportSchema,
  type LedgerCheckpoint,
  type LedgerVerifyReport,
} from '@fabric/protocol';
import { eventHash } from './chain.js';
import { makeCheckpoint } from './checkpoint.js';
import { LedgerKey } from './key.js';
import { Ledger } from './store.js';
import { verifyLedger } from './verify.js';

const DEVICE = 'dev_ledger_test';
const T0 = Date.UTC(2025, 0, 1);

let dir: string;
let file: string;
let key: LedgerKey;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'fabric-ledger-verify-'));
  file = join(dir, 'ledger.db');
  key = LedgerKey.loadOrCreate(join(dir, 'ledger.key'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** An honest ledger of `n` events, one second apart, and checkpoints of its head at `at` seqs. */
function honest(n: number, at: number[]): LedgerCheckpoint[] {
  let t = T0;
  const l = new Ledger(file, { now: () => (t += 1000) });
  const cps: LedgerCheckpoint[] = [];
  for (let i = 1; i <= n; i++) {
    const actor = i % 2 ? 'owner' : 'daemon';
    const ev =
      i % 5
        ? l.append(actor, 'mutation.failed', {
            tool: 'file_write',
            requestedSeq: i,
            code: 'path_not_allowed',
            message: `/work/file-${i} is outside the work dir`,
          })
        : l.append(actor, 'session.exit', {
            sessionId: `ses_verifytest${String(i).padStart(6, '0')}`,
            code: 0,
            signal: null,
          });
    if (at.includes(i)) cps.push(makeCheckpoint(key, DEVICE, ev, t));
  }
  l.close();
  return cps;
}

/** What an attacker with the file does: a plain connection, triggers dropped, rows changed. */
function tamper(change: (db: Database.Database) => void): void {
  const db = new Database(file);
  db.exec('DROP TRIGGER IF EXISTS events_no_update; DROP TRIGGER IF EXISTS events_no_delete;');
  change(db);
  db.close();
}

/** Recompute every hash from `from` on, so the chain holds together again. */
function recomputeFrom(db: Database.Database, from: number): void {
  let prev =
    from > 1
      ? (db
          .prepare('SELECT hash FROM events WHERE seq = ?')
          .pluck()
          .get(from - 1) as string)
      : '0'.repeat(64);
  const rows = db.prepare('SELECT seq, ts, actor, kind, payload FROM events WHERE seq >= ? ORDER BY seq').all(from) as {
    seq: number;
    ts: number;
    actor: string;
    kind: string;
    payload: string;
  }[];
  const update = db.prepare('UPDATE events SET prev_hash = ?, hash = ? WHERE seq = ?');
  for (const r of rows) {
    const h = eventHash(prev, r.seq, r.ts, r.actor, r.kind, r.payload);
    update.run(prev, h, r.seq);
    prev = h;
  }
}

function verify(
  checkpoints: LedgerCheckpoint[],
  extra: { pinnedKey?: string | null; localKey?: string | null } = {},
): LedgerVerifyReport {
  const l = new Ledger(file);
  try {
    const report = verifyLedger(l.iterate(), { deviceId: DEVICE, checkpoints, pinnedKey: key.publicKey, ...extra });
    return ledgerVerifyReportSchema.parse(report);
  } finally {
    l.close();
  }
}

const codes = (r: LedgerVerifyReport) => r.problems.map((p) => [p.code, p.seq]);

describe('verifyLedger', () => {
  it('passes an honest ledger and matches every checkpoint', () => {
    const cps = honest(100, [10, 50, 100]);
    const r = verify(cps, { localKey: key.publicKey });
    expect(r).toMatchObject({
      ok: true,
      events: 100,
      checkpoints: { total: 3, matched: 3 },
      firstBad: null,
      problems: [],
      problemsOmitted: 0,
    });
    expect(r.head).toEqual({ seq: 100, hash: cps[2]!.head });
    expect(r.summary).toMatch(/3 of 3 checkpoints match/);
  });

  it('passes an honest ledger without checkpoints, saying none was checked', () => {
    honest(20, []);
    const r = verify([]);
    expect(r).toMatchObject({ ok: true, events: 20, checkpoints: { total: 0, matched: 0 } });
    expect(r.summary).toMatch(/no checkpoint was checked/);
  });

  it('passes an empty ledger with no checkpoints', () => {
    new Ledger(file).close();
    expect(verify([])).toMatchObject({ ok: true, events: 0, head: null });
  });

  it('names an event whose payload was edited in place (hash_mismatch)', () => {
    const cps = honest(100, [50, 100]);
    tamper((db) => db.prepare('UPDATE events SET payload = ? WHERE seq = 37').run('{"i":37,"path":"/etc/passwd"}'));
    const r = verify(cps);
    expect(r.ok).toBe(false);
    expect(codes(r)).toEqual([['hash_mismatch', 37]]);
    expect(r.firstBad!.message).toContain(`event 37 (${new Date(T0 + 37_000).toISOString()}, mutation.failed)`);
    // The stored hashes were left alone, so the checkpoints still match them.
    expect(r.checkpoints.matched).toBe(2);
  });

  it('names an event edited along with its own hash by the link the next event keeps (prev_mismatch)', () => {
    honest(60, []);
    tamper((db) => {
      const r = db.prepare('SELECT * FROM events WHERE seq = 37').get() as {
        ts: number;
        actor: string;
        kind: string;
        prev_hash: string;
      };
      const payload = '{"i":37,"path":"/elsewhere"}';
      db.prepare('UPDATE events SET payload = ?, hash = ? WHERE seq = 37').run(
        payload,
        eventHash(r.prev_hash, 37, r.ts, r.actor, r.kind, payload),
      );
    });
    const r = verify([]);
    expect(codes(r)).toEqual([['prev_mismatch', 37]]);
    expect(r.firstBad!.message).toMatch(/event 37 was rewritten/);
  });

  it('finds a deleted middle row as a gap at its seq', () => {
    honest(100, []);
    tamper((db) => db.prepare('DELETE FROM events WHERE seq = 50').run());
    const r = verify([]);
    expect(codes(r)).toEqual([['gap', 50]]);
    expect(r.firstBad!.message).toMatch(/^event 50 is missing .*next present is event 51/);
    expect(r.events).toBe(99);
  });

  it('finds deleted tail rows as truncated when a checkpoint lies past the local head', () => {
    const cps = honest(100, [60, 90]);
    tamper((db) => db.prepare('DELETE FROM events WHERE seq > 80').run());
    // Alone, a shortened chain still holds together: only the checkpoint shows the loss.
    expect(verify([]).ok).toBe(true);
    const r = verify(cps);
    expect(codes(r)).toEqual([['truncated', 81]]);
    expect(r.firstBad!.message).toMatch(/ends at event 80 .*checkpoint at seq 90.*events 81 to 90/);
    expect(r.checkpoints).toEqual({ total: 2, matched: 1 });
  });

  it('catches an edit whose whole chain was recomputed by the first checkpoint that differs, naming the range', () => {
    const cps = honest(100, [20, 40, 80, 100]);
    tamper((db) => {
      db.prepare('UPDATE events SET payload = ? WHERE seq = 55').run('{"i":55,"path":"/innocent"}');
      recomputeFrom(db, 55);
    });
    expect(verify([]).ok).toBe(true);
    const r = verify(cps);
    expect(r.ok).toBe(false);
    expect(r.checkpoints).toEqual({ total: 4, matched: 2 });
    expect(r.firstBad).toMatchObject({ seq: 41, code: 'checkpoint_mismatch' });
    expect(r.firstBad!.message).toBe(
      'event 80 (2025-01-01T00:01:20.000Z, session.exit) differs from its checkpoint signed 2025-01-01T00:01:20.000Z: ' +
        'the ledger was rewritten between event 41 (2025-01-01T00:00:41.000Z, mutation.failed) and event 80 ' +
        '(the last checkpoint that matches is at seq 40); 1 later checkpoint differs too',
    );
    expect(codes(r)).toEqual([['checkpoint_mismatch', 41]]);
  });

  it('catches a rewrite from the first event when no checkpoint before it matches', () => {
    const cps = honest(30, [30]);
    tamper((db) => {
      db.prepare('UPDATE events SET actor = ? WHERE seq = 1').run('someone-else');
      recomputeFrom(db, 1);
    });
    const r = verify(cps);
    expect(r.firstBad).toMatchObject({ seq: 1, code: 'checkpoint_mismatch' });
    expect(r.firstBad!.message).toMatch(/between event 1 \(.*\) and event 30 \(no earlier checkpoint matches\)$/);
  });

  it('refuses a checkpoint whose signature was forged, and does not trust what it says', () => {
    const cps = honest(50, [50]);
    tamper((db) => {
      db.prepare('UPDATE events SET payload = ? WHERE seq = 10').run('{}');
      recomputeFrom(db, 10);
    });
    const rewrittenHead = verify([]).head!;
    // The attacker swaps the control plane's checkpoint for one naming the rewritten head, but cannot sign it.
    const forged = { ...cps[0]!, head: rewrittenHead.hash };
    const r = verify([forged]);
    expect(r.ok).toBe(false);
    expect(codes(r)).toEqual([['checkpoint_signature', null]]);
    expect(r.checkpoints).toEqual({ total: 1, matched: 0 });
  });

  it('refuses a checkpoint signed by another key than the pinned one', () => {
    honest(20, []);
    const other = LedgerKey.loadOrCreate(join(dir, 'other.key'));
    const l = new Ledger(file);
    const cp = makeCheckpoint(other, DEVICE, l.head()!, T0);
    l.close();
    const r = verify([cp]);
    expect(codes(r)).toEqual([['key_mismatch', null]]);
    expect(r.firstBad!.message).toMatch(/another key than the one pinned/);
    // With no key pinned, a valid signature is enough.
    expect(verify([cp], { pinnedKey: null }).ok).toBe(true);
  });

  it('reports a local key that is not the pinned one', () => {
    const cps = honest(5, [5]);
    const other = LedgerKey.loadOrCreate(join(dir, 'other.key'));
    const r = verify(cps, { localKey: other.publicKey });
    expect(codes(r)).toEqual([['local_key_mismatch', null]]);
  });

  it('lists the first problems and counts the rest, and firstBad stays the earliest', () => {
    honest(30, [30]);
    tamper((db) => db.prepare("UPDATE events SET payload = '0'").run());
    const l = new Ledger(file);
    const r = verifyLedger(l.iterate(), { deviceId: DEVICE, checkpoints: [], pinnedKey: null, maxProblems: 5 });
    l.close();
    expect(r.problems).toHaveLength(5);
    expect(r.problemsOmitted).toBe(25);
    expect(r.firstBad).toMatchObject({ seq: 1, code: 'hash_mismatch' });
    expect(r.summary).toMatch(/^30 problems in 30 events; first: event 1 /);
  });

  it('reports events out of order from an iterable that is not sorted', () => {
    honest(3, []);
    const l = new Ledger(file);
    const evs = [...l.iterate()];
    l.close();
    const r = verifyLedger([evs[0]!, evs[1]!, evs[1]!, evs[2]!], {
      deviceId: DEVICE,
      checkpoints: [],
      pinnedKey: null,
    });
    expect(codes(r)).toEqual([['out_of_order', 2]]);
  });

  it('verifies a ledger written before events were typed, kinds outside the union and all, and after appends to it', () => {
    const rows = readFileSync(
      fileURLToPath(new URL('../../../../protocol/fixtures/ledger.v1.jsonl', import.meta.url)),
      'utf8',
    )
      .split('\n')
      .filter(Boolean)
      .map((line) => ledgerRowSchema.parse(JSON.parse(line)));
    // The hash covers the same bytes as it did: every stored hash is still the hash of its row.
    for (const r of rows) expect(eventHash(r.prevHash, r.seq, r.ts, r.actor, r.kind, r.payload)).toBe(r.hash);
    new Ledger(file).close();
    tamper((db) => {
      const insert = db.prepare(
        'INSERT INTO events (seq, ts, actor, kind, payload, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?)',
      );
      for (const r of rows) insert.run(r.seq, r.ts, r.actor, r.kind, r.payload, r.prevHash, r.hash);
    });
    const l = new Ledger(file, { now: () => T0 });
    const cp = makeCheckpoint(key, DEVICE, l.head()!, T0);
    l.append('daemon', 'daemon.start', { deviceId: DEVICE, pid: 1 });
    l.close();
    const r = verify([cp]);
    expect(r).toMatchObject({ ok: true, events: rows.length + 1, checkpoints: { total: 1, matched: 1 } });
    // And an edit to one of its legacy rows is found like any other.
    tamper((db) => db.prepare("UPDATE events SET payload = '{}' WHERE seq = 38").run());
    expect(codes(verify([cp]))).toEqual([['hash_mismatch', 38]]);
  });
});
