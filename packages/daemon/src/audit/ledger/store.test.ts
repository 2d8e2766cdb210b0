import { mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  FabricError,
  ledgerEntryFromRow,
  ledgerEventsAnswerSchema,
  ledgerRowSchema,
  type LedgerRow,
} from '@fabric/protocol';
import { GENESIS_HASH, eventHashValid, nextEvent } from './chain.js';
import { Ledger, type LedgerAppend } from './store.js';

let dir: string;
let file: string;
const open: Ledger[] = [];

function ledger(now?: () => number): Ledger {
  const l = new Ledger(file, now ? { now } : {});
  open.push(l);
  return l;
}

const DEV = 'dev_ledgertest000001';
/** An event of some kind with `i` in it, for tests about the store rather than the kinds. */
const step = (i: number): LedgerAppend => ({
  actor: 'owner',
  kind: 'incident.step',
  payload: { id: 'inc_ledgertest00001', step: i + 1, action: `step ${i}` },
});
/** The ledger as code the compiler did not check sees it: any kind, any payload. */
const untyped = (l: Ledger) => l as unknown as { append(actor: string, kind: string, payload: unknown): unknown };
/** A `memory.reindex` payload of about `chars` characters of `c` in its messages. */
const reindexOf = (c: string, chars: number) => ({
  memories: 0,
  chunks: 0,
  errors: Array.from({ length: Math.ceil(chars / 7500) }, (_, i) => ({ file: `m${i}.md`, message: c.repeat(7500) })),
  ms: 1,
});

/** Rows as an older daemon stored them, written into `file` under the ledger's own table (chained, unchecked). */
function writeRows(rows: readonly LedgerRow[]): void {
  new Ledger(file).close();
  const raw = new Database(file);
  const insert = raw.prepare(
    'INSERT INTO events (seq, ts, actor, kind, payload, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?)',
  );
  for (const r of rows) insert.run(r.seq, r.ts, r.actor, r.kind, r.payload, r.prevHash, r.hash);
  raw.close();
}

