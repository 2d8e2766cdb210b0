// Runs the server's tests on PostgreSQL: every store they open in memory (`openSqlite(':memory:')`, the
// default of `startServer`) is instead a fresh schema on the real PostgreSQL server, dropped when the store
// is destroyed. Files stay on SQLite. See vitest.config.ts, project "server on PostgreSQL".
import { randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import { vi } from 'vitest';
import { postgresUrl, schemaPrefix } from './env.js';

vi.mock('../../src/store/db.js', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../src/store/db.js')>();
  return {
    ...real,
    openSqlite: async (file: string) => {
      if (file !== ':memory:') return real.openSqlite(file);
      const schema = `${schemaPrefix()}${randomBytes(6).toString('hex')}`;
      const db = await real.openPostgres(postgresUrl(), { schema, max: 4 });
      const destroy = db.destroy.bind(db);
      let dropped: Promise<void> | null = null;
      db.destroy = () =>
        (dropped ??= (async () => {
          await sql.raw(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).execute(db);
          await destroy();
        })());
      return db;
    },
  };
});
