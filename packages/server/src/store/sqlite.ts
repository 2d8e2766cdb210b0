import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type BetterSqlite3 from 'better-sqlite3';
import type { SqliteDatabase, SqliteStatement } from 'kysely';

const CACHE_SIZE = 256;

/**
 * The better-sqlite3 handle Kysely drives, with two changes that matter on
 * the hot path: prepared statements are cached by SQL text (Kysely prepares
 * every query afresh otherwise), and WAL checkpoints run on a worker thread's
 * own connection instead of inside a COMMIT on the event loop, where they
 * stalled writes for tens of milliseconds.
 */
export class TunedSqlite implements SqliteDatabase {
  private readonly statements = new Map<string, BetterSqlite3.Statement>();
  private checkpointer: Worker | null = null;

  constructor(
    private readonly db: BetterSqlite3.Database,
    file: string | null,
    checkpointEveryMs = 1000,
  ) {
    if (file !== null) {
      db.pragma('wal_autocheckpoint = 0');
      this.checkpointer = startCheckpointer(file, checkpointEveryMs);
    }
  }

  prepare(sql: string): SqliteStatement {
    let stmt = this.statements.get(sql);
    if (stmt) {
      // Refresh its place in the LRU order.
      this.statements.delete(sql);
    } else {
      stmt = this.db.prepare(sql);
    }
    this.statements.set(sql, stmt);
    if (this.statements.size > CACHE_SIZE) this.statements.delete(this.statements.keys().next().value!);
    return stmt;
  }

  close(): void {
    const worker = this.checkpointer;
    this.checkpointer = null;
    if (worker) void worker.terminate();
    this.statements.clear();
    // Closing the last connection checkpoints the WAL into the main file.
    this.db.close();
  }
}

const WORKER_SOURCE = `
const { workerData } = require('node:worker_threads');
const Database = require(workerData.module);
const db = new Database(workerData.file);
db.pragma('busy_timeout = 200');
setInterval(() => {
  try { db.pragma('wal_checkpoint(PASSIVE)'); } catch { /* busy: the next tick tries again */ }
}, workerData.everyMs);
`;

function startCheckpointer(file: string, everyMs: number): Worker {
  const module = createRequire(import.meta.url).resolve('better-sqlite3');
  const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { module, file, everyMs } });
  worker.unref();
  worker.on('error', () => {
    /* checkpoints are an optimisation; SQLite stays correct without them */
  });
  return worker;
}
