/** The PostgreSQL server the tests use: `FABRIC_TEST_POSTGRES_URL`, else this machine's (trust auth, database `test`). */
export function postgresUrl(): string {
  return process.env.FABRIC_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
}

/** This run's schemas start with this (set by the global setup, so a teardown drops only its own run's leftovers). */
export function schemaPrefix(): string {
  const run = process.env.FABRIC_TEST_PG_RUN;
  if (!run)
    throw new Error('FABRIC_TEST_PG_RUN is not set: run these tests through the "server on PostgreSQL" project');
  return `fabric_test_${run}_`;
}
