import type { Envelope } from '@fabric/protocol';

/**
 * Holds what a device produces while it is offline and sends it, in order,
 * once connected. Output is bounded (`maxBytes`); past the bound the oldest
 * output chunks are dropped and one stderr note says how much, while acks,
 * refusals and exits are always kept.
 */
export class Outbox {
  private queue: Array<{ env: Envelope; bytes: number }> = [];
  private bytes = 0;
  private dropped = new Map<string, number>();

  constructor(private readonly maxBytes = 16 * 1024 * 1024) {}

  push(env: Envelope): void {
    const bytes = env.type === 'session.stdout' || env.type === 'session.stderr' ? env.payload.data.length : 64;
    this.queue.push({ env, bytes });
    this.bytes += bytes;
    while (this.bytes > this.maxBytes) {
      const i = this.queue.findIndex((q) => q.env.type === 'session.stdout' || q.env.type === 'session.stderr' || q.env.type === 'session.event');
      if (i < 0) break;
      const [gone] = this.queue.splice(i, 1);
      this.bytes -= gone!.bytes;
      const sid = (gone!.env.payload as { sessionId: string }).sessionId;
      this.dropped.set(sid, (this.dropped.get(sid) ?? 0) + gone!.bytes);
    }
  }

  /** Take everything queued, with a note per session whose output was trimmed. */
  drain(now: number): Envelope[] {
    const out = this.queue.map((q) => q.env);
    for (const [sessionId, n] of this.dropped) {
      const note: Envelope = {
        corrId: sessionId, type: 'session.stderr', direction: 'to_cloud', ts: now,
        payload: { sessionId, data: `[fabric: ${n} characters of output were dropped while the device was offline]\n` },
      };
      const at = out.findIndex((e) => 'sessionId' in e.payload && e.payload.sessionId === sessionId && e.type === 'session.exit');
      if (at >= 0) out.splice(at, 0, note);
      else out.push(note);
    }
    this.queue = [];
    this.bytes = 0;
    this.dropped.clear();
    return out;
  }

  get length(): number {
    return this.queue.length;
  }

  /** Sessions whose exit is still waiting to be delivered. */
  pendingExits(): string[] {
    return this.queue.filter((q) => q.env.type === 'session.exit').map((q) => (q.env.payload as { sessionId: string }).sessionId);
  }
}
