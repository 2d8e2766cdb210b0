import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FabricError, incidentSchema, receiptSchema } from '@fabric/protocol';
import { openSqlite, type Sqlite } from '@fabric/node';
import { RECORDS_SCHEMA_VERSION } from './schema.js';
import { Records } from './store.js';

let dir: string;
let db: Sqlite;
let clock: number;
let records: Records;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'fabric-records-'));
  db = openSqlite(join(dir, 'agent.db'));
  clock = 1_000;
  records = new Records(db, () => clock);
});

afterEach(() => {
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    if (err instanceof FabricError) return err.code;
    throw err;
  }
  return undefined;
}

describe('Records receipts', () => {
  it('answers receipts newest first, ties in reverse order of adding', () => {
    records.addReceipt({ kind: 'service.restart', summary: 'restarted nginx' }, 'session:a');
    clock = 2_000;
    records.addReceipt(
      { kind: 'file.write', summary: 'wrote /etc/motd', detail: { bytes: 12 }, ledgerSeq: 7 },
      'owner',
    );
    records.addReceipt({ kind: 'service.restart', summary: 'restarted redis' }, 'session:a');

    const all = records.listReceipts();
    expect(all.map((r) => r.summary)).toEqual(['restarted redis', 'wrote /etc/motd', 'restarted nginx']);
    for (const r of all) expect(receiptSchema.parse(r)).toEqual(r);
    expect(all[1]).toMatchObject({ ts: 2_000, actor: 'owner', detail: { bytes: 12 }, ledgerSeq: 7 });
    expect(all[0]).toMatchObject({ detail: null, ledgerSeq: null });
  });

  it('filters by kind, by since (inclusive) and bounds by limit', () => {
    for (let i = 0; i < 5; i++) {
      clock = 1_000 + i * 100;
      records.addReceipt({ kind: i % 2 === 0 ? 'a.even' : 'a.odd', summary: `r${i}` }, 'daemon');
    }
    expect(records.listReceipts({ kind: 'a.even' }).map((r) => r.summary)).toEqual(['r4', 'r2', 'r0']);
    expect(records.listReceipts({ since: 1_200 }).map((r) => r.summary)).toEqual(['r4', 'r3', 'r2']);
    expect(records.listReceipts({ kind: 'a.odd', since: 1_200 }).map((r) => r.summary)).toEqual(['r3']);
    expect(records.listReceipts({ limit: 2 }).map((r) => r.summary)).toEqual(['r4', 'r3']);
  });

  it('refuses a malformed receipt or query with bad_request', () => {
    expect(codeOf(() => records.addReceipt({ kind: 'Bad Kind', summary: 'x' }, 'daemon'))).toBe('bad_request');
    expect(codeOf(() => records.listReceipts({ limit: 0 }))).toBe('bad_request');
  });
});

describe('Records incidents', () => {
  it('runs the lifecycle: create, steps numbered from 1, close with resolution', () => {
    const created = records.createIncident({ title: 'nginx returns 502', severity: 'high' }, 'session:a');
    expect(created).toMatchObject({
      status: 'open',
      severity: 'high',
      createdAt: 1_000,
      closedAt: null,
      resolution: null,
      openedBy: 'session:a',
      steps: [],
    });

    clock = 1_500;
    records.addStep(created.id, { action: 'system_query services failed', result: 'php-fpm failed' }, 'session:a');
    clock = 1_600;
    const stepped = records.addStep(
      created.id,
      { action: 'service_restart php-fpm', result: 'active (running)' },
      'session:a',
    );
    expect(stepped.steps).toEqual([
      { n: 1, ts: 1_500, actor: 'session:a', action: 'system_query services failed', result: 'php-fpm failed' },
      { n: 2, ts: 1_600, actor: 'session:a', action: 'service_restart php-fpm', result: 'active (running)' },
    ]);

    clock = 2_000;
    const closed = records.closeIncident(created.id, { resolution: 'php-fpm restarted; 502s gone' }, 'owner');
    expect(closed).toMatchObject({
      status: 'closed',
      closedAt: 2_000,
      resolution: 'php-fpm restarted; 502s gone',
      closedBy: 'owner',
    });
    expect(incidentSchema.parse(closed)).toEqual(closed);
    expect(records.getIncident(created.id)).toEqual(closed);
  });

  it('refuses a step or a second close on a closed incident with conflict, and keeps it unchanged', () => {
    const { id } = records.createIncident({ title: 'disk full' }, 'daemon');
    records.closeIncident(id, { resolution: 'rotated logs' }, 'daemon');
    expect(codeOf(() => records.addStep(id, { action: 'df -h', result: '40%' }, 'daemon'))).toBe('conflict');
    expect(codeOf(() => records.closeIncident(id, { resolution: 'again' }, 'daemon'))).toBe('conflict');
    expect(records.getIncident(id)).toMatchObject({ steps: [], resolution: 'rotated logs' });
  });

  it('answers not_found for an unknown incident on every call', () => {
    expect(codeOf(() => records.getIncident('inc_doesnotexist'))).toBe('not_found');
    expect(codeOf(() => records.addStep('inc_doesnotexist', { action: 'a', result: 'b' }, 'daemon'))).toBe('not_found');
    expect(codeOf(() => records.closeIncident('inc_doesnotexist', { resolution: 'r' }, 'daemon'))).toBe('not_found');
  });

  it('lists incidents newest first, filtered by status, with step counts and no steps', () => {
    const first = records.createIncident({ title: 'one' }, 'daemon');
    clock = 2_000;
    const second = records.createIncident({ title: 'two' }, 'daemon');
    records.addStep(second.id, { action: 'look', result: 'saw' }, 'daemon');
    records.closeIncident(first.id, { resolution: 'done' }, 'daemon');

    expect(records.listIncidents().map((i) => [i.title, i.stepCount])).toEqual([
      ['two', 1],
      ['one', 0],
    ]);
    expect(records.listIncidents({ status: 'open' }).map((i) => i.id)).toEqual([second.id]);
    expect(records.listIncidents({ status: 'closed' }).map((i) => i.id)).toEqual([first.id]);
    expect(records.listIncidents()[0]).not.toHaveProperty('steps');
  });
});

describe('Records schema', () => {
  it('versions agent.db and reopens it without migrating again', () => {
    records.addReceipt({ kind: 'k', summary: 'kept' }, 'daemon');
    expect(db.pragma('user_version', { simple: true })).toBe(RECORDS_SCHEMA_VERSION);
    const again = new Records(db);
    expect(again.listReceipts().map((r) => r.summary)).toEqual(['kept']);
  });

  it('refuses a file written by a newer daemon', () => {
    db.pragma(`user_version = ${RECORDS_SCHEMA_VERSION + 1}`);
    expect(codeOf(() => new Records(db))).toBe('unsupported');
  });
});
