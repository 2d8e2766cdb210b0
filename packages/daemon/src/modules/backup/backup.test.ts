import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FabricError, backupCreatedSchema, backupManifestSchema, backupRestoredSchema } from '@fabric/protocol';
import { Records } from '../../audit/records/store.js';
import { openSqlite, type Sqlite } from '@fabric/node';
import { createBackup, listBackups, restoreBackup } from './backup.js';

let dataDir: string;
let open: Sqlite[];

beforeEach(() => {
  dataDir = mkdtempSync(join(tmpdir(), 'fabric-backup-'));
  open = [];
});

afterEach(() => {
  for (const db of open) if (db.open) db.close();
  rmSync(dataDir, { recursive: true, force: true });
});

function sqlite(file: string): Sqlite {
  const db = openSqlite(join(dataDir, file));
  open.push(db);
  return db;
}

/** A stand-in ledger.db: the backup does not care what the tables mean. */
function fakeLedger(rows: number): Sqlite {
  const db = sqlite('ledger.db');
  db.exec('CREATE TABLE IF NOT EXISTS events (seq INTEGER PRIMARY KEY, payload TEXT NOT NULL)');
  const insert = db.prepare('INSERT INTO events (payload) VALUES (?)');
  for (let i = 0; i < rows; i++) insert.run(`event ${i}`);
  return db;
}

function writeMemory(rel: string, text: string): void {
  const file = join(dataDir, 'memory', rel);
  mkdirSync(join(file, '..'), { recursive: true });
  writeFileSync(file, text);
}

const sha256 = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');
const mode = (path: string) => statSync(path).mode & 0o777;

async function failure(promise: Promise<unknown>): Promise<FabricError> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof FabricError) return err;
    throw err;
  }
  throw new Error('expected a FabricError');
}

/** The whole memory tree as `{relative path: content}`. */
function memoryTree(): Record<string, string> {
  const out: Record<string, string> = {};
  const root = join(dataDir, 'memory');
  const walk = (dir: string, rel: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const path = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) walk(join(dir, e.name), path);
      else out[path] = readFileSync(join(dir, e.name), 'utf8');
    }
  };
  if (existsSync(root)) walk(root, '');
  return out;
}

describe('createBackup', () => {
  it('copies ledger.db, agent.db and the memory tree, listing each file with its size and sha256', async () => {
    fakeLedger(3);
    const records = new Records(sqlite('agent.db'));
    records.addReceipt({ kind: 'test', summary: 'one' }, 'daemon');
    writeMemory('notes/nginx.md', '# nginx\nlistens on 8080\n');
    writeMemory('today.md', 'hello\n');
    writeMemory('notes/.today.md.tmp', 'half-written'); // the memory's temp file: not memory yet
    writeFileSync(join(dataDir, 'vault.key'), 'secret');
    writeFileSync(join(dataDir, 'memory-index.db'), 'derived');

    const made = await createBackup({ dataDir, now: () => Date.UTC(2025, 0, 2, 3, 4, 5, 678) });

    expect(backupCreatedSchema.parse(made)).toEqual(made);
    expect(made.backupId).toMatch(/^bak_20250102T030405678Z_[a-z0-9]{8}$/);
    expect(made.path).toBe(join(dataDir, 'backups', made.backupId));
    expect(made.parts).toEqual(['ledger', 'agent', 'memory']);
    expect(made.files.map((f) => f.path)).toEqual([
      'ledger.db',
      'agent.db',
      'memory/notes/nginx.md',
      'memory/today.md',
    ]);
    expect(readdirSync(made.path).sort()).toEqual(['agent.db', 'ledger.db', 'manifest.json', 'memory']);

    const manifest = backupManifestSchema.parse(JSON.parse(readFileSync(join(made.path, 'manifest.json'), 'utf8')));
    expect(manifest.files).toEqual(made.files);
    for (const f of made.files) {
      expect(f.sha256).toBe(sha256(join(made.path, f.path)));
      expect(f.sizeBytes).toBe(statSync(join(made.path, f.path)).size);
      expect(mode(join(made.path, f.path))).toBe(0o600);
    }
    expect(made.sizeBytes).toBe(made.files.reduce((s, f) => s + f.sizeBytes, 0));
    expect(readFileSync(join(made.path, 'memory/notes/nginx.md'), 'utf8')).toBe('# nginx\nlistens on 8080\n');
    for (const dir of [join(dataDir, 'backups'), made.path, join(made.path, 'memory'), join(made.path, 'memory/notes')])
      expect(mode(dir)).toBe(0o700);
  });

  it('leaves out parts that do not exist yet', async () => {
    const made = await createBackup({ dataDir });
    expect(made.parts).toEqual([]);
    expect(made.files).toEqual([]);
    expect(listBackups(dataDir)).toMatchObject([{ status: 'ok', backupId: made.backupId, fileCount: 0 }]);
  });

  it('takes a consistent copy while another process keeps writing to ledger.db', async () => {
    const ledger = fakeLedger(0);
    const writer = startWriter(join(dataDir, 'ledger.db'));
    try {
      const count = () => (ledger.prepare('SELECT count(*) AS n FROM events').get() as { n: number }).n;
      while (count() < 2_000) await new Promise((r) => setTimeout(r, 20));
      const before = count();
      const made = await createBackup({ dataDir });
      const after = count();

      const copy = new Database(join(made.path, 'ledger.db'), { readonly: true });
      try {
        expect(copy.pragma('integrity_check', { simple: true })).toBe('ok');
        const copied = (copy.prepare('SELECT count(*) AS n FROM events').get() as { n: number }).n;
        expect(copied).toBeGreaterThanOrEqual(before);
        expect(copied).toBeLessThanOrEqual(after);
        // The writer commits rows in pairs: a torn copy would hold an odd count.
        expect(copied % 2).toBe(0);
        // A self-contained file: no WAL needed next to it.
        expect(copy.pragma('journal_mode', { simple: true })).toBe('delete');
      } finally {
        copy.close();
      }
      expect(after).toBeGreaterThan(before);
    } finally {
      writer.kill();
    }
  });
});

