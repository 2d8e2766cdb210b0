import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import type { StreamEvent } from '@fabric/protocol';
import { InProcessBus, topics } from '../bus.js';
import { openSqlite, type Db } from '../store/db.js';
import { EventWriter, type AppendInput } from './writer.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function setup(file = ':memory:') {
  const db = await openSqlite(file);
  cleanups.push(() => db.destroy());
  const bus = new InProcessBus();
  const writer = new EventWriter(db, bus);
  return { db, bus, writer };
}

async function insertSession(db: Db, id: string): Promise<void> {
  await db
    .insertInto('sessions')
    .values({
      id,
      harness: 'shell',
      prompt: 'echo hi',
      status: 'starting',
      device_id: 'dev_laptop01',
      labels: '{}',
      cwd: null,
      exit_code: null,
      signal: null,
      error_code: null,
      error_message: null,
      created_by: 'usr_alice',
      created_at: 1,
      started_at: null,
      ended_at: null,
      last_seq: 0,
      cancel_requested_at: null,
    })
    .execute();
}

const output = (sessionId: string, data: string, extra: Partial<AppendInput> = {}): AppendInput => ({
  sessionId,
  kind: 'stdout',
  data,
  meta: null,
  ts: 1000,
  ...extra,
});

async function storedSeqs(db: Db, sessionId: string): Promise<number[]> {
  const rows = await db
    .selectFrom('session_events')
    .select('seq')
    .where('session_id', '=', sessionId)
    .orderBy('seq')
    .execute();
  return rows.map((r) => Number(r.seq));
}

