import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FabricError, ledgerEventsAnswerSchema } from '@fabric/protocol';
import { GENESIS_HASH, eventHashValid } from './chain.js';
import { Ledger } from './store.js';

let dir: string;
let file: string;
const open: Ledger[] = [];

function ledger(now?: () => number): Ledger {
  const l = new Ledger(file, now ? { now } : {});
  open.push(l);
  return l;
}

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
    const a = l.append('daemon', 'daemon.start', { version: '1' });
    const b = l.append('session:ses_1', 'session.start', null);
    expect(a).toMatchObject({
      seq: 1,
      ts: 1000,
      actor: 'daemon',
      kind: 'daemon.start',
      payload: '{"version":"1"}',
      prevHash: GENESIS_HASH,
    });
    expect(b).toMatchObject({ seq: 2, ts: 1001, prevHash: a.hash, payload: 'null' });
    expect(l.get(2)).toEqual(b);
    expect(l.head()).toEqual({ seq: 2, hash: b.hash });
    expect([...l.iterate()]).toEqual([a, b]);
    expect(eventHashValid(a) && eventHashValid(b)).toBe(true);
  });

  it('keeps one linear chain when two connections to the same file append alternately', () => {
    const one = ledger();
    const two = ledger();
    for (let i = 0; i < 50; i++) {
      one.append('owner', 'test.one', { i });
      two.append('daemon', 'test.two', { i });
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
    const batch = l.appendBatch([
      { actor: 'owner', kind: 'a', payload: 1 },
      { actor: 'owner', kind: 'b', payload: 2 },
    ]);
    expect(batch.map((e) => e.seq)).toEqual([1, 2]);
    expect(batch[1]!.prevHash).toBe(batch[0]!.hash);
    const bad = () =>
      l.appendBatch([
        { actor: 'owner', kind: 'c', payload: 3 },
        { actor: 'owner', kind: 'd', payload: 'x'.repeat(70 * 1024) },
      ]);
    expect(bad).toThrow(FabricError);
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
    expect(code(() => l.append('', 'k', {}))).toBe('bad_request');
    expect(code(() => l.append('has space', 'k', {}))).toBe('bad_request');
    expect(code(() => l.append('a'.repeat(129), 'k', {}))).toBe('bad_request');
    expect(code(() => l.append('owner', 'bad\nkind', {}))).toBe('bad_request');
    expect(code(() => l.append('owner', 'k', { n: 1n }))).toBe('bad_request');
    expect(code(() => l.append('owner', 'k', () => 1))).toBe('bad_request');
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    expect(code(() => l.append('owner', 'k', circular))).toBe('bad_request');
    // The cap is on UTF-8 bytes: 30,000 three-byte characters is over 64 KiB.
    expect(code(() => l.append('owner', 'k', '€'.repeat(30_000)))).toBe('bad_request');
    expect(code(() => l.append('owner', 'k', 'x'.repeat(60_000)))).toBe('none');
    expect(l.count()).toBe(1);
  });

  it('refuses UPDATE and DELETE through plain SQL', () => {
    ledger().append('owner', 'k', { a: 1 });
    const raw = new Database(file);
    try {
      expect(() => raw.prepare("UPDATE events SET payload = '{}' WHERE seq = 1").run()).toThrow(/append-only/);
      expect(() => raw.prepare('DELETE FROM events WHERE seq = 1').run()).toThrow(/append-only/);
      expect(() => raw.prepare('DELETE FROM events').run()).toThrow(/append-only/);
      expect(raw.prepare('SELECT payload FROM events WHERE seq = 1').pluck().get()).toBe('{"a":1}');
    } finally {
      raw.close();
    }
  });

  it('puts dropped triggers back when the file is opened again', () => {
    ledger().append('owner', 'k', {});
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

  it('opens read-only for verification: the file is left exactly as found, and appends are refused', () => {
    const w = ledger();
    w.append('owner', 'k', { n: 1 });
    w.close();
    open.splice(0);
    const raw = new Database(file);
    raw.exec('DROP TRIGGER events_no_update; DROP TRIGGER events_no_delete;');
    raw.close();
    const r = new Ledger(file, { readonly: true });
    open.push(r);
    expect([...r.iterate()].map((e) => e.payload)).toEqual(['{"n":1}']);
    expect(() => r.append('owner', 'k', {})).toThrow(/readonly/);
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
      Array.from({ length: 30 }, (_, i) => ({
        actor: i % 2 ? 'owner' : 'daemon',
        kind: i % 3 ? 'fs.write' : 'session.start',
        payload: { i },
      })),
    );
    const newest = l.list({ limit: 5 });
    expect(ledgerEventsAnswerSchema.parse(newest)).toEqual(newest);
    expect(newest.events.map((e) => e.seq)).toEqual([30, 29, 28, 27, 26]);
    expect(newest.hasMore).toBe(true);
    expect(newest.head?.seq).toBe(30);

    const starts = l.list({ kind: 'session.start', actor: 'daemon', order: 'asc' });
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
    l.appendBatch(Array.from({ length: 10 }, (_, i) => ({ actor: 'owner', kind: 'k', payload: i })));
    for (const ev of l.iterate()) {
      if (ev.seq === 3) break;
    }
    expect(l.append('owner', 'k', 'after').seq).toBe(11);
  });
});
