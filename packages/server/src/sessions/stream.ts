import { isTerminal, type StreamEvent } from '@fabric/protocol';

export interface StreamSink {
  /** Write one chunk; false means the peer is slow (wait for `onDrain`). */
  write(chunk: string): boolean;
  onDrain(cb: () => void): void;
  end(): void;
}

/** SSE framing of one stored event: `id` is the per-session sequence. */
export function formatSse(e: StreamEvent): string {
  return `id: ${e.seq}\nevent: ${e.kind}\ndata: ${JSON.stringify(e)}\n\n`;
}

/** The frame that ends a finished session's stream, after event `last`. */
export function endFrame(last: number): string {
  return `id: ${last}\nevent: end\ndata: {}\n\n`;
}

export function endsSession(e: StreamEvent): boolean {
  return e.kind === 'exit' || (e.kind === 'status' && e.meta?.status !== undefined && isTerminal(e.meta.status));
}

const PAGE = 500;

/**
 * Delivers a session's events after `after`, in order, each exactly once,
 * then follows live ones until the session ends. Live events that arrive in
 * sequence go straight out; anything else (a gap, a slow peer, the initial
 * catch-up) is read from the store, which holds every event before it is
 * published. So a reconnect with `Last-Event-ID` loses and repeats nothing.
 */
export class SessionStream {
  private last: number;
  private pumping = false;
  private dirty = false;
  private blocked = false;
  private done = false;

  constructor(
    after: number,
    private readonly read: (after: number, limit: number) => Promise<StreamEvent[]>,
    private readonly sink: StreamSink,
    private readonly onError: (err: unknown) => void,
  ) {
    this.last = after;
  }

  get lastSeq(): number {
    return this.last;
  }

  get finished(): boolean {
    return this.done;
  }

  /** Begin the catch-up read; call after subscribing to live events. */
  start(): void {
    void this.pump();
  }

  /** A live event from the bus. */
  offer(e: StreamEvent): void {
    if (this.done || e.seq <= this.last) return;
    if (!this.pumping && !this.blocked && e.seq === this.last + 1) {
      this.emit(e);
      return;
    }
    this.dirty = true;
    if (!this.pumping && !this.blocked) void this.pump();
  }

  /**
   * End the stream now (the session is over and everything was sent). The
   * `end` frame carries the last sequence sent (0 when there was none), so
   * an EventSource that reconnects anyway sends a Last-Event-ID and gets 204.
   */
  finish(): void {
    if (this.done) return;
    this.done = true;
    this.sink.write(endFrame(this.last));
    this.sink.end();
  }

  /** The peer went away. */
  abort(): void {
    this.done = true;
  }

  private emit(e: StreamEvent): void {
    const ok = this.sink.write(formatSse(e));
    this.last = e.seq;
    if (endsSession(e)) {
      this.finish();
      return;
    }
    if (!ok && !this.blocked) {
      this.blocked = true;
      this.sink.onDrain(() => {
        this.blocked = false;
        this.dirty = true;
        void this.pump();
      });
    }
  }

  private async pump(): Promise<void> {
    if (this.pumping) {
      this.dirty = true;
      return;
    }
    this.pumping = true;
    try {
      do {
        this.dirty = false;
        for (;;) {
          if (this.done || this.blocked) return;
          const events = await this.read(this.last, PAGE);
          for (const e of events) {
            // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- these change while a page is read
            if (this.done) return;
            if (e.seq > this.last) this.emit(e);
            // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- emit() may block the stream
            if (this.blocked) return;
          }
          if (events.length < PAGE) break;
        }
        // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- these change while a page is read
      } while (this.dirty && !this.done);
    } catch (err) {
      this.onError(err);
    } finally {
      this.pumping = false;
    }
  }
}