const fixtureRows = (): LedgerRow[] =>
  readFileSync(fileURLToPath(new URL('../../../../protocol/fixtures/ledger.v1.jsonl', import.meta.url)), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => ledgerRowSchema.parse(JSON.parse(l)));

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'fabric-ledger-'));
  file = join(dir, 'data', 'ledger.db');
});
afterEach(() => {
  for (const l of open.splice(0)) l.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('Ledger', () => {
  it('creates its file 0600 and starts empty', () => {
    const l = ledger();
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(l.head()).toBeNull();
    expect(l.count()).toBe(0);
    expect(l.get(1)).toBeNull();
  });

  it('appends events chained from the genesis hash, with the payload stored as JSON text', () => {
    let t = 1000;
    const l = ledger(() => t++);
    const a = l.append('daemon', 'daemon.start', { deviceId: DEV, pid: 1 });
    const b = l.append('daemon', 'daemon.stop', { deviceId: DEV });
    expect(a).toMatchObject({
      seq: 1,
      ts: 1000,
      actor: 'daemon',
      kind: 'daemon.start',
      payload: { deviceId: DEV, pid: 1 },
      prevHash: GENESIS_HASH,
    });
    expect(b).toMatchObject({ seq: 2, ts: 1001, prevHash: a.hash, payload: { deviceId: DEV } });
    expect(l.get(2)).toEqual(b);
    expect(l.head()).toEqual({ seq: 2, hash: b.hash });
    const rows = [...l.iterate()];
    expect(rows.map((r) => r.payload)).toEqual([`{"deviceId":"${DEV}","pid":1}`, `{"deviceId":"${DEV}"}`]);
    expect(rows.map(ledgerEntryFromRow)).toEqual([a, b]);
    expect(rows.every(eventHashValid)).toBe(true);
  });

  it('keeps one linear chain when two connections to the same file append alternately', () => {
    const one = ledger();
    const two = ledger();
    for (let i = 0; i < 50; i++) {
      one.append('owner', 'daemon.start', { deviceId: DEV, pid: i + 1 });
      two.append('daemon', 'daemon.stop', { deviceId: DEV });
    }
    const events = [...one.iterate()];
    expect(events).toHaveLength(100);
    events.forEach((ev, i) => {
      expect(ev.seq).toBe(i + 1);
      expect(ev.prevHash).toBe(i === 0 ? GENESIS_HASH : events[i - 1]!.hash);
      expect(eventHashValid(ev)).toBe(true);
    });
    expect(two.head()).toEqual(one.head());
  });

  it('appends a batch in one transaction, and a bad item in it writes nothing', () => {
    const l = ledger();
    const batch = l.appendBatch([step(1), step(2)]);
    expect(batch.map((e) => e.seq)).toEqual([1, 2]);
    expect(batch[1]!.prevHash).toBe(batch[0]!.hash);
    const bad = () =>
      l.appendBatch([step(3), { actor: 'owner', kind: 'memory.reindex', payload: reindexOf('x', 70 * 1024) }]);
    expect(bad).toThrow(FabricError);
    const outside = () =>
      l.appendBatch([step(3), { actor: 'owner', kind: 'daemon.stop', payload: { deviceId: 'not an id' } }]);
    expect(outside).toThrow(/payload\.deviceId: malformed id/);
    expect(l.count()).toBe(2);
    expect(l.appendBatch([])).toEqual([]);
  });

  it('refuses a bad actor, kind or payload with bad_request', () => {
    const l = ledger();
    const code = (fn: () => unknown) => {
      try {
        fn();
      } catch (err) {
        return (err as FabricError).code;
      }
      return 'none';
    };
    const stop = { deviceId: DEV };
    const raw = untyped(l);
    expect(code(() => l.append('', 'daemon.stop', stop))).toBe('bad_request');
    expect(code(() => l.append('has space', 'daemon.stop', stop))).toBe('bad_request');
    expect(code(() => l.append('a'.repeat(129), 'daemon.stop', stop))).toBe('bad_request');
    expect(code(() => raw.append('owner', 'bad\nkind', {}))).toBe('bad_request');
    expect(code(() => raw.append('owner', 'daemon.start', { deviceId: DEV, pid: 1n }))).toBe('bad_request');
    expect(code(() => raw.append('owner', 'daemon.stop', () => 1))).toBe('bad_request');
    const circular: Record<string, unknown> = { deviceId: DEV };
    circular.self = circular;
    expect(code(() => raw.append('owner', 'daemon.stop', circular))).toBe('bad_request');
    // The cap is on UTF-8 bytes: 30,000 three-byte characters is over 64 KiB.
    expect(code(() => l.append('owner', 'memory.reindex', reindexOf('€', 30_000)))).toBe('bad_request');
    expect(code(() => l.append('owner', 'memory.reindex', reindexOf('x', 60_000)))).toBe('none');
    expect(l.count()).toBe(1);
  });

  it('refuses UPDATE and DELETE through plain SQL', () => {
    ledger().append('owner', 'daemon.stop', { deviceId: DEV });
    const raw = new Database(file);
    try {
      expect(() => raw.prepare("UPDATE events SET payload = '{}' WHERE seq = 1").run()).toThrow(/append-only/);
      expect(() => raw.prepare('DELETE FROM events WHERE seq = 1').run()).toThrow(/append-only/);
      expect(() => raw.prepare('DELETE FROM events').run()).toThrow(/append-only/);
      expect(raw.prepare('SELECT payload FROM events WHERE seq = 1').pluck().get()).toBe(`{"deviceId":"${DEV}"}`);
    } finally {
      raw.close();
    }
  });

  it('puts dropped triggers back when the file is opened again', () => {
    ledger().append('owner', 'daemon.stop', { deviceId: DEV });
    const raw = new Database(file);
    raw.exec('DROP TRIGGER events_no_update; DROP TRIGGER events_no_delete;');
    raw.close();
    ledger();
    const again = new Database(file);
    try {
      expect(() => again.prepare('DELETE FROM events').run()).toThrow(/append-only/);
    } finally {
      again.close();
    }
  });

  it('versions a file made before versioning without touching its events, and refuses a newer one', () => {
    mkdirSync(dirname(file), { recursive: true });
    const raw = new Database(file);
    raw.exec(
      'CREATE TABLE events (seq INTEGER PRIMARY KEY, ts INTEGER NOT NULL, actor TEXT NOT NULL, kind TEXT NOT NULL, payload TEXT NOT NULL, prev_hash TEXT NOT NULL, hash TEXT NOT NULL)',
    );
    raw.close();
    const first = ledger();
    first.append('owner', 'daemon.stop', { deviceId: DEV });
    first.close();
    const check = new Database(file);
    expect(check.pragma('user_version', { simple: true })).toBe(1);
    expect(check.prepare('SELECT kind FROM events').all()).toEqual([{ kind: 'daemon.stop' }]);
    check.pragma('user_version = 2');
    check.close();
    expect(() => ledger()).toThrow('ledger.db has schema 2, this version of fabric knows 1: upgrade fabric');
  });

  it('opens read-only for verification: the file is left exactly as found, and appends are refused', () => {
    const w = ledger();
    w.append('owner', 'daemon.stop', { deviceId: DEV });
    w.close();
    open.splice(0);
    const raw = new Database(file);
    raw.exec('DROP TRIGGER events_no_update; DROP TRIGGER events_no_delete;');
    raw.close();
    const r = new Ledger(file, { readonly: true });
    open.push(r);
    expect([...r.iterate()].map((e) => e.payload)).toEqual([`{"deviceId":"${DEV}"}`]);
    expect(() => r.append('owner', 'daemon.stop', { deviceId: DEV })).toThrow(/readonly/);
    const check = new Database(file, { readonly: true });
    try {
      expect(check.prepare("SELECT count(*) AS n FROM sqlite_master WHERE type = 'trigger'").get()).toEqual({ n: 0 });
    } finally {
      check.close();
    }
    expect(() => new Ledger(join(dir, 'missing.db'), { readonly: true })).toThrow();
  });

  it('lists events filtered by kind and actor, in either order, a page at a time', () => {
    const l = ledger();
    l.appendBatch(
      Array.from({ length: 30 }, (_, i): LedgerAppend => ({
        ...(i % 3 ? step(i) : { kind: 'daemon.start', payload: { deviceId: DEV, pid: i + 1 } }),
        actor: i % 2 ? 'owner' : 'daemon',
      })),
    );
    const newest = l.list({ limit: 5 });
    expect(ledgerEventsAnswerSchema.parse(newest)).toEqual(newest);
    expect(newest.events.map((e) => e.seq)).toEqual([30, 29, 28, 27, 26]);
    expect(newest.hasMore).toBe(true);
    expect(newest.head?.seq).toBe(30);

    const starts = l.list({ kind: 'daemon.start', actor: 'daemon', order: 'asc' });
    expect(starts.events.map((e) => e.seq)).toEqual([1, 7, 13, 19, 25]);
    expect(starts.hasMore).toBe(false);

    const page1 = l.list({ actor: 'owner', order: 'asc', limit: 4 });
    const page2 = l.list({ actor: 'owner', order: 'asc', limit: 4, afterSeq: page1.events.at(-1)!.seq });
    expect(page1.events.map((e) => e.seq)).toEqual([2, 4, 6, 8]);
    expect(page2.events.map((e) => e.seq)).toEqual([10, 12, 14, 16]);
    expect(l.list({ beforeSeq: 3 }).events.map((e) => e.seq)).toEqual([2, 1]);
    expect(l.list({ limit: 5000 }).events).toHaveLength(30);
  });

  it('iterates lazily: stopping early frees the connection for the next call', () => {
    const l = ledger();
    l.appendBatch(Array.from({ length: 10 }, (_, i) => step(i)));
    for (const ev of l.iterate()) {
      if (ev.seq === 3) break;
    }
    expect(l.append('owner', 'daemon.stop', { deviceId: DEV }).seq).toBe(11);
  });

  it('refuses a payload outside its kind, naming the field, and appends nothing', () => {
    const l = ledger();
    const first = l.append('owner', 'daemon.stop', { deviceId: DEV });
    const raw = untyped(l);
    const refused: [string, unknown, RegExp][] = [
      ['fs.write', { path: '/x' }, /^no ledger event kind "fs\.write"$/],
      ['session.exit', { sessionId: 'ses_ledgertest00001', code: 0 }, /^ledger session\.exit: payload\.signal: /],
      ['daemon.stop', { deviceId: DEV, extra: 1 }, /^ledger daemon\.stop: payload: .*extra/],
      ['daemon.start', { deviceId: DEV, pid: '1' }, /^ledger daemon\.start: payload\.pid: /],
      ['incident.create', { id: 'inc_ledgertest00001', title: 'a\0b' }, /payload\.title: must not contain NUL/],
      [
        'mutation.requested',
        { tool: 'file_write', summary: 's', destructive: false, plan: { kind: 'file_write', path: '/a' } },
        /payload\.plan\.where: /,
      ],
      ['daemon.start', undefined, /^ledger daemon\.start: payload: /],
    ];
    for (const [kind, payload, message] of refused) {
      let err: unknown;
      try {
        raw.append('owner', kind, payload);
      } catch (e) {
        err = e;
      }
      expect(err, kind).toBeInstanceOf(FabricError);
      expect((err as FabricError).code).toBe('bad_request');
      expect((err as FabricError).message).toMatch(message);
    }
    expect(l.count()).toBe(1);
    expect(l.head()).toEqual({ seq: 1, hash: first.hash });
  });

  it('reads back events outside the union as stored, marked legacy, and never throws on them', () => {
    const stored: [string, string][] = [
      ['fs.write', '{"i":1,"path":"/work/file-1"}'],
      ['daemon.start', '{"version":"1"}'],
      ['session.start', 'null'],
      ['daemon.stop', 'not json'],
    ];
    let prev: LedgerRow | null = null;
    const rows = stored.map(([kind, payload], i) => (prev = nextEvent(prev, 1000 + i, 'daemon', kind, payload)));
    writeRows(rows);
    const l = ledger();
    const typed = l.append('daemon', 'daemon.stop', { deviceId: DEV });
    expect(typed).toMatchObject({ seq: 5, prevHash: rows[3]!.hash });
    const all = l.list({ order: 'asc' });
    expect(ledgerEventsAnswerSchema.parse(all)).toEqual(all);
    expect(all.events).toEqual([
      { ...rows[0], payload: { i: 1, path: '/work/file-1' }, legacy: true },
      { ...rows[1], payload: { version: '1' }, legacy: true },
      { ...rows[2], payload: null, legacy: true },
      { ...rows[3], payload: 'not json', legacy: true },
      typed,
    ]);
    expect(l.get(2)).toMatchObject({ kind: 'daemon.start', legacy: true });
    expect(l.list({ kind: 'fs.write' }).events.map((e) => e.seq)).toEqual([1]);
  });

  it('reads the file a daemon wrote before events were typed, and appends to its chain', () => {
    const rows = fixtureRows();
    writeRows(rows);
    const l = ledger();
    const { events, hasMore } = l.list({ order: 'asc', limit: 1000 });
    expect(hasMore).toBe(false);
    expect(events.map((e) => e.seq)).toEqual(rows.map((r) => r.seq));
    expect(events.filter((e) => 'legacy' in e).map((e) => e.seq)).toEqual([38, 39, 40, 41, 42, 43, 44]);
    // Typed or not, a payload read back is the stored JSON: it serialises to the bytes the hash covers.
    expect(events.map((e) => JSON.stringify(e.payload))).toEqual(rows.map((r) => r.payload));
    expect([...l.iterate()]).toEqual(rows);
    const next = l.append('daemon', 'daemon.start', { deviceId: 'dev_Pi5kitchen0000001', pid: 4243 });
    expect(next).toMatchObject({ seq: rows.length + 1, prevHash: rows.at(-1)!.hash });
  });
});
