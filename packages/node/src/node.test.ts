import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isFabricError } from '@fabric/protocol';
import { LOCK_FILE, lockDataDir, migrateSqlite, openSqlite, writePrivateFile, writePrivateJson } from './index.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'fabric-node-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const mode = (file: string) => statSync(file).mode & 0o777;

describe('openSqlite', () => {
  it('makes the directory 0700 and the database, its WAL and shared memory 0600, in WAL mode', () => {
    const file = join(dir, 'sub', 'x.db');
    const db = openSqlite(file);
    db.exec('CREATE TABLE t (v TEXT); INSERT INTO t VALUES (1)');
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(db.pragma('foreign_keys', { simple: true })).toBe(1);
    expect(mode(join(dir, 'sub'))).toBe(0o700);
    for (const f of [file, `${file}-wal`, `${file}-shm`]) expect(mode(f), f).toBe(0o600);
    db.close();
  });

  it('makes an existing database file private again', () => {
    const file = join(dir, 'x.db');
    writeFileSync(file, '', { mode: 0o644 });
    openSqlite(file).close();
    expect(mode(file)).toBe(0o600);
  });
});

describe('migrateSqlite', () => {
  const steps = ['CREATE TABLE a (x INTEGER)', 'ALTER TABLE a ADD COLUMN y TEXT', 'CREATE TABLE b (z INTEGER)'];
  const tables = (db: ReturnType<typeof openSqlite>) =>
    (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all() as { name: string }[]).map(
      (r) => r.name,
    );

  it('runs the steps a file lacks, in order, and none twice', () => {
    const db = openSqlite(join(dir, 'm.db'));
    migrateSqlite(db, 'm.db', steps.slice(0, 2));
    db.prepare('INSERT INTO a (x, y) VALUES (1, ?)').run('kept');
    migrateSqlite(db, 'm.db', steps);
    migrateSqlite(db, 'm.db', steps);
    expect(db.pragma('user_version', { simple: true })).toBe(3);
    expect(tables(db)).toEqual(['a', 'b']);
    expect(db.prepare('SELECT y FROM a').all()).toEqual([{ y: 'kept' }]);
    db.close();
  });

  it('leaves the file at the last good version when a step fails', () => {
    const db = openSqlite(join(dir, 'm.db'));
    expect(() => migrateSqlite(db, 'm.db', [steps[0]!, 'CREATE TABLE c (q INTEGER); SELECT * FROM missing'])).toThrow(
      /missing/,
    );
    expect(db.pragma('user_version', { simple: true })).toBe(1);
    expect(tables(db)).toEqual(['a']);
    db.close();
  });

  it('refuses a file a newer version wrote, by name, changing nothing', () => {
    const db = openSqlite(join(dir, 'm.db'));
    migrateSqlite(db, 'm.db', steps);
    let error: unknown;
    try {
      migrateSqlite(db, 'm.db', steps.slice(0, 1));
    } catch (err) {
      error = err;
    }
    expect(isFabricError(error) && error.code).toBe('unsupported');
    expect((error as Error).message).toBe('m.db has schema 3, this version of fabric knows 1: upgrade fabric');
    expect(db.pragma('user_version', { simple: true })).toBe(3);
    db.close();
  });
});

describe('writePrivateFile', () => {
  it('writes 0600 and replaces the old content whole, leaving no temp file', () => {
    const file = join(dir, 'a', 'f.json');
    writePrivateJson(file, { a: 1 });
    writePrivateFile(file, 'two\n');
    expect(readFileSync(file, 'utf8')).toBe('two\n');
    expect(mode(file)).toBe(0o600);
    expect(readdirSync(join(dir, 'a'))).toEqual(['f.json']);
  });

  it('keeps the old file and leaves no temp file when the write fails', () => {
    const file = join(dir, 'f');
    writePrivateFile(file, 'old');
    // A directory where the file should be: the rename fails.
    const blocked = join(dir, 'd');
    writePrivateFile(join(blocked, 'inner'), 'x');
    expect(() => writePrivateFile(blocked, 'new')).toThrow();
    expect(readFileSync(file, 'utf8')).toBe('old');
    expect(readdirSync(dir).sort()).toEqual(['d', 'f']);
  });
});

describe('lockDataDir', () => {
  it('refuses a second holder by name and pid, changing nothing, and frees the dir on release', () => {
    const lock = lockDataDir(dir);
    const before = readFileSync(lock.file, 'utf8');
    let caught: unknown;
    try {
      lockDataDir(dir);
    } catch (err) {
      caught = err;
    }
    expect(isFabricError(caught) && caught.code).toBe('data_dir_in_use');
    expect(String((caught as Error).message)).toContain(`used by pid ${process.pid}`);
    expect(readFileSync(lock.file, 'utf8')).toBe(before);
    lock.release();
    expect(existsSync(join(dir, LOCK_FILE))).toBe(false);
    lockDataDir(dir).release();
  });

  it('takes over a lock whose process is gone', () => {
    // A pid far above pid_max is never a live process.
    writeFileSync(join(dir, LOCK_FILE), JSON.stringify({ pid: 2 ** 30, start: '1' }));
    const lock = lockDataDir(dir);
    expect(JSON.parse(readFileSync(lock.file, 'utf8')).pid).toBe(process.pid);
    lock.release();
  });
});
