import { openSqlite as openSqliteFile } from '@fabric/node';
import { Kysely, Migrator, SqliteDialect } from 'kysely';
import { migrationProvider } from './migrations.js';
import { TunedSqlite } from './sqlite.js';
import type { Database } from './schema.js';

export type Db = Kysely<Database>;

/**
 * Open (creating if needed) the embedded SQLite store at `file` (WAL, files
 * 0600: see `@fabric/node`'s openSqlite) and bring its schema up to date.
 * `:memory:` works for tests.
 */
export async function openSqlite(file: string): Promise<Db> {
  const sqlite = openSqliteFile(file);
  const tuned = new TunedSqlite(sqlite, file === ':memory:' ? null : file);
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: tuned }) });
  await migrate(db);
  return db;
}

/** Apply pending migrations; throws with the failing migration's name. */
export async function migrate(db: Kysely<Database>): Promise<void> {
  const migrator = new Migrator({ db, provider: migrationProvider });
  const { error, results } = await migrator.migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === 'Error')?.migrationName ?? 'unknown';
    throw new Error(`migration ${failed} failed: ${error instanceof Error ? error.message : JSON.stringify(error)}`);
  }
}
