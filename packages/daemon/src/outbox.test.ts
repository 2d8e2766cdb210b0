import { describe, expect, it } from 'vitest';
import type { Envelope } from '@fabric/protocol';
import { Outbox } from './outbox.js';

const A = 'ses_aaaaaaaa';
const B = 'ses_bbbbbbbb';
const base = { direction: 'to_cloud', ts: 1 } as const;

const ack = (sessionId: string): Envelope => ({ ...base, corrId: sessionId, type: 'session.ack', payload: { sessionId, pid: 42 } });
const refuse = (sessionId: string): Envelope =>
  ({ ...base, corrId: sessionId, type: 'session.refuse', payload: { sessionId, code: 'spawn_failed', message: 'no' } });
const stdout = (sessionId: string, data: string): Envelope => ({ ...base, corrId: sessionId, type: 'session.stdout', payload: { sessionId, data } });
const stderr = (sessionId: string, data: string): Envelope => ({ ...base, corrId: sessionId, type: 'session.stderr', payload: { sessionId, data } });
const event = (sessionId: string, text: string): Envelope =>
  ({ ...base, corrId: sessionId, type: 'session.event', payload: { sessionId, event: { kind: 'text', text } } });
const exit = (sessionId: string, code = 0): Envelope =>
  ({ ...base, corrId: sessionId, type: 'session.exit', payload: { sessionId, code, signal: null } });

const isNote = (e: Envelope) => e.type === 'session.stderr' && e.payload.data.startsWith('[fabric:');

describe('Outbox', () => {
  it('gives back everything in the order it was pushed', () => {
    const box = new Outbox();
    const pushed = [ack(A), stdout(A, 'one'), ack(B), stderr(B, 'two'), event(A, 'three'), exit(B, 1), stdout(A, 'four'), exit(A)];
    for (const env of pushed) box.push(env);
    expect(box.length).toBe(pushed.length);
    expect(box.drain(99)).toEqual(pushed);
  });

  it('is empty after a drain, and a second drain gives nothing', () => {
    const box = new Outbox();
    box.push(ack(A));
    box.push(stdout(A, 'x'));
    box.drain(1);
    expect(box.length).toBe(0);
    expect(box.pendingExits()).toEqual([]);
    expect(box.drain(2)).toEqual([]);
  });

  describe('past its bound', () => {
    it('drops the oldest output first and keeps the newest', () => {
      const box = new Outbox(1000);
      box.push(ack(A)); // control messages count as 64
      for (const ch of ['a', 'b', 'c', 'd', 'e']) box.push(stdout(A, ch.repeat(300)));
      const kept = box.drain(1).filter((e) => e.type === 'session.stdout').map((e) => (e.payload as { data: string }).data[0]);
      expect(kept).toEqual(['c', 'd', 'e']);
    });

    it('keeps every ack, refusal and exit however much output arrives', () => {
      const box = new Outbox(500);
      box.push(ack(A));
      box.push(refuse(B));
      for (let i = 0; i < 100; i++) box.push(stdout(A, 'x'.repeat(100)));
      box.push(exit(A, 3));
      for (let i = 0; i < 100; i++) box.push(stderr(A, 'y'.repeat(100)));

      const out = box.drain(1);
      expect(out.filter((e) => e.type === 'session.ack')).toEqual([ack(A)]);
      expect(out.filter((e) => e.type === 'session.refuse')).toEqual([refuse(B)]);
      expect(out.filter((e) => e.type === 'session.exit')).toEqual([exit(A, 3)]);
      const output = out.filter((e) => (e.type === 'session.stdout' || e.type === 'session.stderr') && !isNote(e));
      const outputChars = output.reduce((n, e) => n + (e.payload as { data: string }).data.length, 0);
      expect(outputChars).toBeLessThanOrEqual(500);
      expect(outputChars).toBeGreaterThan(0);
    });

    it('drops normalised events too', () => {
      const box = new Outbox(200);
      box.push(event(A, 'old'));
      box.push(stdout(A, 'n'.repeat(190)));
      expect(box.drain(1).some((e) => e.type === 'session.event')).toBe(false);
    });

    it('notes on stderr, just before the session\'s exit, how many characters were dropped', () => {
      const box = new Outbox(1000);
      box.push(ack(A));
      box.push(stdout(A, 'x'.repeat(300)));
      box.push(stdout(A, 'y'.repeat(300)));
      box.push(stdout(A, 'z'.repeat(300)));
      box.push(exit(A)); // 64 + 900 + 64 > 1000: the x chunk goes

      const out = box.drain(1234);
      expect(out.map((e) => e.type)).toEqual(['session.ack', 'session.stdout', 'session.stdout', 'session.stderr', 'session.exit']);
      expect([out[1], out[2]].map((e) => (e!.payload as { data: string }).data[0])).toEqual(['y', 'z']);
      const note = out[3]!;
      expect(note).toMatchObject({ type: 'session.stderr', corrId: A, direction: 'to_cloud', ts: 1234 });
      expect((note.payload as { data: string }).data).toBe('[fabric: 300 characters of output were dropped while the device was offline]\n');
    });

    it('adds the note at the end for a session that has not exited yet', () => {
      const box = new Outbox(300);
      box.push(stdout(A, 'a'.repeat(200)));
      box.push(stdout(A, 'b'.repeat(200)));
      box.push(ack(B));
      const out = box.drain(1);
      expect(isNote(out.at(-1)!)).toBe(true);
      expect((out.at(-1)!.payload as { data: string }).data).toContain(' 200 characters');
    });

    it('keeps a separate count per session', () => {
      const box = new Outbox(500);
      box.push(stdout(A, 'a'.repeat(150)));
      box.push(stdout(B, 'b'.repeat(100)));
      box.push(stdout(A, 'a'.repeat(200)));
      box.push(stdout(B, 'b'.repeat(250))); // 700: drops A's 150, then B's 100
      box.push(exit(A)); // 514: drops A's 200
      box.push(exit(B));
      const notes = box.drain(1).filter(isNote).map((e) => [(e.payload as { sessionId: string }).sessionId, (e.payload as { data: string }).data.match(/\d+/)![0]]);
      expect(notes.sort()).toEqual([[A, '350'], [B, '100']]);
    });

    it('forgets the count once it has been reported', () => {
      const box = new Outbox(100);
      box.push(stdout(A, 'a'.repeat(80)));
      box.push(stdout(A, 'b'.repeat(80)));
      expect(box.drain(1).filter(isNote)).toHaveLength(1);
      box.push(stdout(A, 'c'.repeat(10)));
      expect(box.drain(2).filter(isNote)).toHaveLength(0);
    });
  });

  it('lists the sessions whose exit is still waiting', () => {
    const box = new Outbox();
    box.push(ack(A));
    box.push(exit(A));
    box.push(stdout(B, 'x'));
    expect(box.pendingExits()).toEqual([A]);
    box.push(exit(B, 1));
    expect(box.pendingExits()).toEqual([A, B]);
    box.drain(1);
    expect(box.pendingExits()).toEqual([]);
  });
});
