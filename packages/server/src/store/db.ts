import { chmodSync, existsSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { Kysely, Migrator, SqliteDialect } from 'kysely';
import { migrationProvider } from './migrations.js';
import { TunedSqlite } from './sqlite.js';
import type { Database } from './schema.js';

export type Db = Kysely<Database>;

/**
 * Open (creating if needed) the embedded SQLite store at `file`, in WAL mode,
 * with its files 0600, and bring its schema up to date. `:memory:` works for tests.
 */
export async function openSqlite(file: string): Promise<Db> {
  if (file !== ':memory:') {
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  }
  const sqlite = new SqliteDatabase(file);
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('synchronous = NORMAL');
  sqlite.pragma('busy_timeout = 5000');
  sqlite.pragma('foreign_keys = ON');
  const tuned = new TunedSqlite(sqlite, file === ':memory:' ? null : file);
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: tuned }) });
  await migrate(db);
  // The WAL and shared-memory files appear with the first write; keep all three private.
  if (file !== ':memory:') {
    for (const f of [file, `${file}-wal`, `${file}-shm`]) if (existsSync(f)) chmodSync(f, 0o600);
  }
  return db;
}

/** Apply pending migrations; throws with the failing migration's name. */
export async function migrate(db: Kysely<Database>): Promise<void> {
  const migrator = new Migrator({ db, provider: migrationProvider });
  const { error, results } = await migrator.migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === 'Error')?.migrationName ?? 'unknown';
    throw new Error(`migration ${failed} failed: ${error instanceof Error ? error.message : String(error)}`);
  }
}
