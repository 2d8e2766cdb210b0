import { closeSync, existsSync, openSync, readFileSync, renameSync, writeFileSync, writeSync } from 'node:fs';
import { encodeEnvelope, envelopeSchema, type Envelope, type FinishedSession } from '@fabric/protocol';

/** What the outbox holds: what a device says about a session. */
export type SessionEnvelope = Extract<Envelope, { payload: { sessionId: string } }>;

const SESSION_TYPES = new Set<string>([
  'session.ack',
  'session.refuse',
  'session.stdout',
  'session.stderr',
  'session.event',
  'session.meta',
  'session.approval_request',
  'session.exit',
]);

/** Whether the device sends this envelope at least once, with a `dseq`, through the outbox. */
export function isSessionEnvelope(env: Envelope): env is SessionEnvelope {
  return env.direction === 'to_cloud' && SESSION_TYPES.has(env.type);
}

/** Output the outbox may give up when it is full; everything else (status, usage, approvals, exits) it keeps. */
const DROPPABLE = new Set<string>(['session.stdout', 'session.stderr', 'session.event']);

/** The default bound: 16 MiB of encoded envelopes. */
export const OUTBOX_MAX_BYTES = 16 * 1024 * 1024;

interface Entry {
  env: SessionEnvelope;
  /** The encoded envelope, as it goes on the wire. */
  line: string;
  /** Written to a socket at least once (a marker that was is not changed any more). */
  sent: boolean;
  /** For a drop marker: how many events it stands for. */
  dropped?: number;
}

export interface OutboxOptions {
  /** Append-only file that keeps the outbox across daemon restarts (0600); null keeps it in memory only. */
  file?: string | null;
  /** Bound on what is kept, in characters of encoded envelopes (default {@link OUTBOX_MAX_BYTES}). */
  maxBytes?: number;
}

/**
 * Every envelope a device sends about a session, from the moment it is made
 * until the control plane says it is stored (`delivered`): the device sends
 * at least once, the control plane stores exactly once (by `dseq`).
 *
 * Each envelope gets the device's next sequence number (`dseq`, one counter
 * per device that keeps rising across restarts) and is kept in memory and in
 * an append-only JSON-lines file, written before the envelope reaches the
 * socket, so a daemon killed at any point loses nothing it had emitted. A
 * `delivered {upTo}` forgets everything up to `upTo`; the file is truncated
 * when nothing is left and rewritten when it holds much more than is live.
 * Resending something already stored is harmless (it is recognised by its
 * `dseq`), so the file may lag behind acknowledgements.
 *
 * Bounded: past `maxBytes` the oldest output (stdout, stderr, events) that
 * never reached a socket is dropped and its place in the stream (and its
 * `dseq`) taken by a stderr marker that counts the run of drops ("[fabric: N
 * events dropped …]"), so a gap is never silent. Acks, refusals, usage,
 * approval requests and exits are always kept, and so is what was sent on a
 * connection that then broke (it may be stored already; the next connection
 * resends it first and it is acknowledged before anything else).
 */
export class Outbox {
  /** In `dseq` order; null where an entry was dropped (compacted away lazily). */
  private entries: (Entry | null)[] = [];
  private live = 0;
  private bytes = 0;
  private next = 1;
  /** The newest unsent drop marker of each session, which further drops are counted into. */
  private readonly markers = new Map<string, Entry>();
  /** Where the search for the oldest droppable entry starts. */
  private scan = 0;
  private readonly maxBytes: number;
  private readonly file: string | null;
  private fd: number | null = null;
  private fileBytes = 0;
  private emptyWaiters: (() => void)[] = [];

  constructor(opts: OutboxOptions = {}) {
    this.maxBytes = opts.maxBytes ?? OUTBOX_MAX_BYTES;
    this.file = opts.file ?? null;
    if (this.file) {
      if (existsSync(this.file)) this.load(readFileSync(this.file, 'utf8'));
      this.rewrite();
    }
  }

