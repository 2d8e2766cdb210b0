import { chmodSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { migrateSqlite, openSqlite, type Sqlite } from '@fabric/node';
import { Records } from '../audit/records/store.js';

export type { Sqlite };

/**
 * Open the store at `path` (0600, WAL; see `openSqlite`) and bring it up to
 * `migrations` (see `migrateSqlite`; `label` names it in errors). Closes it
 * and throws when it cannot: `unsupported` for a file a newer daemon wrote.
 * A module gets its stores from `ctx.db`, which calls this.
 */
export function openStore(path: string, label: string, migrations: readonly string[]): Sqlite {
  const db = openSqlite(path);
  try {
    migrateSqlite(db, label, migrations);
  } catch (err) {
    db.close();
    throw err;
  }
  return db;
}

/** Run `fn` on the receipts and incidents of `<dataDir>/agent.db` over a connection of its own, closed after. */
export function withRecordsStore<T>(dataDir: string, fn: (records: Records) => T): T {
  const db = openSqlite(join(dataDir, 'agent.db'));
  try {
    return fn(new Records(db));
  } finally {
    db.close();
  }
}

/** Pages per step of the online backup: all of them, so the copy is one read transaction (see `snapshotStore`). */
const ALL_PAGES = 0x7fffffff;

/**
 * Copy SQLite database `src` to `dest` with the online backup API while
 * other connections (the daemon) keep writing. All pages are copied in one
 * step, i.e. inside one read transaction: in WAL mode that does not block
 * writers, and the copy is the database as of one commit. (In small steps a
 * write by another connection restarts the copy, which a busy writer could
 * do forever.) The copy is switched out of WAL so it is one self-contained
 * file. Returns false when `src` does not exist.
 */
export async function snapshotStore(src: string, dest: string): Promise<boolean> {
  if (!existsSync(src)) return false;
  const db = openSqlite(src);
  try {
    await db.backup(dest, { progress: () => ALL_PAGES });
  } finally {
    db.close();
  }
  // Not openSqlite: this file is a frozen copy, not a database the daemon uses.
  const copy = new Database(dest);
  try {
    copy.pragma('journal_mode = DELETE');
  } finally {
    copy.close();
  }
  chmodSync(dest, 0o600);
  return true;
}
