import { describe, expect, it } from 'vitest';
import { isFabricError } from '@fabric/protocol';
import { fingerprint, generateIdentity, type RecipientEntry } from '@fabric/vault';
import { pickRecipient, recipientLabel } from './vault.js';

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
    expect(failure(() => pickRecipient(all, 'cli@laptop'))).toEqual({
      code: 'conflict',
      message: '2 recipients are labelled cli@laptop (cli_aaaa, cli_bbbb): pass the id of the one to revoke',
    });
    expect(pickRecipient(all, 'cli_bbbb')).toBe(b);
    expect(pickRecipient(all, fingerprint(a.recipient))).toBe(a);
    expect(pickRecipient(all, 'cli@pi')).toBe(c);
    expect(failure(() => pickRecipient(all, 'cli@nowhere')).code).toBe('not_found');
  });

  it('finds a renamed device by its name now as well as by the name it was enrolled under', async () => {
    const pi = { ...(await client('dev_pi', 'pi')), kind: 'device' as const };
    const laptop = await client('cli_aaaa', 'garden-pi');
    const names = new Map([['dev_pi', 'shed-pi']]);
    expect(pickRecipient([pi, laptop], 'shed-pi', names)).toBe(pi);
    expect(pickRecipient([pi, laptop], 'pi', names)).toBe(pi);
    // A CLI label never matches a device's current name, nor the other way round.
    expect(failure(() => pickRecipient([pi, laptop], 'shed-pi')).code).toBe('not_found');
    expect(pickRecipient([pi, laptop], 'garden-pi', new Map([['cli_aaaa', 'x']]))).toBe(laptop);
    // Two that answer to one name: a conflict, not a guess.
    expect(failure(() => pickRecipient([pi, laptop], 'garden-pi', new Map([['dev_pi', 'garden-pi']]))).code).toBe(
      'conflict',
    );
  });

  it('shows a renamed device under both names, and an unrenamed one as it is', async () => {
    const pi = { ...(await client('dev_pi', 'pi')), kind: 'device' as const };
    expect(recipientLabel(pi, new Map([['dev_pi', 'shed-pi']]))).toBe('pi (now shed-pi)');
    expect(recipientLabel(pi, new Map([['dev_pi', 'pi']]))).toBe('pi');
    expect(recipientLabel(pi, new Map())).toBe('pi');
    const cli = await client('cli_aaaa', 'cli@laptop');
    expect(recipientLabel(cli, new Map([['cli_aaaa', 'other']]))).toBe('cli@laptop');
  });
});
