import { createPublicKey, generateKeyPairSync, sign, verify } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { ledgerCheckpointMessage, parseFrame, type LedgerCheckpoint } from '@fabric/protocol';
import { checkCheckpointList, checkpointSignatureValid } from './checkpoint.js';

function signed(deviceId: string, seq = 1, key = generateKeyPairSync('ed25519')): LedgerCheckpoint {
  const { publicKey, privateKey } = key;
  const body = { seq, head: 'c'.repeat(64), at: 1_763_715_600_000 + seq };
  const signature = sign(null, Buffer.from(ledgerCheckpointMessage(deviceId, body), 'utf8'), privateKey).toString(
    'base64url',
  );
  return { ...body, publicKey: publicKey.export({ format: 'jwk' }).x!, signature };
}

describe('checkpoint signatures', () => {
  it('accepts the golden ledger.checkpoint fixture, signed for its device id', () => {
    const file = createRequire(import.meta.url).resolve('@fabric/protocol/fixtures/envelopes.valid.ndjson');
    const line = readFileSync(file, 'utf8')
      .split('\n')
      .find((l) => l.includes('"type":"ledger.checkpoint"'));
    const parsed = parseFrame(line ?? '');
    if (!parsed.ok || parsed.envelope.type !== 'ledger.checkpoint') throw new Error('no ledger.checkpoint fixture');
    expect(checkpointSignatureValid('dev_AbCdEfGh12345678', parsed.envelope.payload)).toBe(true);
    expect(checkpointSignatureValid('dev_someoneElse0000', parsed.envelope.payload)).toBe(false);
  });

  it('accepts a fresh signature and refuses it once any signed field changes', () => {
    const cp = signed('dev_one');
    expect(checkpointSignatureValid('dev_one', cp)).toBe(true);
    expect(checkpointSignatureValid('dev_one', { ...cp, seq: 2 })).toBe(false);
    expect(checkpointSignatureValid('dev_one', { ...cp, head: 'd'.repeat(64) })).toBe(false);
    expect(checkpointSignatureValid('dev_one', { ...cp, at: cp.at + 1 })).toBe(false);
  });

  it('refuses a signature made by another key and a key that is not a usable Ed25519 key, without throwing', () => {
    const cp = signed('dev_one');
    expect(checkpointSignatureValid('dev_one', { ...cp, publicKey: signed('dev_one').publicKey })).toBe(false);
    expect(checkpointSignatureValid('dev_one', { ...cp, publicKey: '_'.repeat(43) })).toBe(false);
    expect(checkpointSignatureValid('dev_one', { ...cp, signature: 'A'.repeat(86) })).toBe(false);
  });

  it('gives the verdict of node:crypto on a malleated signature (S + L), which RFC 8032 refuses', () => {
    const cp = signed('dev_one');
    const sig = Buffer.from(cp.signature, 'base64url');
    // S is the little-endian second half; adding the group order L gives an equivalent but non-canonical S.
    const L = 2n ** 252n + 27742317777372353535851937790883648493n;
    let s = 0n;
    for (let i = 63; i >= 32; i--) s = (s << 8n) | BigInt(sig[i]!);
    let t = s + L;
    for (let i = 32; i < 64; i++) {
      sig[i] = Number(t & 0xffn);
      t >>= 8n;
    }
    const malleated = { ...cp, signature: sig.toString('base64url') };
    const key = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: cp.publicKey }, format: 'jwk' });
    const nodeVerdict = verify(null, Buffer.from(ledgerCheckpointMessage('dev_one', cp), 'utf8'), key, sig);
    expect(nodeVerdict).toBe(false);
    expect(checkpointSignatureValid('dev_one', malleated)).toBe(nodeVerdict);
  });
});

describe('a list of checkpoints, as the control plane hands it out', () => {
  const key = generateKeyPairSync('ed25519');
  const list = (checkpoints: LedgerCheckpoint[], publicKey: string | null = checkpoints[0]?.publicKey ?? null) => ({
    deviceId: 'dev_one',
    publicKey,
    checkpoints,
  });
  const three = [1, 5, 9].map((seq) => signed('dev_one', seq, key));

  it('passes when each is signed by the pinned key for this device, in order, and says up to where', () => {
    expect(checkCheckpointList(list(three))).toEqual({ ok: true, count: 3, last: { seq: 9, at: three[2]!.at } });
    expect(checkCheckpointList(list([], null))).toEqual({ ok: true, count: 0, last: null });
  });

  it('names the first checkpoint that fails, and why', () => {
    const [a, b, c] = three as [LedgerCheckpoint, LedgerCheckpoint, LedgerCheckpoint];
    expect(checkCheckpointList(list([a, { ...b, head: 'd'.repeat(64) }, c]))).toEqual({
      ok: false,
      seq: 5,
      problem: 'bad_signature',
    });
    expect(checkCheckpointList(list([a, b, signed('dev_one', 12)]))).toEqual({
      ok: false,
      seq: 12,
      problem: 'other_key',
    });
    expect(checkCheckpointList(list([a, c, b]))).toEqual({ ok: false, seq: 5, problem: 'out_of_order' });
    expect(checkCheckpointList(list(three, null))).toEqual({ ok: false, seq: 1, problem: 'no_pinned_key' });
    // Valid signatures, but made for another device.
    expect(checkCheckpointList({ ...list(three), deviceId: 'dev_two' })).toEqual({
      ok: false,
      seq: 1,
      problem: 'bad_signature',
    });
  });
});