/** A separate process appending pairs of 1 KiB rows to `file` in one transaction each, until killed. */
function startWriter(file: string): ChildProcess {
  const driver = createRequire(import.meta.url).resolve('better-sqlite3');
  const script = `
    const Database = require(${JSON.stringify(driver)});
    const db = new Database(${JSON.stringify(file)});
    db.pragma('journal_mode = WAL'); db.pragma('busy_timeout = 5000');
    const insert = db.prepare('INSERT INTO events (payload) VALUES (?)');
    const pair = db.transaction(() => { insert.run('x'.repeat(1024)); insert.run('y'.repeat(1024)); });
    for (;;) pair();
  `;
  return spawn(process.execPath, ['-e', script], { stdio: 'ignore' });
}

describe('listBackups', () => {
  it('is empty when there is no backups directory, or an empty one', () => {
    expect(listBackups(dataDir)).toEqual([]);
    mkdirSync(join(dataDir, 'backups'));
    expect(listBackups(dataDir)).toEqual([]);
  });

  it('lists newest first and shows a damaged backup as damaged, ignoring what is not a backup', async () => {
    writeMemory('a.md', 'a');
    const older = await createBackup({ dataDir, now: () => 1_000 });
    const newer = await createBackup({ dataDir, now: () => 2_000 });
    const broken = await createBackup({ dataDir, now: () => 3_000 });
    const lost = await createBackup({ dataDir, now: () => 4_000 });
    unlinkSync(join(broken.path, 'manifest.json'));
    unlinkSync(join(lost.path, 'memory/a.md'));
    mkdirSync(join(dataDir, 'backups', '.tmp-bak_x'));
    mkdirSync(join(dataDir, 'backups', 'not-a-backup'));

    expect(listBackups(dataDir)).toEqual([
      { status: 'damaged', backupId: lost.backupId, path: lost.path, reason: 'memory/a.md is missing' },
      { status: 'damaged', backupId: broken.backupId, path: broken.path, reason: 'no manifest' },
      {
        status: 'ok',
        backupId: newer.backupId,
        path: newer.path,
        sizeBytes: 1,
        createdAt: 2_000,
        parts: ['memory'],
        fileCount: 1,
      },
      {
        status: 'ok',
        backupId: older.backupId,
        path: older.path,
        sizeBytes: 1,
        createdAt: 1_000,
        parts: ['memory'],
        fileCount: 1,
      },
    ]);
  });
});

