import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ledgerCheckpointSchema, type LedgerCheckpoint, type LedgerHead } from '@fabric/protocol';
import { Checkpointer, makeCheckpoint } from './checkpoint.js';
import { checkpointSignatureValid } from '@fabric/vault';
import { LedgerKey } from './key.js';

const MIN = 60_000;

/** A fake signer: checkpoint scheduling does not care what the signature is. */
const signer = {
  publicKey: 'k'.repeat(43),
  sign: (text: string) => Buffer.from(text).toString('base64url').slice(0, 86).padEnd(86, 'A'),
};

/** A checkpointer on a fake clock and a fake ledger head; `sent` is the "socket". */
function rig(opts: { everyEvents?: number; everyMs?: number; ackedSeq?: number } = {}) {
  const state = { t: 0, seq: 0 };
  const sent: LedgerCheckpoint[] = [];
  const head = (): LedgerHead | null =>
    state.seq ? { seq: state.seq, hash: state.seq.toString(16).padStart(64, '0') } : null;
  const cp = new Checkpointer({
    deviceId: 'dev_1',
    key: signer,
    head,
    send: (c) => sent.push(c),
    now: () => state.t,
    ...opts,
  });
  return { state, sent, cp, seqs: () => sent.map((c) => c.seq) };
}

describe('makeCheckpoint', () => {
  it('signs the head for the device with the ledger key', () => {
    const dir = mkdtempSync(join(tmpdir(), 'fabric-cp-'));
    try {
      const key = LedgerKey.loadOrCreate(join(dir, 'ledger.key'));
      const cp = makeCheckpoint(key, 'dev_1', { seq: 3, hash: 'c'.repeat(64) }, 1234);
      expect(ledgerCheckpointSchema.parse(cp)).toEqual({
        seq: 3,
        head: 'c'.repeat(64),
        at: 1234,
        publicKey: key.publicKey,
        signature: cp.signature,
      });
      expect(checkpointSignatureValid('dev_1', cp)).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('Checkpointer', () => {
  it('sends nothing while the ledger is empty', () => {
    const { cp, sent, state } = rig();
    state.t = 60 * MIN;
    expect(cp.tick()).toBeNull();
    expect(cp.connected()).toBeNull();
    expect(sent).toEqual([]);
  });

  it('sends once every `everyEvents` new events', () => {
    const { cp, state, seqs } = rig({ everyEvents: 100 });
    state.seq = 99;
    cp.tick();
    expect(seqs()).toEqual([]);
    state.seq = 100;
    cp.tick();
    cp.tick();
    expect(seqs()).toEqual([100]);
    state.seq = 199;
    cp.tick();
    state.seq = 230;
    cp.tick();
    expect(seqs()).toEqual([100, 230]);
  });

  it('sends a smaller advance once `everyMs` has passed since the last send', () => {
    const { cp, state, seqs } = rig({ everyEvents: 1000, everyMs: 5 * MIN });
    state.seq = 3;
    state.t = 5 * MIN - 1;
    cp.tick();
    expect(seqs()).toEqual([]);
    state.t = 5 * MIN;
    cp.tick();
    expect(seqs()).toEqual([3]);
    state.seq = 4;
    state.t = 9 * MIN;
    cp.tick();
    state.t = 10 * MIN;
    cp.tick();
    expect(seqs()).toEqual([3, 4]);
  });

  it('does not send the same unacknowledged seq again on later ticks', () => {
    const { cp, state, seqs } = rig({ everyMs: MIN });
    state.seq = 5;
    state.t = MIN;
    cp.tick();
    state.t = 10 * MIN;
    cp.tick();
    cp.tick();
    expect(seqs()).toEqual([5]);
  });

  it('sends the head at once on connect, again after a reconnect, and not once it is acknowledged', () => {
    const { cp, state, seqs } = rig();
    state.seq = 2;
    expect(cp.connected()?.seq).toBe(2);
    // The send may have been lost with the connection: a reconnect repeats it.
    expect(cp.connected()?.seq).toBe(2);
    cp.acked(2);
    expect(cp.connected()).toBeNull();
    state.t = 60 * MIN;
    expect(cp.tick()).toBeNull();
    expect(seqs()).toEqual([2, 2]);
    expect(cp.acknowledged).toBe(2);
  });

  it('counts new events from the last acknowledged or sent seq, whichever is later', () => {
    const { cp, state, seqs } = rig({ everyEvents: 10, ackedSeq: 50 });
    state.seq = 55;
    cp.tick();
    expect(seqs()).toEqual([]);
    state.seq = 60;
    cp.tick();
    cp.acked(40); // a late ack for an older checkpoint changes nothing
    state.seq = 69;
    cp.tick();
    state.seq = 70;
    cp.tick();
    expect(seqs()).toEqual([60, 70]);
  });

  it('signs each checkpoint with the time it is sent', () => {
    const { cp, state, sent } = rig({ everyEvents: 1 });
    state.seq = 1;
    state.t = 42;
    cp.tick();
    expect(sent[0]).toMatchObject({ seq: 1, at: 42, publicKey: signer.publicKey });
  });
});
