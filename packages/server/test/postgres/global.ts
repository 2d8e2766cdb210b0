// Global setup of the "server on PostgreSQL" project: names this run, checks the server is there (a clear
// error instead of every test failing alike), and drops whatever schema of this run a test left behind.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { postgresUrl, schemaPrefix } from './env.js';

async function withClient<T>(fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: postgresUrl() });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

export async function setup(): Promise<() => Promise<void>> {
  process.env.FABRIC_TEST_PG_RUN = randomBytes(4).toString('hex');
  try {
    await withClient((c) => c.query('SELECT 1'));
  } catch (err) {
    throw new Error(
      `PostgreSQL is not reachable at ${postgresUrl()} (${(err as Error).message}); start it (see .ci/run) or set FABRIC_TEST_POSTGRES_URL`,
      { cause: err },
    );
  }
  return async () => {
    await withClient(async (c) => {
      const { rows } = await c.query<{ nspname: string }>(
        'SELECT nspname FROM pg_namespace WHERE starts_with(nspname, $1)',
        [schemaPrefix()],
      );
      for (const { nspname } of rows) await c.query(`DROP SCHEMA IF EXISTS "${nspname}" CASCADE`);
    });
  };
}
