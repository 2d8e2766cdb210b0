import { describe, expect, it } from 'vitest';
import type { SessionStatus, StreamEvent } from '@fabric/protocol';
import { endsSession, formatSse, SessionStream, type StreamSink } from './stream.js';

const out = (seq: number, data = `line ${seq}\n`): StreamEvent => ({
  seq,
  kind: 'stdout',
  data,
  meta: null,
  ts: 1000 + seq,
});
const exit = (seq: number): StreamEvent => ({
  seq,
  kind: 'exit',
  data: null,
  meta: { code: 0, signal: null },
  ts: 1000 + seq,
});
const status = (seq: number, s: SessionStatus): StreamEvent => ({
  seq,
  kind: 'status',
  data: null,
  meta: { status: s },
  ts: 1000 + seq,
});

/** The session's stored events; `read` answers like the real store (seq > after, ascending, at most limit). */
class FakeStore {
  readonly events: StreamEvent[] = [];
  readonly reads: { after: number; limit: number }[] = [];

  add(...events: StreamEvent[]): void {
    this.events.push(...events);
  }

  addOutput(from: number, to: number): void {
    for (let seq = from; seq <= to; seq++) this.add(out(seq));
  }

  read = async (after: number, limit: number): Promise<StreamEvent[]> => {
    this.reads.push({ after, limit });
    return this.events.filter((e) => e.seq > after).slice(0, limit);
  };
}

/** A peer that records what it was sent and can be made slow. */
class FakeSink implements StreamSink {
  readonly chunks: string[] = [];
  ended = false;
  /** What the next `write` returns. */
  writable = true;
  drainCallbacks: (() => void)[] = [];

  write(chunk: string): boolean {
    if (this.ended) throw new Error('write after end');
    this.chunks.push(chunk);
    return this.writable;
  }

  onDrain(cb: () => void): void {
    this.drainCallbacks.push(cb);
  }

  end(): void {
    this.ended = true;
  }

  /** The peer caught up. */
  drain(): void {
    this.writable = true;
    const cbs = this.drainCallbacks.splice(0);
    for (const cb of cbs) cb();
  }

  /** The `id:` of every event received, in order (the `end` frame's repeat of the last one aside). */
  get ids(): number[] {
    return [...this.chunks.join('').matchAll(/^id: (\d+)\nevent: (?!end\n)/gm)].map((m) => Number(m[1]));
  }

  get gotEnd(): boolean {
    return this.chunks.join('').includes('event: end\n');
  }
}

/** Let every pending promise (the fake store's reads) settle. */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

function setup(after = 0) {
  const store = new FakeStore();
  const sink = new FakeSink();
  const errors: unknown[] = [];
  const stream = new SessionStream(after, store.read, sink, (err) => errors.push(err));
  return { store, sink, stream, errors };
}

describe('formatSse', () => {
  it('frames an event with its seq as id, its kind as event name and itself as JSON data', () => {
    const e = out(7, 'hi\n');
    expect(formatSse(e)).toBe(`id: 7\nevent: stdout\ndata: ${JSON.stringify(e)}\n\n`);
  });

  it('keeps multi-line output on one data line so the frame is not split', () => {
    const frame = formatSse(out(1, 'a\nb\n\nc'));
    expect(frame.split('\n\n')).toHaveLength(2);
    const data = frame.split('\n').find((l) => l.startsWith('data: '))!;
    expect(JSON.parse(data.slice('data: '.length))).toMatchObject({ seq: 1, data: 'a\nb\n\nc' });
  });
});

describe('endsSession', () => {
  it('is true for an exit and for a status that is terminal, false otherwise', () => {
    expect(endsSession(exit(1))).toBe(true);
    expect(endsSession(status(1, 'succeeded'))).toBe(true);
    expect(endsSession(status(1, 'refused'))).toBe(true);
    expect(endsSession(status(1, 'running'))).toBe(false);
    expect(endsSession(status(1, 'lost'))).toBe(false);
    expect(endsSession(out(1))).toBe(false);
  });
});