describe('restoreBackup', () => {
  it('brings back deleted incidents and memory files through the live connection, and leaves ledger.db alone', async () => {
    const ledger = fakeLedger(5);
    const agentDb = sqlite('agent.db');
    const records = new Records(agentDb);
    const kept = records.createIncident({ title: 'disk filling up', severity: 'medium' }, 'session:a');
    records.addStep(kept.id, { action: 'system_query disks', result: '/var at 91%' }, 'session:a');
    records.addReceipt({ kind: 'backup.create', summary: 'before the mistake' }, 'daemon');
    writeMemory('notes/disk.md', 'logs rotate weekly\n');
    writeMemory('keep.md', 'kept\n');
    const made = await createBackup({ dataDir });

    // The mistake: records and memory lost, the ledger carries on.
    records.addReceipt({ kind: 'oops', summary: 'after the backup' }, 'daemon');
    agentDb.exec('DELETE FROM incident_steps; DELETE FROM incidents');
    rmSync(join(dataDir, 'memory/notes/disk.md'));
    writeMemory('new.md', 'written after\n');
    ledger.prepare('INSERT INTO events (payload) VALUES (?)').run('after the backup');
    const ledgerBytes = readFileSync(join(dataDir, 'ledger.db'));

    const answer = await restoreBackup(dataDir, made.backupId, { records });

    expect(backupRestoredSchema.parse(answer)).toEqual(answer);
    expect(answer).toMatchObject({
      restoredFrom: made.backupId,
      status: 'restored',
      restored: ['receipts', 'incidents', 'memory'],
      reindexNeeded: true,
    });
    expect(answer.skipped.map((s) => s.name)).toEqual(['ledger']);
    // The same Records object (same connection) sees the restored rows.
    expect(records.getIncident(kept.id)).toMatchObject({
      title: 'disk filling up',
      severity: 'medium',
      openedBy: 'session:a',
    });
    expect(records.getIncident(kept.id).steps.map((s) => s.result)).toEqual(['/var at 91%']);
    expect(records.listReceipts().map((r) => r.summary)).toEqual(['before the mistake']);
    expect(memoryTree()).toEqual({ 'keep.md': 'kept\n', 'notes/disk.md': 'logs rotate weekly\n' });
    expect(readFileSync(join(dataDir, 'ledger.db')).equals(ledgerBytes)).toBe(true);
    expect(ledger.prepare('SELECT count(*) AS n FROM events').get()).toEqual({ n: 6 });
    expect(readdirSync(dataDir).filter((n) => n.startsWith('.restore-'))).toEqual([]);
    // The live connection still writes.
    records.addReceipt({ kind: 'backup.restore', summary: 'restored' }, 'daemon');
    expect(records.listReceipts()).toHaveLength(2);
  });

  it('opens agent.db itself when no live store is given', async () => {
    const agentDb = sqlite('agent.db');
    new Records(agentDb).createIncident({ title: 'kept' }, 'daemon');
    const made = await createBackup({ dataDir });
    agentDb.exec('DELETE FROM incidents');
    agentDb.close();

    await restoreBackup(dataDir, made.backupId);

    expect(new Records(sqlite('agent.db')).listIncidents().map((i) => i.title)).toEqual(['kept']);
  });

  it('refuses a tampered backup and changes nothing', async () => {
    const records = new Records(sqlite('agent.db'));
    records.createIncident({ title: 'in the backup' }, 'daemon');
    writeMemory('a.md', 'original\n');
    const made = await createBackup({ dataDir });
    records.createIncident({ title: 'after the backup' }, 'daemon');
    writeMemory('a.md', 'changed since\n');
    writeFileSync(join(made.path, 'memory/a.md'), 'Original\n'); // same size, other bytes

    const err = await failure(restoreBackup(dataDir, made.backupId, { records }));

    expect(err.code).toBe('conflict');
    expect(err.message).toContain('memory/a.md does not match its hash');
    expect(records.listIncidents().map((i) => i.title)).toEqual(['after the backup', 'in the backup']);
    expect(memoryTree()).toEqual({ 'a.md': 'changed since\n' });
    expect(readdirSync(dataDir).filter((n) => n.startsWith('.restore-'))).toEqual([]);
  });

  it('refuses a backup with a file missing, or with no manifest', async () => {
    sqlite('agent.db');
    const made = await createBackup({ dataDir });
    unlinkSync(join(made.path, 'agent.db'));
    expect((await failure(restoreBackup(dataDir, made.backupId))).message).toContain('agent.db is missing');
    unlinkSync(join(made.path, 'manifest.json'));
    expect((await failure(restoreBackup(dataDir, made.backupId))).message).toContain('no manifest');
  });

  it('refuses an id that could leave the backups directory, and answers not_found for an unknown one', async () => {
    expect((await failure(restoreBackup(dataDir, '../x'))).code).toBe('bad_request');
    expect((await failure(restoreBackup(dataDir, 'bak_20250102T030405678Z_aaaaaaaa/../../x'))).code).toBe(
      'bad_request',
    );
    expect((await failure(restoreBackup(dataDir, 'bak_20250102T030405678Z_aaaaaaaa'))).code).toBe('not_found');
  });
});
