import { chmodSync, closeSync, existsSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import { FabricError } from '@fabric/protocol';
import Database from 'better-sqlite3';

export type Sqlite = Database.Database;

/**
 * Open (creating when missing) a SQLite file of the server's or the daemon's:
 * the file and its WAL are this user's alone (0600, made so before SQLite
 * opens it: SQLite gives its -wal and -shm files the database file's mode),
 * WAL mode, NORMAL sync (a crash keeps every committed transaction; a power
 * loss may drop the last few, never corrupts), foreign keys on, and a busy
 * timeout so a daemon and an `optimal` command can share a file. The
 * directory is made 0700 when missing. `:memory:` opens a private in-memory
 * database (tests). Throws what better-sqlite3 throws for a file that is not
 * a database or cannot be opened.
 */
export function openSqlite(file: string): Sqlite {
  if (file !== ':memory:') {
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
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

/**
 * Bring a SQLite file up to its schema. `migrations[i]` takes it from
 * version `i` to `i + 1`, counted in SQLite's `user_version`; a shipped
 * migration is never edited, later changes append one. Each step runs in an
 * immediate transaction that reads the version first, so two processes
 * opening one file at once never both run a step. Throws `unsupported`
 * (naming `name`) when a newer program wrote the file: its tables may mean
 * something this code does not know.
 */
export function migrateSqlite(db: Sqlite, name: string, migrations: readonly string[]): void {
  const step = db.transaction((): boolean => {
    const version = db.pragma('user_version', { simple: true }) as number;
    if (version > migrations.length) {
      throw new FabricError(
        'unsupported',
        `${name} has schema ${version}, this version of fabric knows ${migrations.length}: upgrade fabric`,
      );
    }
    if (version === migrations.length) return true;
    db.exec(migrations[version]!);
    db.pragma(`user_version = ${version + 1}`);
    return false;
  });
  while (!step.immediate()) {
    /* next migration */
  }
}
