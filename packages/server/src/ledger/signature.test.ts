import { generateKeyPairSync, sign } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { ledgerCheckpointMessage, parseFrame, type LedgerCheckpoint } from '@fabric/protocol';
import { checkpointSignatureValid } from './signature.js';

function signed(deviceId: string, seq = 1): LedgerCheckpoint {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const body = { seq, head: 'c'.repeat(64), at: 1_763_715_600_000 };
  const signature = sign(null, Buffer.from(ledgerCheckpointMessage(deviceId, body), 'utf8'), privateKey).toString('base64url');
  return { ...body, publicKey: publicKey.export({ format: 'jwk' }).x!, signature };
}

describe('checkpoint signatures', () => {
  it('accepts the golden ledger.checkpoint fixture, signed for its device id', () => {
    const file = createRequire(import.meta.url).resolve('@fabric/protocol/fixtures/envelopes.valid.ndjson');
    const line = readFileSync(file, 'utf8').split('\n').find((l) => l.includes('"type":"ledger.checkpoint"'));
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
});
