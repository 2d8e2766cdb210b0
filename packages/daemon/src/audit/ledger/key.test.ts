import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ledgerCheckpointMessage, ledgerCheckpointSchema } from '@fabric/protocol';
import { checkpointSignatureValid } from '@fabric/vault';
import { LedgerKey, ledgerKeyPath } from './key.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'fabric-ledger-key-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('LedgerKey', () => {
  it('is made on first use in a 0600 file inside a 0700 directory, and the same key is loaded after', () => {
    const file = ledgerKeyPath(join(dir, 'data'));
    expect(LedgerKey.load(file)).toBeNull();
    const made = LedgerKey.loadOrCreate(file);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, 'data')).mode & 0o777).toBe(0o700);
    expect(made.publicKey).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(LedgerKey.loadOrCreate(file).publicKey).toBe(made.publicKey);
    expect(LedgerKey.load(file)!.publicKey).toBe(made.publicKey);
  });

  it('refuses a damaged file and leaves it in place', () => {
    const file = join(dir, 'ledger.key');
    const good = LedgerKey.loadOrCreate(file);
    const text = readFileSync(file, 'utf8');
    for (const damaged of [
      '',
      'not json',
      '{}',
      text.replace(/"d":"./, '"d":"!'),
      text.replace(good.publicKey, LedgerKey.loadOrCreate(join(dir, 'other.key')).publicKey),
    ]) {
      writeFileSync(file, damaged);
      expect(() => LedgerKey.loadOrCreate(file)).toThrow(/damaged/);
      expect(readFileSync(file, 'utf8')).toBe(damaged);
    }
  });

  it('signs checkpoints that verify, and not once any signed field changes', () => {
    const key = LedgerKey.loadOrCreate(join(dir, 'ledger.key'));
    const body = { seq: 7, head: 'a'.repeat(64), at: 1700000000000 };
    const cp = ledgerCheckpointSchema.parse({
      ...body,
      publicKey: key.publicKey,
      signature: key.sign(ledgerCheckpointMessage('dev_1', body)),
    });
    expect(checkpointSignatureValid('dev_1', cp)).toBe(true);
    expect(checkpointSignatureValid('dev_2', cp)).toBe(false);
    expect(checkpointSignatureValid('dev_1', { ...cp, seq: 8 })).toBe(false);
    expect(checkpointSignatureValid('dev_1', { ...cp, head: 'b'.repeat(64) })).toBe(false);
    expect(checkpointSignatureValid('dev_1', { ...cp, at: cp.at + 1 })).toBe(false);
    const other = LedgerKey.loadOrCreate(join(dir, 'other.key'));
    expect(checkpointSignatureValid('dev_1', { ...cp, publicKey: other.publicKey })).toBe(false);
    expect(checkpointSignatureValid('dev_1', { ...cp, publicKey: 'x' })).toBe(false);
    expect(checkpointSignatureValid('dev_1', { ...cp, signature: 'A'.repeat(86) })).toBe(false);
  });
});
