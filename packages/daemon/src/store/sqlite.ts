import { chmodSync, closeSync, existsSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';

export type Sqlite = Database.Database;

/**
 * Open (creating when missing) one of the daemon's SQLite files: the file
 * and its WAL are this user's alone (0600: SQLite copies the database
 * file's mode to its -wal and -shm files), WAL mode, NORMAL sync (a crash keeps every committed
 * transaction; a power loss may drop the last few, never corrupts), and a
 * busy timeout so the daemon and an `optimal` command can share a file.
 * `:memory:` opens a private in-memory database (tests).
 */
export function openSqlite(file: string): Sqlite {
  if (file !== ':memory:') {
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    // SQLite gives its -wal and -shm files the mode of the database file.
    if (!existsSync(file)) closeSync(openSync(file, 'a', 0o600));
    chmodSync(file, 0o600);
  }
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('busy_timeout = 5000');
  db.pragma('foreign_keys = ON');
  return db;
}
