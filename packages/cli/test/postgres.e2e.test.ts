import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { optimal, Proc, tempDir } from './procs.js';

/** This machine's PostgreSQL (trust auth, database `test`), or `FABRIC_TEST_POSTGRES_URL`. */
const BASE = process.env.FABRIC_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function admin<T>(fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: BASE });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

/**
 * A fresh schema of its own, dropped afterwards, and the URL of the store in it. The URL carries a
 * password (trust auth ignores it) so the test can check it is never printed.
 */
async function freshStore(): Promise<{ database: string; schema: string }> {
  const schema = `fabric_cli_${randomBytes(6).toString('hex')}`;
  await admin((c) => c.query(`CREATE SCHEMA "${schema}"`));
  cleanups.push(() => admin((c) => c.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`)).then(() => undefined));
  const url = new URL(BASE);
  url.password = 'hunter2-never-printed';
  url.searchParams.set('options', `-c search_path=${schema}`);
  return { database: url.toString(), schema };
}

function serve(dir: string, database: string): Proc {
  const p = new Proc(['serve', '--data', dir, '--port', '0', '--database', database]);
  cleanups.push(() => p.kill().then(() => undefined));
  return p;
}

describe('optimal serve --database (PostgreSQL)', () => {
  it('keeps accounts in PostgreSQL across restarts and never prints the password', async () => {
    const { database, schema } = await freshStore();
    const dir = tempDir('pg');
    cleanups.push(dir.remove);

    const first = serve(dir.path, database);
    await first.waitFor(
      /control plane listening on (http:\S+) \(data in .*, store: PostgreSQL 127\.0\.0\.1:5432\/test\)/,
    );
    await first.waitFor(/no owner yet: run "optimal invite --data .* --database …"/);
    const setup = await optimal(['invite', '--data', dir.path, '--database', database]);
    expect(setup.code).toBe(0);
    expect(setup.stdout).toMatch(/owner setup code: \S+/);
    expect(await first.kill()).toBe(0);

    // The setup code is in PostgreSQL, not in the data dir: a second run finds it there.
    const second = serve(dir.path, database);
    await second.waitFor(/control plane listening on/);
    const again = await optimal(['invite', '--data', dir.path], { env: { FABRIC_DATABASE_URL: database } });
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/owner setup code: \S+/);
    const rows = await admin((c) => c.query<{ n: string }>(`SELECT count(*) AS n FROM "${schema}".codes`));
    expect(Number(rows.rows[0]!.n)).toBe(2);
    expect(await second.kill()).toBe(0);
    for (const out of [first.stdout + first.stderr, second.stdout + second.stderr, setup.stdout + setup.stderr])
      expect(out).not.toContain('hunter2');
  });

  it('says in one line what to do when PostgreSQL cannot be reached, and what --database takes', async () => {
    const dir = tempDir('pgdown');
    cleanups.push(dir.remove);
    // Port 1 on loopback: nothing listens there.
    const down = await optimal([
      'serve',
      '--data',
      dir.path,
      '--port',
      '0',
      '--database',
      'postgres://u:pw-secret@127.0.0.1:1/x',
    ]);
    expect(down.code).not.toBe(0);
    expect(down.stderr.trim()).toBe(
      'optimal: store_unavailable: cannot reach the PostgreSQL store (connection refused); check --database and that the server runs',
    );
    const wrong = await optimal(['serve', '--data', dir.path, '--database', 'mysql://localhost/x']);
    expect(wrong.code).not.toBe(0);
    expect(wrong.stderr).toContain('--database takes a PostgreSQL URL: postgres://user@host:5432/db');
    expect(down.stderr + wrong.stderr).not.toContain('pw-secret');
  });
});