  /**
   * Give a session envelope the next `dseq` and keep it until delivered;
   * returns its wire form. `sending`: the caller writes it to an open socket
   * now (so it is never dropped: it may be stored already).
   */
  add(env: SessionEnvelope, sending: boolean): string {
    const stamped = { ...env, dseq: this.next++ } as SessionEnvelope;
    const entry: Entry = { env: stamped, line: encodeEnvelope(stamped), sent: sending };
    this.entries.push(entry);
    this.live++;
    this.bytes += entry.line.length;
    this.persist(`{"e":${entry.line}}\n`);
    while (this.bytes > this.maxBytes && this.dropOldest()) {
      /* until it fits or only keepers are left */
    }
    return entry.line;
  }

  /** What is not yet delivered, in order, to be (re)sent on a fresh connection; all count as sent from now. */
  unacked(): string[] {
    const out: string[] = [];
    for (const e of this.entries) {
      if (!e) continue;
      e.sent = true;
      out.push(e.line);
    }
    return out;
  }

  /** The control plane stored everything up to `upTo`: forget it. */
  ack(upTo: number): void {
    let i = 0;
    while (i < this.entries.length) {
      const e = this.entries[i];
      if (e && e.env.dseq! > upTo) break;
      if (e) this.forget(e);
      i++;
    }
    if (i === 0) return;
    this.entries = this.entries.slice(i);
    this.scan = Math.max(0, this.scan - i);
    if (this.live === 0) {
      this.entries = [];
      this.scan = 0;
      this.rewrite();
      for (const w of this.emptyWaiters.splice(0)) w();
    } else {
      this.persist(`{"a":${upTo}}\n`);
      if (this.fileBytes > 2 * this.bytes + 1024 * 1024) this.rewrite();
    }
  }

  /** Envelopes waiting for delivery. */
  get length(): number {
    return this.live;
  }

