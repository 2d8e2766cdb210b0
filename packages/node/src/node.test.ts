import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isFabricError } from '@fabric/protocol';
import { LOCK_FILE, lockDataDir, openSqlite, writePrivateFile, writePrivateJson } from './index.js';

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
