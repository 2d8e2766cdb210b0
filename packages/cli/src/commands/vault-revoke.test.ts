import { describe, expect, it } from 'vitest';
import { isFabricError } from '@fabric/protocol';
import { fingerprint, generateIdentity, type RecipientEntry } from '@fabric/vault';
import { pickRecipient } from './vault.js';

async function client(id: string, label: string): Promise<RecipientEntry> {
  const { recipient } = await generateIdentity();
  return { id, kind: 'cli', recipient, label, signer: null, addedAt: 1 };
}

function failure(fn: () => unknown): { code: string; message: string } {
  try {
    fn();
  } catch (err) {
    if (isFabricError(err)) return { code: err.code, message: err.message };
    throw err;
  }
  throw new Error('expected a FabricError');
}

describe('choosing the recipient to revoke', () => {
  it('refuses a label two clients share, listing their ids, and takes an id or a fingerprint', async () => {
    const a = await client('cli_aaaa', 'cli@laptop');
    const b = await client('cli_bbbb', 'cli@laptop');
    const c = await client('cli_cccc', 'cli@pi');
    const all = [a, b, c];
    expect(failure(() => pickRecipient(all, 'cli@laptop'))).toEqual({ code: 'conflict', message: '2 recipients are labelled cli@laptop (cli_aaaa, cli_bbbb): pass the id of the one to revoke' });
    expect(pickRecipient(all, 'cli_bbbb')).toBe(b);
    expect(pickRecipient(all, fingerprint(a.recipient))).toBe(a);
    expect(pickRecipient(all, 'cli@pi')).toBe(c);
    expect(failure(() => pickRecipient(all, 'cli@nowhere')).code).toBe('not_found');
  });
});
