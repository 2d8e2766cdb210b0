import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Envelope } from '@fabric/protocol';
import { Outbox, type SessionEnvelope } from './outbox.js';

const A = 'ses_aaaaaaaa';
const B = 'ses_bbbbbbbb';
const base = { direction: 'to_cloud', ts: 1 } as const;

const ack = (sessionId: string): SessionEnvelope => ({
  ...base,
  corrId: sessionId,
  type: 'session.ack',
  payload: { sessionId, pid: 42 },
});
const stdout = (sessionId: string, data: string): SessionEnvelope => ({
  ...base,
  corrId: sessionId,
  type: 'session.stdout',
  payload: { sessionId, data },
});
const event = (sessionId: string, text: string): SessionEnvelope => ({
  ...base,
  corrId: sessionId,
  type: 'session.event',
  payload: { sessionId, event: { kind: 'text', text } },
});
const exit = (sessionId: string, code = 0): SessionEnvelope => ({
  ...base,
  corrId: sessionId,
  type: 'session.exit',
  payload: { sessionId, code, signal: null },
});

const decode = (lines: string[]) => lines.map((l) => JSON.parse(l) as Envelope);
const data = (e: Envelope) => (e.payload as { data?: string }).data;
const isMarker = (e: Envelope) => e.type === 'session.stderr' && /^\[fabric: \d+ events? dropped/.test(e.payload.data);

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function tempFile(): string {
  const dir = mkdtempSync(join(tmpdir(), 'fabric-outbox-'));
  dirs.push(dir);
  return join(dir, 'outbox.jsonl');
}

describe('Outbox', () => {
  it('numbers every envelope with a rising dseq and gives back what is undelivered, in order', () => {
    const box = new Outbox();
    const pushed = [ack(A), stdout(A, 'one'), ack(B), event(A, 'three'), exit(B, 1), exit(A)];
    const lines = pushed.map((e) => box.add(e, false));
    expect(decode(lines).map((e) => e.dseq)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(decode(box.unacked())).toEqual(pushed.map((e, i) => ({ ...e, dseq: i + 1 })));
    expect(box.length).toBe(6);
  });

  it('forgets what the control plane confirmed and resends the rest on every connection', () => {
    const box = new Outbox();
    for (const e of [ack(A), stdout(A, 'a'), stdout(A, 'b'), exit(A)]) box.add(e, true);
    box.ack(2);
    expect(decode(box.unacked()).map((e) => e.dseq)).toEqual([3, 4]);
    expect(decode(box.unacked()).map((e) => e.dseq)).toEqual([3, 4]);
    box.ack(4);
    expect(box.length).toBe(0);
    expect(box.unacked()).toEqual([]);
  });

  it('lists the sessions whose exit is undelivered, with that exit', () => {
    const box = new Outbox();
    box.add(ack(A), false);
    box.add(exit(A, 3), false);
    box.add(stdout(B, 'x'), false);
    expect(box.pendingExits()).toEqual([{ sessionId: A, code: 3, signal: null }]);
    expect(box.withoutExit()).toEqual([B]);
    box.ack(3);
    expect(box.pendingExits()).toEqual([]);
  });

  describe('past its bound', () => {
    it('drops the oldest unsent output and leaves one marker that counts the drops, in their place', () => {
      const box = new Outbox({ maxBytes: 1500 });
      box.add(ack(A), false);
      for (const ch of 'abcdefgh') box.add(stdout(A, ch.repeat(300)), false);
      box.add(exit(A), false);
      const out = decode(box.unacked());
      expect(out[0]!.type).toBe('session.ack');
      expect(isMarker(out[1]!)).toBe(true);
      expect(out[1]!.dseq).toBe(2); // the first dropped event's place and number
      const kept = out.filter((e) => e.type === 'session.stdout').map((e) => data(e)![0]);
      const dropped = Number(/\[fabric: (\d+) /.exec(data(out[1]!)!)![1]);
      expect(kept.length + dropped).toBe(8);
      expect(kept).toEqual([...'abcdefgh'].slice(dropped));
      expect(out.at(-1)!.type).toBe('session.exit');
      expect(out.map((e) => e.dseq)).toEqual([...out.map((e) => e.dseq)].sort((x, y) => x! - y!));
    });

    it('never drops acks, exits or what already went out on a socket', () => {
      const box = new Outbox({ maxBytes: 400 });
      box.add(ack(A), false);
      box.add(stdout(A, 'sent'.repeat(50)), true);
      for (let i = 0; i < 20; i++) box.add(event(A, 'e'.repeat(100)), false);
      box.add(exit(A, 3), false);
      const out = decode(box.unacked());
      expect(out.filter((e) => e.type === 'session.ack')).toHaveLength(1);
      expect(out.filter((e) => e.type === 'session.exit')).toHaveLength(1);
      expect(out.filter((e) => e.type === 'session.stdout').map(data)).toEqual(['sent'.repeat(50)]);
      expect(out.filter(isMarker)).toHaveLength(1);
    });

    it('starts a new marker once the last one has gone out', () => {
      const box = new Outbox({ maxBytes: 300 });
      for (let i = 0; i < 4; i++) box.add(stdout(A, 'x'.repeat(150)), false);
      expect(decode(box.unacked()).filter(isMarker)).toHaveLength(1); // now sent
      for (let i = 0; i < 4; i++) box.add(stdout(A, 'y'.repeat(150)), false);
      expect(decode(box.unacked()).filter(isMarker)).toHaveLength(2);
    });
  });

  describe('with a file', () => {
    it('keeps undelivered envelopes across a restart, 0600, and goes on numbering above them', () => {
      const file = tempFile();
      const first = new Outbox({ file });
      for (const e of [ack(A), stdout(A, 'one'), stdout(A, 'two'), exit(A)]) first.add(e, true);
      first.ack(1);
      // no close: a SIGKILL gives no chance to
      expect(statSync(file).mode & 0o777).toBe(0o600);

      const second = new Outbox({ file });
      expect(decode(second.unacked()).map((e) => [e.dseq, e.type])).toEqual([
        [2, 'session.stdout'],
        [3, 'session.stdout'],
        [4, 'session.exit'],
      ]);
      expect(JSON.parse(second.add(ack(B), false)).dseq).toBe(5);
      second.close();
    });

    it('is cut short when everything is delivered, and still numbers above what it held', () => {
      const file = tempFile();
      const box = new Outbox({ file });
      for (let i = 0; i < 100; i++) box.add(stdout(A, `line ${i}`), true);
      box.ack(100);
      expect(readFileSync(file, 'utf8')).toBe('{"n":101}\n');
      box.close();
      expect(JSON.parse(new Outbox({ file }).add(ack(A), false)).dseq).toBe(101);
    });

    it('rebuilds drops and markers from the file, and skips a line a crash cut short', () => {
      const file = tempFile();
      const box = new Outbox({ file, maxBytes: 800 });
      for (let i = 0; i < 10; i++) box.add(stdout(A, `${i}`.repeat(150)), false);
      const before = decode(box.unacked());
      expect(before.filter(isMarker)).toHaveLength(1);
      appendFileSync(file, '{"e":{"corrId":"ses_aaaa');
      const again = new Outbox({ file, maxBytes: 800 });
      expect(decode(again.unacked())).toEqual(before);
    });

    it('ignores a file that is not its own', () => {
      const file = tempFile();
      writeFileSync(file, 'garbage\n{"e":{"type":"hello"}}\n');
      expect(new Outbox({ file }).length).toBe(0);
    });
  });
});
