import type { SessionStatus, StreamEvent } from '@fabric/protocol';
import type { Bus } from '../bus.js';
import { topics } from '../bus.js';
import type { Db } from '../store/db.js';
import type { ApprovalsTable, SessionsTable, UsageTable } from '../store/schema.js';

/** A stream event before the writer numbers it: `kind`, `data` (typed by kind), `meta`, `ts`. */
export type EventInput = StreamEvent extends infer E ? (E extends StreamEvent ? Omit<E, 'seq'> : never) : never;

export type AppendInput = EventInput & AppendOptions;

export interface AppendOptions {
  sessionId: string;
  /** Columns of the session row to change in the same transaction as this event. */
  patch?:
    | (Partial<
        Pick<
          SessionsTable,
          | 'status'
          | 'device_id'
          | 'exit_code'
          | 'signal'
          | 'error_code'
          | 'error_message'
          | 'started_at'
          | 'ended_at'
          | 'placement'
          | 'tried_devices'
          | 'harness_session_id'
          | 'lost_until'
        >
      > & { status?: SessionStatus })
    | undefined;
  /** A usage row for the fuel meter, written in the same transaction as this event. */
  usage?: Omit<UsageTable, 'session_id' | 'ts'>;
  /** An approval request row, written in the same transaction as this event (kept if one with its id exists). */
  approval?: Omit<ApprovalsTable, 'session_id'>;
  /**
   * The device's sequence number for the envelope this event comes from. An
   * event whose `dseq` is not above the session's stored `device_seq` is a
   * resend and is not stored again; otherwise `device_seq` rises to it in the
   * same transaction.
   */
  dseq?: number;
}

interface Pending {
  input: AppendInput;
  /** null: a resend of an event already stored. */
  resolve: (event: StreamEvent | null) => void;
  reject: (err: unknown) => void;
  /** Its place in the order of appends, for {@link EventWriter.committed}. */
  n: number;
}

/** SQLite allows 32766 bound parameters; six per row keeps a chunk well inside. */
const ROWS_PER_INSERT = 1000;
const MAX_BATCH = 5000;
const MARKS_KEPT = 10_000;

/**
 * Persists session events with a per-session monotonic sequence, then
 * publishes them on the bus: an event is never visible to a watcher before
 * it is committed. Appends made in the same tick share one transaction
 * (group commit), which is what lets one node keep up with many envelopes a
 * second. Sequences come from `UPDATE sessions SET last_seq = last_seq + n
 * RETURNING last_seq`, which is safe with several writers on PostgreSQL too.
 */
export class EventWriter {
  private queue: Pending[] = [];
  private flushing = false;
  private scheduled = false;
  private drainWaiters: (() => void)[] = [];
  private appended = 0;
  private settled = 0;
  private commitWaiters: { n: number; resolve: (ok: boolean) => void; failures: number }[] = [];
  /** Batches whose transaction failed; a waiter in {@link committed} that saw one answers false. */
  private failures = 0;
  /**
   * Committed `device_seq` of sessions this writer wrote, so the steady
   * stream of a device costs no read per batch. Sound because one device
   * socket, on one node, feeds a session at a time; forgotten when a batch
   * fails, and wholesale past {@link MARKS_KEPT} sessions.
   */
  private readonly marks = new Map<string, number>();

  constructor(
    private readonly db: Db,
    private readonly bus: Bus,
  ) {}

  /** Resolves with the stored event once it is committed and published. */
  append(input: EventInput & Omit<AppendOptions, 'dseq'>): Promise<StreamEvent> {
    return this.enqueue(input) as Promise<StreamEvent>;
  }

  /**
   * Append an event a device may send more than once: resolves with the
   * stored event, or null when one with this `dseq` (or a later one) of the
   * session is already stored. Without a `dseq` it is {@link append}.
   */
  appendOnce(input: AppendInput): Promise<StreamEvent | null> {
    return this.enqueue(input);
  }

  private enqueue(input: AppendInput): Promise<StreamEvent | null> {
    return new Promise((resolve, reject) => {
      this.queue.push({ input, resolve, reject, n: ++this.appended });
      this.schedule();
    });
  }

  /**
   * Resolves once every append made before this call has been written or has
   * failed: true when no batch transaction failed meanwhile, false otherwise
   * (what was acknowledged on the strength of it must be sent again). Cheap
   * enough to call per device frame: waiters share the writer's own batches.
   */
  committed(): Promise<boolean> {
    if (this.settled >= this.appended) return Promise.resolve(true);
    return new Promise((resolve) => this.commitWaiters.push({ n: this.appended, resolve, failures: this.failures }));
  }

  /** Events accepted but not yet committed; callers pause producers when this grows. */
  get backlog(): number {
    return this.queue.length;
  }