/** Every message published on a session's topic, in order. */
function watch(bus: InProcessBus, sessionId: string): StreamEvent[] {
  const seen: StreamEvent[] = [];
  bus.subscribe(topics.session(sessionId), (m) => seen.push(m as StreamEvent));
  return seen;
}

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);
const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('EventWriter', () => {
  it('stores an event and resolves with it, numbered from 1', async () => {
    const { db, writer } = await setup();
    await insertSession(db, 'ses_a0000000');
    const e = await writer.append(output('ses_a0000000', 'hello\n', { meta: { code: 0 } }));
    expect(e).toEqual({ seq: 1, kind: 'stdout', data: 'hello\n', meta: { code: 0 }, ts: 1000 });

    const row = await db.selectFrom('session_events').selectAll().executeTakeFirstOrThrow();
    expect(row).toMatchObject({
      session_id: 'ses_a0000000',
      seq: 1,
      kind: 'stdout',
      data: 'hello\n',
      meta: '{"code":0}',
    });
    const session = await db.selectFrom('sessions').select('last_seq').executeTakeFirstOrThrow();
    expect(Number(session.last_seq)).toBe(1);
  });

  it('numbers each session contiguously from 1 across thousands of interleaved appends', async () => {
    const { db, bus, writer } = await setup();
    await insertSession(db, 'ses_a0000000');
    await insertSession(db, 'ses_b0000000');
    const seenA = watch(bus, 'ses_a0000000');
    const seenB = watch(bus, 'ses_b0000000');

    const appends: Promise<StreamEvent>[] = [];
    const sentA: string[] = [];
    for (let i = 0; i < 3000; i++) {
      const id = i % 3 === 0 ? 'ses_b0000000' : 'ses_a0000000';
      const data = `${id}:${i}`;
      if (id === 'ses_a0000000') sentA.push(data);
      appends.push(writer.append(output(id, data)));
      if (i % 250 === 0) await tick(); // spread over several group commits
    }
    const events = await Promise.all(appends);
    await writer.drained();

    expect(await storedSeqs(db, 'ses_a0000000')).toEqual(range(1, 2000));
    expect(await storedSeqs(db, 'ses_b0000000')).toEqual(range(1, 1000));
    expect(seenA.map((e) => e.seq)).toEqual(range(1, 2000));
    expect(seenB.map((e) => e.seq)).toEqual(range(1, 1000));
    // Sequence follows the order of the calls.
    expect(seenA.map((e) => e.data)).toEqual(sentA);
    expect(events.filter((e) => e.data!.startsWith('ses_a')).map((e) => e.seq)).toEqual(range(1, 2000));
  });

  it('handles more appends in one tick than fit in one batch', async () => {
    const { db, writer } = await setup();
    await insertSession(db, 'ses_a0000000');
    const events = await Promise.all(range(1, 6200).map((i) => writer.append(output('ses_a0000000', String(i)))));
    expect(events.map((e) => e.seq)).toEqual(range(1, 6200));
    expect(events.map((e) => e.data)).toEqual(range(1, 6200).map(String));
    expect(await storedSeqs(db, 'ses_a0000000')).toEqual(range(1, 6200));
  });

  it('continues the sequence where an earlier writer left off', async () => {
    const { db, bus, writer } = await setup();
    await insertSession(db, 'ses_a0000000');
    await writer.append(output('ses_a0000000', 'one'));
    const restarted = new EventWriter(db, bus);
    expect((await restarted.append(output('ses_a0000000', 'two'))).seq).toBe(2);
  });

  it('publishes each event on its session topic, in order, and only once it is committed', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fabric-writer-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, 'fabric.db');
    const { db, bus, writer } = await setup(file);
    await insertSession(db, 'ses_a0000000');
    // A second connection sees only committed rows.
    const reader = new SqliteDatabase(file, { readonly: true });
    cleanups.push(() => {
      reader.close();
    });
    const committed = reader.prepare('SELECT seq FROM session_events WHERE session_id = ? AND seq = ?');

    const published: number[] = [];
    const missing: number[] = [];
    bus.subscribe(topics.session('ses_a0000000'), (m) => {
      const { seq } = m as StreamEvent;
      published.push(seq);
      if (committed.get('ses_a0000000', seq) === undefined) missing.push(seq);
    });

    const appends = [];
    for (let i = 0; i < 300; i++) {
      appends.push(writer.append(output('ses_a0000000', `line ${i}\n`)));
      if (i % 40 === 0) await tick();
    }
    await Promise.all(appends);
    await writer.drained();

    expect(published).toEqual(range(1, 300));
    expect(missing).toEqual([]);
  });

  it("publishes nothing on other sessions' topics", async () => {
    const { db, bus, writer } = await setup();
    await insertSession(db, 'ses_a0000000');
    await insertSession(db, 'ses_b0000000');
    const seenB = watch(bus, 'ses_b0000000');
    await writer.append(output('ses_a0000000', 'x'));
    expect(seenB).toEqual([]);
  });

  it('applies a patch to the session row together with the event', async () => {
    const { db, writer } = await setup();
    await insertSession(db, 'ses_a0000000');
    await writer.append({
      sessionId: 'ses_a0000000',
      kind: 'status',
      data: null,
      meta: { status: 'succeeded' },
      ts: 5000,
      patch: { status: 'succeeded', exit_code: 0, ended_at: 5000 },
    });
    const row = await db.selectFrom('sessions').selectAll().where('id', '=', 'ses_a0000000').executeTakeFirstOrThrow();
    expect(row).toMatchObject({ status: 'succeeded', exit_code: 0, ended_at: 5000, last_seq: 1 });
  });

  it('leaves the row alone for an empty patch', async () => {
    const { db, writer } = await setup();
    await insertSession(db, 'ses_a0000000');
    await writer.append(output('ses_a0000000', 'x', { patch: {} }));
    const row = await db.selectFrom('sessions').select('status').executeTakeFirstOrThrow();
    expect(row.status).toBe('starting');
  });

  describe('an append to a session that does not exist', () => {
    it('rejects', async () => {
      const { writer } = await setup();
      await expect(writer.append(output('ses_missing00', 'x'))).rejects.toThrow('session ses_missing00 does not exist');
    });

    it('fails alone: the rest of its batch is persisted, patched and published', async () => {
      const { db, bus, writer } = await setup();
      await insertSession(db, 'ses_a0000000');
      const seenA = watch(bus, 'ses_a0000000');
      const good = writer.append(output('ses_a0000000', 'x', { patch: { status: 'running', started_at: 7 } }));
      const bad = writer.append(output('ses_missing00', 'y'));
      await expect(bad).rejects.toThrow('does not exist');
      await expect(good).resolves.toMatchObject({ seq: 1, data: 'x' });

      expect(await storedSeqs(db, 'ses_a0000000')).toEqual([1]);
      expect(await storedSeqs(db, 'ses_missing00')).toEqual([]);
      const row = await db.selectFrom('sessions').selectAll().executeTakeFirstOrThrow();
      expect(row).toMatchObject({ status: 'running', started_at: 7, last_seq: 1 });
      expect(seenA.map((e) => e.seq)).toEqual([1]);
    });

    it('does not stop later batches', async () => {
      const { db, writer } = await setup();
      await insertSession(db, 'ses_a0000000');
      await expect(writer.append(output('ses_missing00', 'y'))).rejects.toThrow();
      await expect(writer.append(output('ses_a0000000', 'x'))).resolves.toMatchObject({ seq: 1 });
      await writer.drained();
      expect(writer.backlog).toBe(0);
    });
  });

  describe('backlog and drained()', () => {
    it('counts accepted events until they are committed', async () => {
      const { db, writer } = await setup();
      await insertSession(db, 'ses_a0000000');
      expect(writer.backlog).toBe(0);
      const appends = range(1, 5).map((i) => writer.append(output('ses_a0000000', String(i))));
      expect(writer.backlog).toBe(5);
      await writer.drained();
      expect(writer.backlog).toBe(0);
      expect(await storedSeqs(db, 'ses_a0000000')).toEqual(range(1, 5));
      await Promise.all(appends);
    });

    it('resolves at once when idle', async () => {
      const { writer } = await setup();
      let resolved = false;
      void writer.drained().then(() => {
        resolved = true;
      });
      await Promise.resolve();
      expect(resolved).toBe(true);
    });

    it('waits for events appended while a commit is in flight', async () => {
      const { db, writer } = await setup();
      await insertSession(db, 'ses_a0000000');
      void writer.append(output('ses_a0000000', 'first'));
      await tick(); // the first commit has started
      const second = writer.append(output('ses_a0000000', 'second'));
      await writer.drained();
      expect(await storedSeqs(db, 'ses_a0000000')).toEqual([1, 2]);
      await expect(second).resolves.toMatchObject({ seq: 2, data: 'second' });
    });

    it('resolves after a failed batch too', async () => {
      const { writer } = await setup();
      const bad = writer.append(output('ses_missing00', 'y'));
      bad.catch(() => {});
      await writer.drained();
      expect(writer.backlog).toBe(0);
      await expect(bad).rejects.toThrow();
    });
  });

  describe('device resends (dseq)', () => {
    it('stores an event once however often its dseq comes, in one batch or across writers, and says which were resends', async () => {
      const { db, writer } = await setup();
      await insertSession(db, 'ses_resend');
      const first = await Promise.all(
        [1, 2, 2, 3, 1].map((d) => writer.appendOnce(output('ses_resend', `d${d}`, { dseq: d }))),
      );
      expect(first.map((e) => e?.seq ?? null)).toEqual([1, 2, null, 3, null]);
      expect(await writer.committed()).toBe(true);

      // A new writer (a restarted control plane) reads the mark from the store.
      const again = new EventWriter(db, new InProcessBus());
      const second = await Promise.all([3, 4].map((d) => again.appendOnce(output('ses_resend', `d${d}`, { dseq: d }))));
      expect(second.map((e) => e?.seq ?? null)).toEqual([null, 4]);
      const rows = await db
        .selectFrom('session_events')
        .select('data')
        .where('session_id', '=', 'ses_resend')
        .orderBy('seq')
        .execute();
      expect(rows.map((r) => r.data)).toEqual(['d1', 'd2', 'd3', 'd4']);
      // Appends without a dseq are never taken for resends.
      expect((await writer.appendOnce(output('ses_resend', 'plain')))?.seq).toBe(5);
    });
  });
});