  /** Resolves once everything is delivered, or after `timeoutMs`. */
  emptied(timeoutMs: number): Promise<void> {
    if (this.live === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const t = setTimeout(resolve, timeoutMs);
      t.unref();
      this.emptyWaiters.push(() => {
        clearTimeout(t);
        resolve();
      });
    });
  }

  /** Sessions whose exit is still waiting to be delivered, with that exit. */
  pendingExits(): FinishedSession[] {
    const out: FinishedSession[] = [];
    for (const e of this.entries) {
      if (e?.env.type === 'session.exit')
        out.push({ sessionId: e.env.payload.sessionId, code: e.env.payload.code, signal: e.env.payload.signal });
    }
    return out;
  }

  /** Sessions with something waiting but no exit among it (after a restart: a run that did not survive). */
  withoutExit(): string[] {
    const seen = new Set<string>();
    const exited = new Set<string>();
    for (const e of this.entries) {
      if (!e) continue;
      seen.add(e.env.payload.sessionId);
      if (e.env.type === 'session.exit' || e.env.type === 'session.refuse') exited.add(e.env.payload.sessionId);
    }
    return [...seen].filter((s) => !exited.has(s));
  }

  close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }

  private forget(e: Entry): void {
    this.live--;
    this.bytes -= e.line.length;
    if (this.markers.get(e.env.payload.sessionId) === e) this.markers.delete(e.env.payload.sessionId);
  }

  /** Drop the oldest droppable entry; false when there is none. */
  private dropOldest(): boolean {
    for (let i = this.scan; i < this.entries.length; i++) {
      const e = this.entries[i];
      // Only what never reached a socket: a sent envelope may be stored already, and its dseq with it.
      if (!e || e.sent || e.dropped !== undefined || !DROPPABLE.has(e.env.type)) continue;
      this.scan = i;
      const sid = e.env.payload.sessionId;
      const marker = this.markers.get(sid);
      this.forget(e);
      if (marker && !marker.sent) {
        this.entries[i] = null;
        this.setMarker(marker, marker.dropped! + 1);
        this.persist(`{"d":${e.env.dseq!}}\n`);
      } else {
        const fresh: Entry = { env: e.env, line: '', sent: false, dropped: 0 };
        this.setMarker(fresh, 1);
        this.live++;
        this.entries[i] = fresh;
        this.markers.set(sid, fresh);
      }
      if (this.entries.length > 1024 && this.live * 2 < this.entries.length) this.compactMemory();
      return true;
    }
    return false;
  }

  /** Make `m` the marker for `n` dropped events, in the place (and with the `dseq`) of the first of them. */
  private setMarker(m: Entry, n: number): void {
    const { sessionId } = m.env.payload;
    const env = {
      corrId: m.env.corrId,
      type: 'session.stderr',
      direction: 'to_cloud',
      ts: m.env.ts,
      dseq: m.env.dseq,
      payload: {
        sessionId,
        data: `[fabric: ${n} event${n === 1 ? '' : 's'} dropped: the device's outbox was full (${this.maxBytes} bytes) while the control plane did not confirm them]\n`,
      },
    } as SessionEnvelope;
    this.bytes -= m.line.length;
    m.env = env;
    m.line = encodeEnvelope(env);
    m.dropped = n;
    this.bytes += m.line.length;
    this.persist(`{"e":${m.line}}\n`);
  }

  private compactMemory(): void {
    this.entries = this.entries.filter((e) => e !== null);
    this.scan = 0;
  }

  private persist(line: string): void {
    if (this.fd === null) return;
    writeSync(this.fd, line);
    this.fileBytes += line.length;
  }

  /** Replace the file with what is live now (a temp file renamed over it, so a crash keeps one or the other). */
  private rewrite(): void {
    if (!this.file) return;
    if (this.fd !== null) closeSync(this.fd);
    const body =
      `{"n":${this.next}}\n` +
      this.entries
        .filter((e) => e !== null)
        .map((e) => `{"e":${e.line}}\n`)
        .join('');
    const tmp = `${this.file}.tmp`;
    writeFileSync(tmp, body, { mode: 0o600 });
    renameSync(tmp, this.file);
    this.fd = openSync(this.file, 'a', 0o600);
    this.fileBytes = body.length;
  }

  /** Rebuild the outbox from its file: entries by `dseq` (a later line for a `dseq` replaces it), drops, acks. */
  private load(text: string): void {
    const byseq = new Map<number, SessionEnvelope>();
    let top = 0;
    for (const raw of text.split('\n')) {
      if (!raw) continue;
      let rec: { e?: unknown; d?: unknown; a?: unknown; n?: unknown };
      try {
        rec = JSON.parse(raw) as typeof rec;
      } catch {
        continue; // a line cut short by a crash
      }
      if (typeof rec.n === 'number') top = Math.max(top, rec.n - 1);
      if (typeof rec.d === 'number') byseq.delete(rec.d);
      if (typeof rec.a === 'number') {
        for (const k of byseq.keys()) if (k <= rec.a) byseq.delete(k);
        top = Math.max(top, rec.a);
      }
      if (rec.e !== undefined) {
        const parsed = envelopeSchema.safeParse(rec.e);
        if (!parsed.success || !isSessionEnvelope(parsed.data) || parsed.data.dseq === undefined) continue;
        byseq.set(parsed.data.dseq, parsed.data);
        top = Math.max(top, parsed.data.dseq);
      }
    }
    this.next = top + 1;
    for (const [, env] of [...byseq].sort((a, b) => a[0] - b[0])) {
      const line = encodeEnvelope(env);
      const entry: Entry = { env, line, sent: true };
      if (
        env.type === 'session.stderr' &&
        env.payload.data.startsWith('[fabric: ') &&
        env.payload.data.includes(' dropped: ')
      ) {
        entry.dropped = Number(/\[fabric: (\d+) /.exec(env.payload.data)?.[1] ?? 1);
      }
      this.entries.push(entry);
      this.live++;
      this.bytes += line.length;
    }
  }
}
