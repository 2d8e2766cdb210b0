import { migrateSqlite, type Sqlite } from '@fabric/node';

/**
 * The schema of `agent.db`, versioned by SQLite's `user_version`: migration
 * `i` takes the file from version `i` to `i + 1`. Later changes append a
 * migration; a shipped one is never edited.
 */
const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE receipts (
    seq        INTEGER PRIMARY KEY,
    id         TEXT NOT NULL UNIQUE,
    ts         INTEGER NOT NULL,
    actor      TEXT NOT NULL,
    kind       TEXT NOT NULL,
    summary    TEXT NOT NULL,
    detail     TEXT NOT NULL,
    ledger_seq INTEGER
  );
  CREATE INDEX receipts_by_ts ON receipts (ts);
  CREATE INDEX receipts_by_kind_ts ON receipts (kind, ts);

  CREATE TABLE incidents (
    seq        INTEGER PRIMARY KEY,
    id         TEXT NOT NULL UNIQUE,
    title      TEXT NOT NULL,
    severity   TEXT,
    status     TEXT NOT NULL CHECK (status IN ('open', 'closed')),
    created_at INTEGER NOT NULL,
    closed_at  INTEGER,
    resolution TEXT,
    opened_by  TEXT NOT NULL,
    closed_by  TEXT
  );
  CREATE INDEX incidents_by_status ON incidents (status, created_at);

  CREATE TABLE incident_steps (
    incident_id TEXT NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    n           INTEGER NOT NULL,
    ts          INTEGER NOT NULL,
    actor       TEXT NOT NULL,
    action      TEXT NOT NULL,
    result      TEXT NOT NULL,
    PRIMARY KEY (incident_id, n)
  );
  `,
];

/** The version this code reads and writes. */
export const RECORDS_SCHEMA_VERSION = MIGRATIONS.length;

/** The tables a restore replaces, children after parents (the order rows are inserted in). */
export const RECORD_TABLES = ['receipts', 'incidents', 'incident_steps'] as const;

/** Bring `db` up to the current schema (see `migrateSqlite`: a newer daemon's file is refused as `unsupported`). */
export function migrateRecords(db: Sqlite): void {
  migrateSqlite(db, 'agent.db', MIGRATIONS);
}
