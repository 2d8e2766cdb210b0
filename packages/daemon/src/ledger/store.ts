import Database from 'better-sqlite3';
import {
  FabricError,
  LEDGER_EVENTS_MAX_LIMIT,
  type LedgerEvent,
  type LedgerEventsAnswer,
  type LedgerEventsInput,
  type LedgerHead,
} from '@fabric/protocol';
import { openSqlite, type Sqlite } from '@fabric/node';
import { nextEvent } from './chain.js';

/** Largest payload accepted, as UTF-8 bytes of its JSON text. */
export const LEDGER_MAX_PAYLOAD_BYTES = 64 * 1024;

/** Printable ASCII without spaces: `owner`, `daemon`, `session:ses_…`. */
const ACTOR_RE = /^[\x21-\x7e]{1,128}$/;
/** Dotted names: `session.start`, `vault.access`. */
const KIND_RE = /^[A-Za-z0-9][A-Za-z0-9._:/-]{0,63}$/;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS events (
  seq INTEGER PRIMARY KEY,
  ts INTEGER NOT NULL,
  actor TEXT NOT NULL,
  kind TEXT NOT NULL,
  payload TEXT NOT NULL,
  prev_hash TEXT NOT NULL,
  hash TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_kind ON events (kind, seq);
CREATE INDEX IF NOT EXISTS events_actor ON events (actor, seq);
CREATE TRIGGER IF NOT EXISTS events_no_update BEFORE UPDATE ON events
BEGIN SELECT RAISE(ABORT, 'ledger events are append-only'); END;
CREATE TRIGGER IF NOT EXISTS events_no_delete BEFORE DELETE ON events
BEGIN SELECT RAISE(ABORT, 'ledger events are append-only'); END;
`;

const COLUMNS = 'seq, ts, actor, kind, payload, prev_hash AS prevHash, hash';

/** One event to append: `payload` is any JSON-serialisable value (undefined is stored as null). */
export interface LedgerAppend {
  actor: string;
  kind: string;
  payload: unknown;
}

export interface LedgerOptions {
  /** The clock for event timestamps (ms); Date.now by default. */
  now?: () => number;
  /**
   * Open an existing file read-only, changing nothing in it (verification,
   * backup copies): appends throw, and a file without the ledger's table is
   * `not_found`.
   */
  readonly?: boolean;
}

/**
 * The device ledger in one SQLite file (the daemon's is `<dataDir>/ledger.db`).
 * Append-only: triggers refuse UPDATE and DELETE, so even a plain SQL client
 * has to drop them first, and anything it then changes shows up in
 * `verifyLedger` (or, if it recomputed the chain, against the signed
 * checkpoints the control plane holds).
 *
 * Appends are `BEGIN IMMEDIATE` transactions that read the head and insert,
 * so several processes appending to one file keep a single linear chain.
 * Expected failures (a bad actor, kind or payload) throw
 * `FabricError('bad_request')` and write nothing.
 */
export class Ledger {
  private readonly db: Sqlite;
  private readonly now: () => number;
  private readonly headStmt: Database.Statement<[], LedgerHead>;
  private readonly insertStmt: Database.Statement<[number, number, string, string, string, string, string]>;
  private readonly getStmt: Database.Statement<[number], LedgerEvent>;
  private readonly listStmts = new Map<string, Database.Statement<unknown[], LedgerEvent>>();
  private readonly appendTx: (items: readonly LedgerAppend[]) => LedgerEvent[];

  /** Opens (creating when missing, 0600) the ledger at `file`; `:memory:` for a private one. */
  constructor(file: string, opts: LedgerOptions = {}) {
    this.now = opts.now ?? Date.now;
    if (opts.readonly) {
      this.db = new Database(file, { readonly: true, fileMustExist: true });
      const table = this.db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'events'").get();
      if (!table) {
        this.db.close();
        throw new FabricError('not_found', `${file} holds no ledger`);
      }
    } else {
      this.db = openSqlite(file);
      this.db.exec(SCHEMA);
    }
    this.headStmt = this.db.prepare('SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1');
    this.insertStmt = this.db.prepare(
      'INSERT INTO events (seq, ts, actor, kind, payload, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?)',
    );
    this.getStmt = this.db.prepare(`SELECT ${COLUMNS} FROM events WHERE seq = ?`);
    const tx = this.db.transaction((items: readonly LedgerAppend[]) => {
      // Everything is checked before the first insert, so a bad item writes nothing.
      const rows = items.map((it) => checkedRow(it));
      let head: LedgerHead | null = this.headStmt.get() ?? null;
      const ts = this.now();
      const out: LedgerEvent[] = [];
      for (const [actor, kind, payload] of rows) {
        const ev = nextEvent(head, ts, actor, kind, payload);
        this.insertStmt.run(ev.seq, ev.ts, ev.actor, ev.kind, ev.payload, ev.prevHash, ev.hash);
        out.push(ev);
        head = ev;
      }
      return out;
    });
    // IMMEDIATE takes the write lock before reading the head: another
    // process cannot append between our read and our insert.
    this.appendTx = (items) => tx.immediate(items);
  }

  /** Append one event; answers it as stored. */
  append(actor: string, kind: string, payload: unknown): LedgerEvent {
    return this.appendTx([{ actor, kind, payload }])[0]!;
  }

  /** Append several events in one transaction (all or none), in order, with one timestamp. */
  appendBatch(items: readonly LedgerAppend[]): LedgerEvent[] {
    if (items.length === 0) return [];
    return this.appendTx(items);
  }

  /** The newest event's seq and hash; null while the ledger is empty. */
  head(): LedgerHead | null {
    return this.headStmt.get() ?? null;
  }

  /** Event `seq`, or null when there is none. */
  get(seq: number): LedgerEvent | null {
    return this.getStmt.get(seq) ?? null;
  }

  /**
   * A page of events for an events-log view, filtered by kind and actor
   * (exact), with exclusive seq bounds. `input` is trusted to be parsed by
   * `ledgerEventsInputSchema`; the limit is clamped to 1..1000 anyway.
   */
  list(input: LedgerEventsInput = {}): LedgerEventsAnswer {
    const where: string[] = [];
    const params: unknown[] = [];
    if (input.kind !== undefined) {
      where.push('kind = ?');
      params.push(input.kind);
    }
    if (input.actor !== undefined) {
      where.push('actor = ?');
      params.push(input.actor);
    }
    if (input.afterSeq !== undefined) {
      where.push('seq > ?');
      params.push(input.afterSeq);
    }
    if (input.beforeSeq !== undefined) {
      where.push('seq < ?');
      params.push(input.beforeSeq);
    }
    const order = input.order === 'asc' ? 'ASC' : 'DESC';
    const limit = Math.min(LEDGER_EVENTS_MAX_LIMIT, Math.max(1, Math.floor(input.limit ?? 100)));
    const sql = `SELECT ${COLUMNS} FROM events${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY seq ${order} LIMIT ?`;
    let stmt = this.listStmts.get(sql);
    if (!stmt) {
      stmt = this.db.prepare(sql);
      this.listStmts.set(sql, stmt);
    }
    // One more than asked tells whether there is a next page.
    const events = stmt.all(...params, limit + 1);
    const hasMore = events.length > limit;
    if (hasMore) events.pop();
    return { events, hasMore, head: this.head() };
  }

  /**
   * Every event in seq order, read lazily (constant memory) from one
   * snapshot. While it is being iterated this connection can run nothing
   * else: finish (or `return()`) the iterator first.
   */
  *iterate(): IterableIterator<LedgerEvent> {
    // Raw rows made into objects here read faster than better-sqlite3's own row objects.
    const stmt = this.db
      .prepare<[], [number, number, string, string, string, string, string]>(
        'SELECT seq, ts, actor, kind, payload, prev_hash, hash FROM events ORDER BY seq',
      )
      .raw();
    for (const row of stmt.iterate()) {
      yield { seq: row[0], ts: row[1], actor: row[2], kind: row[3], payload: row[4], prevHash: row[5], hash: row[6] };
    }
  }

  /** How many events are stored. */
  count(): number {
    return (this.db.prepare('SELECT count(*) AS n FROM events').get() as { n: number }).n;
  }

  close(): void {
    this.db.close();
  }
}

/** `[actor, kind, payload JSON]` for one item, or FabricError('bad_request'). */
function checkedRow(item: LedgerAppend): [string, string, string] {
  const { actor, kind } = item;
  if (typeof actor !== 'string' || !ACTOR_RE.test(actor)) {
    throw new FabricError('bad_request', 'ledger actor must be 1-128 printable ascii characters without spaces');
  }
  if (typeof kind !== 'string' || !KIND_RE.test(kind)) {
    throw new FabricError('bad_request', 'ledger kind must be 1-64 characters of letters, digits and . _ : / -');
  }
  let payload: string | undefined;
  try {
    payload = JSON.stringify(item.payload ?? null);
  } catch {
    throw new FabricError('bad_request', 'ledger payload must be serialisable as json');
  }
  // A function or symbol stringifies to undefined.
  if (typeof payload !== 'string') throw new FabricError('bad_request', 'ledger payload must be serialisable as json');
  // Cheap length test first: UTF-8 takes at most 3 bytes per UTF-16 unit.
  if (payload.length * 3 > LEDGER_MAX_PAYLOAD_BYTES && Buffer.byteLength(payload, 'utf8') > LEDGER_MAX_PAYLOAD_BYTES) {
    throw new FabricError(
      'bad_request',
      `ledger payload is over ${LEDGER_MAX_PAYLOAD_BYTES / 1024} KiB of json; record a summary or a reference instead`,
    );
  }
  return [actor, kind, payload];
}