describe('SessionStream', () => {
  it('catches up from the store, then relays live events', async () => {
    const { store, sink, stream } = setup();
    store.addOutput(1, 3);
    stream.start();
    await settle();
    expect(sink.ids).toEqual([1, 2, 3]);

    store.addOutput(4, 5);
    stream.offer(out(4));
    stream.offer(out(5));
    expect(sink.ids).toEqual([1, 2, 3, 4, 5]);
    expect(stream.lastSeq).toBe(5);
    expect(store.reads).toHaveLength(1);
  });

  it('resumes after N with exactly the events after N', async () => {
    const { store, sink, stream } = setup(4);
    store.addOutput(1, 8);
    stream.start();
    await settle();
    stream.offer(out(3));
    stream.offer(out(8));
    store.addOutput(9, 9);
    stream.offer(out(9));
    expect(sink.ids).toEqual([5, 6, 7, 8, 9]);
    expect(store.reads[0]).toEqual({ after: 4, limit: 500 });
  });

  it('ignores live events it has already sent', async () => {
    const { store, sink, stream } = setup();
    store.addOutput(1, 2);
    stream.start();
    await settle();
    stream.offer(out(1));
    stream.offer(out(2));
    stream.offer(out(2));
    expect(sink.ids).toEqual([1, 2]);
  });

  describe('live events that arrive during the catch-up read', () => {
    /**
     * A stream whose store reads wait until the test answers them. `snapshot`
     * decides when the store is looked at: when the read is made (so events
     * added meanwhile are missing) or when it is answered (so they are included).
     */
    function gated(snapshot: 'at-call' | 'at-answer') {
      const store = new FakeStore();
      const sink = new FakeSink();
      const pending: (() => void)[] = [];
      const read = (after: number, limit: number) => {
        const early = store.events.filter((e) => e.seq > after).slice(0, limit);
        return new Promise<StreamEvent[]>((resolve) => {
          pending.push(() => resolve(snapshot === 'at-call' ? early : store.read(after, limit)));
        });
      };
      const stream = new SessionStream(0, read, sink, (err) => {
        throw err;
      });
      const answerAll = async () => {
        while (pending.length > 0) {
          pending.shift()!();
          await settle();
        }
      };
      return { store, sink, stream, pending, answerAll };
    }

    it('are not lost when the read was answered without them', async () => {
      const { store, sink, stream, pending, answerAll } = gated('at-call');
      store.addOutput(1, 3);
      stream.start();
      expect(pending).toHaveLength(1);

      store.addOutput(4, 4);
      stream.offer(out(4));
      expect(sink.ids).toEqual([]);

      await answerAll();
      expect(sink.ids).toEqual([1, 2, 3, 4]);
    });

    it('are not repeated when the read includes them', async () => {
      const { store, sink, stream, pending, answerAll } = gated('at-answer');
      store.addOutput(1, 3);
      stream.start();
      expect(pending).toHaveLength(1);

      store.addOutput(4, 5);
      stream.offer(out(4));
      stream.offer(out(5));

      await answerAll();
      expect(sink.ids).toEqual([1, 2, 3, 4, 5]);

      store.addOutput(6, 6);
      stream.offer(out(6));
      expect(sink.ids).toEqual([1, 2, 3, 4, 5, 6]);
    });
  });

  it('reads the store when a live event skips a sequence', async () => {
    const { store, sink, stream } = setup();
    store.addOutput(1, 5);
    stream.start();
    await settle();
    expect(store.reads).toHaveLength(1);

    store.addOutput(6, 7);
    stream.offer(out(7)); // 6 was published but never reached this node
    expect(sink.ids).toEqual([1, 2, 3, 4, 5]);
    await settle();
    expect(store.reads.at(-1)).toEqual({ after: 5, limit: 500 });
    expect(sink.ids).toEqual([1, 2, 3, 4, 5, 6, 7]);
  });

  describe('a slow peer', () => {
    it('gets later events from the store after it drains, in order and once each', async () => {
      const { store, sink, stream } = setup();
      store.addOutput(1, 2);
      stream.start();
      await settle();
      expect(sink.ids).toEqual([1, 2]);

      sink.writable = false;
      store.addOutput(3, 3);
      stream.offer(out(3)); // accepted but buffered: the peer is now behind
      expect(sink.drainCallbacks).toHaveLength(1);

      store.addOutput(4, 6);
      for (const seq of [4, 5, 6]) stream.offer(out(seq));
      await settle();
      expect(sink.ids).toEqual([1, 2, 3]);
      const readsBeforeDrain = store.reads.length;

      sink.drain();
      await settle();
      expect(sink.ids).toEqual([1, 2, 3, 4, 5, 6]);
      expect(store.reads.length).toBe(readsBeforeDrain + 1);
      expect(store.reads.at(-1)!.after).toBe(3);

      store.addOutput(7, 7);
      stream.offer(out(7));
      expect(sink.ids).toEqual(range(1, 7));
    });

    it('pauses the catch-up read too, and resumes it where it stopped', async () => {
      const { store, sink, stream } = setup();
      store.addOutput(1, 10);
      sink.writable = false;
      stream.start();
      await settle();
      expect(sink.ids).toEqual([1]);

      sink.drain();
      await settle();
      expect(sink.ids).toEqual(range(1, 10));
    });

    it('waits for each drain when the peer stays slow', async () => {
      const { store, sink, stream } = setup();
      store.addOutput(1, 4);
      sink.writable = false;
      stream.start();
      await settle();
      for (let expected = 1; expected <= 4; expected++) {
        expect(sink.ids).toEqual(range(1, expected));
        expect(sink.drainCallbacks).toHaveLength(1);
        sink.drainCallbacks.shift()!(); // drained, but the next write fills the buffer again
        await settle();
      }
      expect(sink.ids).toEqual(range(1, 4));
    });
  });

  it('pages through a long history 500 at a time', async () => {
    const { store, sink, stream } = setup();
    store.addOutput(1, 1234);
    stream.start();
    await settle();
    expect(sink.ids).toEqual(range(1, 1234));
    expect(store.reads).toEqual([
      { after: 0, limit: 500 },
      { after: 500, limit: 500 },
      { after: 1000, limit: 500 },
    ]);
  });

  it('pages correctly when the history is an exact multiple of a page', async () => {
    const { store, sink, stream } = setup(200);
    store.addOutput(1, 1200);
    stream.start();
    await settle();
    expect(sink.ids).toEqual(range(201, 1200));
    expect(new Set(sink.ids).size).toBe(1000);
  });

  describe('the end of a session', () => {
    it('finishes after a live exit event with `event: end` and closes the peer', async () => {
      const { store, sink, stream } = setup();
      store.addOutput(1, 1);
      stream.start();
      await settle();
      store.add(exit(2));
      stream.offer(exit(2));

      expect(sink.ids).toEqual([1, 2]);
      expect(sink.chunks.at(-1)).toBe('id: 2\nevent: end\ndata: {}\n\n');
      expect(sink.ended).toBe(true);
      expect(stream.finished).toBe(true);

      stream.offer(out(3));
      await settle();
      expect(sink.ids).toEqual([1, 2]);
    });

    it('finishes during catch-up on a stored terminal status and sends nothing after it', async () => {
      const { store, sink, stream } = setup();
      store.add(out(1), status(2, 'running'), out(3), status(4, 'cancelled'), out(5));
      stream.start();
      await settle();
      expect(sink.ids).toEqual([1, 2, 3, 4]);
      expect(sink.gotEnd).toBe(true);
      expect(sink.ended).toBe(true);
    });

    it('does not finish on a status that is not terminal', async () => {
      const { store, sink, stream } = setup();
      store.add(status(1, 'lost'), status(2, 'running'));
      stream.start();
      await settle();
      expect(sink.ids).toEqual([1, 2]);
      expect(sink.ended).toBe(false);
    });

    it('finishes even when the peer is slow at the moment of the exit', async () => {
      const { store, sink, stream } = setup();
      store.add(out(1), exit(2));
      sink.writable = false;
      stream.start();
      await settle();
      sink.drain();
      await settle();
      expect(sink.ids).toEqual([1, 2]);
      expect(sink.ended).toBe(true);
    });

    it('finishes only once when asked twice', () => {
      const { sink, stream } = setup();
      stream.finish();
      stream.finish();
      expect(sink.chunks).toEqual(['id: 0\nevent: end\ndata: {}\n\n']);
    });
  });

  it('stops writing once the peer has gone away', async () => {
    const { store, sink, stream } = setup();
    store.addOutput(1, 2);
    stream.start();
    await settle();
    stream.abort();
    store.addOutput(3, 3);
    stream.offer(out(3));
    await settle();
    expect(sink.ids).toEqual([1, 2]);
    expect(sink.ended).toBe(false);
  });

  it('reports a failed store read instead of throwing', async () => {
    const sink = new FakeSink();
    const errors: unknown[] = [];
    const stream = new SessionStream(
      0,
      async () => {
        throw new Error('disk on fire');
      },
      sink,
      (err) => errors.push(err),
    );
    stream.start();
    await settle();
    expect(errors).toHaveLength(1);
    expect((errors[0] as Error).message).toBe('disk on fire');
    expect(sink.chunks).toEqual([]);
  });

  it('delivers every event exactly once through a storm of live, gapped and slow deliveries', async () => {
    const { store, sink, stream } = setup();
    store.addOutput(1, 50);
    stream.start();
    for (let seq = 51; seq <= 400; seq++) {
      store.addOutput(seq, seq);
      if (seq % 7 !== 0) stream.offer(out(seq)); // some never arrive live
      if (seq % 13 === 0) sink.writable = false;
      if (seq % 17 === 0) sink.drain();
      if (seq % 5 === 0) await settle();
    }
    sink.drain();
    await settle();
    expect(sink.ids).toEqual(range(1, 400));
  });
});
