import { openSqlite as openSqliteFile } from '@fabric/node';
import { Kysely, Migrator, PostgresDialect, SqliteDialect } from 'kysely';
import pg from 'pg';
import { FabricError } from '@fabric/protocol';
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

/** A PostgreSQL connection URL (`postgres://…` or `postgresql://…`), as `--database` takes it. */
export function isPostgresUrl(database: string): boolean {
  return /^postgres(ql)?:\/\//i.test(database);
}

export interface PostgresOptions {
  /** The schema the store lives in (created if missing; default: the server's `search_path`, usually `public`). */
  schema?: string;
  /** Connections in the pool (default 10). */
  max?: number;
}

const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/**
 * Open the store on the PostgreSQL server at `url` (through `pg`) and bring
 * its schema up to date: the same Kysely schema and migrations as SQLite.
 * `bigint` columns come back as numbers (every one holds a time in ms, a
 * count or a sequence, far below 2^53). Throws `store_unavailable` when the server
 * cannot be reached, without the URL (it may hold a password).
 */
export async function openPostgres(url: string, opts: PostgresOptions = {}): Promise<Db> {
  if (opts.schema !== undefined && !SCHEMA_NAME.test(opts.schema))
    throw new FabricError('bad_request', `schema ${JSON.stringify(opts.schema)} is not a plain lower-case name`);
  const pool = new pg.Pool({
    connectionString: url,
    max: opts.max ?? 10,
    types: int8AsNumber(),
    ...(opts.schema === undefined ? {} : { options: `-c search_path=${opts.schema}` }),
  });
  // An idle connection the server drops is replaced; the error must not take the process down.
  pool.on('error', () => undefined);
  let schema: string;
  try {
    const client = await pool.connect();
    try {
      if (opts.schema !== undefined) await client.query(`CREATE SCHEMA IF NOT EXISTS "${opts.schema}"`);
      const { rows } = await client.query<{ schema: string | null }>('SELECT current_schema() AS schema');
      schema = rows[0]?.schema ?? 'public';
    } finally {
      client.release();
    }
  } catch (err) {
    await pool.end().catch(() => undefined);
    throw new FabricError(
      'store_unavailable',
      `cannot reach the PostgreSQL store (${postgresFailure(err)}); check --database and that the server runs`,
    );
  }
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  try {
    // Named, so Kysely's bookkeeping tables of another schema in the same database are never taken for ours.
    await migrate(db, schema);
  } catch (err) {
    await db.destroy();
    throw err;
  }
  return db;
}

/** Type parsers for this pool only (not pg's global ones): `bigint` (int8) columns read as numbers. */
function int8AsNumber(): pg.TypeOverrides {
  const types = new pg.TypeOverrides();
  types.setTypeParser(pg.types.builtins.INT8, (v: string) => Number(v));
  return types;
}

/** What went wrong connecting, in words that never repeat the URL. */
function postgresFailure(err: unknown): string {
  const code = (err as { code?: unknown }).code;
  if (code === 'ECONNREFUSED') return 'connection refused';
  if (code === 'ENOTFOUND') return 'host not found';
  if (code === '28P01' || code === '28000') return 'authentication failed';
  if (code === '3D000') return 'no such database';
  return typeof code === 'string' ? `error ${code}` : 'connection failed';
}

/** Where the store is, for people to read: never the password a URL may hold. */
export function storeLabel(database: string): string {
  if (!isPostgresUrl(database)) return `SQLite ${database}`;
  try {
    const u = new URL(database);
    return `PostgreSQL ${u.host}${u.pathname}`;
  } catch {
    return 'PostgreSQL';
  }
}

/**
 * Open the store `database` names: a PostgreSQL URL, or a SQLite file
 * (`:memory:` for tests).
 */
export function openStore(database: string): Promise<Db> {
  return isPostgresUrl(database) ? openPostgres(database) : openSqlite(database);
}

/** Apply pending migrations (their bookkeeping tables in `schema`, on PostgreSQL); throws with the failing migration's name. */
export async function migrate(db: Kysely<Database>, schema?: string): Promise<void> {
  const migrator = new Migrator({
    db,
    provider: migrationProvider,
    ...(schema === undefined ? {} : { migrationTableSchema: schema }),
  });
  const { error, results } = await migrator.migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === 'Error')?.migrationName ?? 'unknown';
    throw new Error(`migration ${failed} failed: ${error instanceof Error ? error.message : JSON.stringify(error)}`);
  }
}
