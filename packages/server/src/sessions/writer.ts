import type { SessionStatus, StreamEvent, StreamEventKind } from '@fabric/protocol';
import type { Bus } from '../bus.js';
import { topics } from '../bus.js';
import type { Db } from '../store/db.js';
import type { ApprovalsTable, SessionsTable, UsageTable } from '../store/schema.js';

export interface AppendInput {
  sessionId: string;
  kind: StreamEventKind;
  data: string | null;
  meta: StreamEvent['meta'];
  ts: number;
  /** Columns of the session row to change in the same transaction as this event. */
  patch?: Partial<Pick<SessionsTable,
    'status' | 'device_id' | 'exit_code' | 'signal' | 'error_code' | 'error_message' | 'started_at' | 'ended_at'
    | 'placement' | 'tried_devices' | 'harness_session_id'>> & { status?: SessionStatus };
  /** A usage row for the fuel meter, written in the same transaction as this event. */
  usage?: Omit<UsageTable, 'session_id' | 'ts'>;
  /** An approval request row, written in the same transaction as this event (kept if one with its id exists). */
  approval?: Omit<ApprovalsTable, 'session_id'>;
}

interface Pending {
  input: AppendInput;
  resolve: (event: StreamEvent) => void;
  reject: (err: unknown) => void;
}

/** SQLite allows 32766 bound parameters; six per row keeps a chunk well inside. */
const ROWS_PER_INSERT = 1000;
const MAX_BATCH = 5000;

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
  private drainWaiters: Array<() => void> = [];

  constructor(private readonly db: Db, private readonly bus: Bus) {}

  /** Resolves with the stored event once it is committed and published. */
  append(input: AppendInput): Promise<StreamEvent> {
    return new Promise((resolve, reject) => {
      this.queue.push({ input, resolve, reject });
      this.schedule();
    });
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
        let stored: Array<StreamEvent | Error>;
        try {
          stored = await this.write(batch.map((p) => p.input));
        } catch (err) {
          for (const p of batch) p.reject(err);
          continue;
        }
        for (let i = 0; i < batch.length; i++) {
          const result = stored[i]!;
          if (result instanceof Error) {
            batch[i]!.reject(result);
            continue;
          }
          this.bus.publish(topics.session(batch[i]!.input.sessionId), result);
          batch[i]!.resolve(result);
        }
      }
    } finally {
      this.flushing = false;
      const waiters = this.drainWaiters.splice(0);
      for (const w of waiters) w();
    }
  }

  /** One transaction for the batch; an append to a session that does not exist fails alone. */
  private async write(inputs: AppendInput[]): Promise<Array<StreamEvent | Error>> {
    const counts = new Map<string, number>();
    for (const input of inputs) counts.set(input.sessionId, (counts.get(input.sessionId) ?? 0) + 1);

    return this.db.transaction().execute(async (trx) => {
      const next = new Map<string, number>();
      for (const [sessionId, n] of counts) {
        const row = await trx.updateTable('sessions')
          .set((eb) => ({ last_seq: eb('last_seq', '+', n) }))
          .where('id', '=', sessionId)
          .returning('last_seq')
          .executeTakeFirst();
        if (row) next.set(sessionId, Number(row.last_seq) - n + 1);
      }
      const results: Array<StreamEvent | Error> = [];
      const rows: Array<{ input: AppendInput; event: StreamEvent }> = [];
      for (const input of inputs) {
        const seq = next.get(input.sessionId);
        if (seq === undefined) {
          results.push(new Error(`session ${input.sessionId} does not exist`));
          continue;
        }
        next.set(input.sessionId, seq + 1);
        const event: StreamEvent = { seq, kind: input.kind, data: input.data, meta: input.meta, ts: input.ts };
        results.push(event);
        rows.push({ input, event });
      }
      for (let i = 0; i < rows.length; i += ROWS_PER_INSERT) {
        await trx.insertInto('session_events').values(rows.slice(i, i + ROWS_PER_INSERT).map(({ input, event }) => ({
          session_id: input.sessionId,
          seq: event.seq,
          kind: event.kind,
          data: event.data,
          meta: event.meta === null ? null : JSON.stringify(event.meta),
          ts: event.ts,
        }))).execute();
      }
      for (const { input } of rows) {
        if (input.patch && Object.keys(input.patch).length > 0) {
          await trx.updateTable('sessions').set(input.patch).where('id', '=', input.sessionId).execute();
        }
        if (input.usage) {
          await trx.insertInto('usage').values({ session_id: input.sessionId, ts: input.ts, ...input.usage }).execute();
        }
        if (input.approval) {
          await trx.insertInto('approvals').values({ session_id: input.sessionId, ...input.approval })
            .onConflict((oc) => oc.column('request_id').doNothing()).execute();
        }
      }
      return results;
    });
  }
}
