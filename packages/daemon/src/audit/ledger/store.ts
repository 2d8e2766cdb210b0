import Database from 'better-sqlite3';
import type { z } from 'zod';
import {
  FabricError,
  LEDGER_EVENTS_MAX_LIMIT,
  ledgerEntryFromRow,
  ledgerPayloadSchema,
  type LedgerEntry,
  type LedgerEntryOf,
  type LedgerEvent,
  type LedgerEventKind,
  type LedgerEventsAnswer,
  type LedgerEventsInput,
  type LedgerHead,
  type LedgerPayload,
  type LedgerRow,
} from '@fabric/protocol';
import { basename } from 'node:path';
import { migrateSqlite, openSqlite, type Sqlite } from '@fabric/node';
import { nextEvent } from './chain.js';

/** Largest payload accepted, as UTF-8 bytes of its JSON text. */
export const LEDGER_MAX_PAYLOAD_BYTES = 64 * 1024;

/** Printable ASCII without spaces: `owner`, `daemon`, `session:ses_…`. */
const ACTOR_RE = /^[\x21-\x7e]{1,128}$/;

/**
 * The ledger's schema, versioned in `user_version` (see `migrateSqlite`). The
 * first step keeps IF NOT EXISTS: files made before versioning adopt it as is.
 */
const MIGRATIONS: readonly string[] = [
  `
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
`,
];

/** Put back on every open: a file whose triggers were dropped is append-only again before anyone appends. */
const APPEND_ONLY = `
CREATE TRIGGER IF NOT EXISTS events_no_update BEFORE UPDATE ON events
BEGIN SELECT RAISE(ABORT, 'ledger events are append-only'); END;
CREATE TRIGGER IF NOT EXISTS events_no_delete BEFORE DELETE ON events
BEGIN SELECT RAISE(ABORT, 'ledger events are append-only'); END;
`;

const COLUMNS = 'seq, ts, actor, kind, payload, prev_hash AS prevHash, hash';

/** One event to append: its actor, and a kind with that kind's payload (`ledgerEventSchema`). */
export type LedgerAppend = { actor: string } & LedgerEvent;

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
 * Every event is checked against `ledgerEventSchema` before it is hashed;
 * expected failures (a bad actor, an unknown kind, a payload outside its
 * kind's schema or over 64 KiB) throw `FabricError('bad_request')` and
 * write nothing. The payload is stored and hashed as `JSON.stringify` of
 * the value given.
 *
 * Reads (`get`, `list`) answer {@link LedgerEntry}s: typed events, and
 * events outside the union (older daemons' kinds and payloads) as stored,
 * marked `legacy`. `iterate` answers the rows exactly as stored, for
 * verification.
 */
export class Ledger {
  private readonly db: Sqlite;
  private readonly now: () => number;
  private readonly headStmt: Database.Statement<[], LedgerHead>;
  private readonly insertStmt: Database.Statement<[number, number, string, string, string, string, string]>;
  private readonly getStmt: Database.Statement<[number], LedgerRow>;
  private readonly listStmts = new Map<string, Database.Statement<unknown[], LedgerRow>>();
  private readonly appendTx: (items: readonly LedgerAppend[]) => LedgerEntry[];

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
      try {
        migrateSqlite(this.db, basename(file), MIGRATIONS);
        this.db.exec(APPEND_ONLY);
      } catch (err) {
        this.db.close();
        throw err;
      }
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
      const out: LedgerEntry[] = [];
      for (const [i, [actor, kind, payload]] of rows.entries()) {
        const ev = nextEvent(head, ts, actor, kind, payload);
        this.insertStmt.run(ev.seq, ev.ts, ev.actor, ev.kind, ev.payload, ev.prevHash, ev.hash);
        const { seq, prevHash, hash } = ev;
        out.push({ seq, ts, actor, ...eventOf(items[i]!), prevHash, hash });
        head = ev;
      }
      return out;
    });
    // IMMEDIATE takes the write lock before reading the head: another
    // process cannot append between our read and our insert.
    this.appendTx = (items) => tx.immediate(items);
  }

  /**
   * Append one event of `kind` with its payload; answers it as stored. Throws
   * `FabricError('bad_request')`, appending nothing, when the payload is not
   * one of that kind (see the class notes).
   */
  append<K extends LedgerEventKind>(actor: string, kind: K, payload: LedgerPayload<K>): LedgerEntryOf<K> {
    // A kind and its own payload make an event; the compiler cannot see that through the generic.
    return this.appendTx([{ actor, kind, payload } as LedgerAppend])[0] as LedgerEntryOf<K>;
  }

  /** Append several events in one transaction (all or none), in order, with one timestamp. */
  appendBatch(items: readonly LedgerAppend[]): LedgerEntry[] {
    if (items.length === 0) return [];
    return this.appendTx(items);
  }

  /** The newest event's seq and hash; null while the ledger is empty. */
  head(): LedgerHead | null {
    return this.headStmt.get() ?? null;
  }

  /** Event `seq` (legacy when outside the union), or null when there is none. */
  get(seq: number): LedgerEntry | null {
    const row = this.getStmt.get(seq);
    return row ? ledgerEntryFromRow(row) : null;
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
    const rows = stmt.all(...params, limit + 1);
    const hasMore = rows.length > limit;
    if (hasMore) rows.pop();
    return { events: rows.map(ledgerEntryFromRow), hasMore, head: this.head() };
  }

  /**
   * Every event in seq order as stored (payloads as the hashed text, kinds
   * unchecked: what `verifyLedger` reads), lazily (constant memory) from one
   * snapshot. While it is being iterated this connection can run nothing
   * else: finish (or `return()`) the iterator first.
   */
  *iterate(): IterableIterator<LedgerRow> {
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

/** The kind and payload of an item, without its actor. */
function eventOf(item: LedgerAppend): LedgerEvent {
  const { kind, payload } = item;
  return { kind, payload } as LedgerEvent;
}

/**
 * `[actor, kind, payload JSON]` for one item, or FabricError('bad_request').
 * The item may come from code the compiler did not check: everything is
 * checked again here.
 */
function checkedRow(item: LedgerAppend): [string, string, string] {
  const { actor, kind } = item as { actor: unknown; kind: unknown };
  if (typeof actor !== 'string' || !ACTOR_RE.test(actor)) {
    throw new FabricError('bad_request', 'ledger actor must be 1-128 printable ascii characters without spaces');
  }
  const schema = typeof kind === 'string' ? ledgerPayloadSchema(kind) : undefined;
  if (typeof kind !== 'string' || !schema) {
    throw new FabricError('bad_request', `no ledger event kind ${JSON.stringify(String(kind)).slice(0, 80)}`);
  }
  const checked = schema.safeParse(item.payload);
  if (!checked.success) {
    throw new FabricError('bad_request', `ledger ${kind}: ${describeIssue(checked.error)}; nothing was recorded`);
  }
  let payload: string | undefined;
  try {
    payload = JSON.stringify(item.payload);
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

/** The first problem of a payload, naming its field: `payload.plan.path: must not contain NUL`. */
function describeIssue(error: z.ZodError): string {
  const issue = error.issues[0];
  if (!issue) return 'payload is not valid';
  const at = ['payload', ...issue.path.map(String)].join('.');
  return `${at}: ${issue.message}`;
}