  /** Resolves when nothing is waiting to be written. */
  drained(): Promise<void> {
    if (this.queue.length === 0 && !this.flushing) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  private schedule(): void {
    if (this.scheduled || this.flushing) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      void this.flush();
    });
  }

  private async flush(): Promise<void> {
    if (this.flushing) return;
    this.flushing = true;
    try {
      while (this.queue.length > 0) {
        const batch = this.queue.splice(0, MAX_BATCH);
        let stored: (StreamEvent | Error | null)[];
        try {
          stored = await this.write(batch.map((p) => p.input));
        } catch (err) {
          this.failures++;
          for (const p of batch) this.marks.delete(p.input.sessionId);
          for (const p of batch) p.reject(err);
          this.settle(batch);
          continue;
        }
        for (let i = 0; i < batch.length; i++) {
          const result = stored[i]!;
          if (result instanceof Error) {
            batch[i]!.reject(result);
            continue;
          }
          // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- appendOnce stores nothing for a duplicate
          if (result) this.bus.publish(topics.session(batch[i]!.input.sessionId), result);
          batch[i]!.resolve(result);
        }
        this.settle(batch);
      }
    } finally {
      this.flushing = false;
      const waiters = this.drainWaiters.splice(0);
      for (const w of waiters) w();
    }
  }

  private settle(batch: Pending[]): void {
    this.settled = batch[batch.length - 1]!.n;
    if (this.commitWaiters.length === 0) return;
    const still: typeof this.commitWaiters = [];
    for (const w of this.commitWaiters) {
      if (w.n <= this.settled) w.resolve(w.failures === this.failures);
      else still.push(w);
    }
    this.commitWaiters = still;
  }

  /**
   * One transaction for the batch; an append to a session that does not exist
   * fails alone, and a device resend (see {@link AppendInput.dseq}) is null.
   */
  private async write(inputs: AppendInput[]): Promise<(StreamEvent | Error | null)[]> {
    return this.db.transaction().execute(async (trx) => {
      // Resends first: the stored high-water marks, read in the transaction that moves them.
      // (One device socket feeds a session at a time, so on PostgreSQL too no other writer races this read.)
      const dup = new Set<AppendInput>();
      const highest = new Map<string, number>();
      const withSeq = [...new Set(inputs.filter((i) => i.dseq !== undefined).map((i) => i.sessionId))];
      if (withSeq.length > 0) {
        const mark = new Map<string, number>();
        const unknown: string[] = [];
        for (const id of withSeq) {
          const m = this.marks.get(id);
          if (m === undefined) unknown.push(id);
          else mark.set(id, m);
        }
        if (unknown.length > 0) {
          const rows = await trx
            .selectFrom('sessions')
            .select(['id', 'device_seq'])
            .where('id', 'in', unknown)
            .execute();
          for (const r of rows) mark.set(r.id, Number(r.device_seq));
        }
        for (const input of inputs) {
          if (input.dseq === undefined) continue;
          const top = highest.get(input.sessionId) ?? mark.get(input.sessionId) ?? 0;
          if (input.dseq <= top) dup.add(input);
          else highest.set(input.sessionId, input.dseq);
        }
      }
      const counts = new Map<string, number>();
      for (const input of inputs)
        if (!dup.has(input)) counts.set(input.sessionId, (counts.get(input.sessionId) ?? 0) + 1);
      const next = new Map<string, number>();
      for (const [sessionId, n] of counts) {
        const top = highest.get(sessionId);
        const row = await trx
          .updateTable('sessions')
          .set((eb) =>
            top === undefined
              ? { last_seq: eb('last_seq', '+', n) }
              : { last_seq: eb('last_seq', '+', n), device_seq: top },
          )
          .where('id', '=', sessionId)
          .returning('last_seq')
          .executeTakeFirst();
        if (row) next.set(sessionId, Number(row.last_seq) - n + 1);
      }
      const results: (StreamEvent | Error | null)[] = [];
      const rows: { input: AppendInput; event: StreamEvent }[] = [];
      for (const input of inputs) {
        if (dup.has(input)) {
          results.push(null);
          continue;
        }
        const seq = next.get(input.sessionId);
        if (seq === undefined) {
          results.push(new Error(`session ${input.sessionId} does not exist`));
          continue;
        }
        next.set(input.sessionId, seq + 1);
        const event = { seq, kind: input.kind, data: input.data, meta: input.meta, ts: input.ts } as StreamEvent;
        results.push(event);
        rows.push({ input, event });
      }
      for (let i = 0; i < rows.length; i += ROWS_PER_INSERT) {
        await trx
          .insertInto('session_events')
          .values(
            rows.slice(i, i + ROWS_PER_INSERT).map(({ input, event }) => ({
              session_id: input.sessionId,
              seq: event.seq,
              kind: event.kind,
              data: storedData(event),
              meta: event.meta === null ? null : JSON.stringify(event.meta),
              ts: event.ts,
            })),
          )
          .execute();
      }
      if (this.marks.size > MARKS_KEPT) this.marks.clear();
      // Taken as committed here: a failed commit rejects the batch, which forgets them again.
      for (const [id, top] of highest) this.marks.set(id, top);
      for (const { input } of rows) {
        if (input.patch && Object.keys(input.patch).length > 0) {
          await trx.updateTable('sessions').set(input.patch).where('id', '=', input.sessionId).execute();
        }
        if (input.usage) {
          await trx
            .insertInto('usage')
            .values({ session_id: input.sessionId, ts: input.ts, ...input.usage })
            .execute();
        }
        if (input.approval) {
          await trx
            .insertInto('approvals')
            .values({ session_id: input.sessionId, ...input.approval })
            .onConflict((oc) => oc.column('request_id').doNothing())
            .execute();
        }
      }
      return results;
    });
  }
}

/** `data` as its column holds it: text as is, an object (a session event, an approval's question) as JSON. */
function storedData(e: StreamEvent): string | null {
  return typeof e.data === 'string' || e.data === null ? e.data : JSON.stringify(e.data);
}
