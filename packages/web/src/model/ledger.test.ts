import { describe, expect, it } from 'vitest';
import { MAX_LEDGER_PAGE, type LedgerCheckpointList } from '@fabric/protocol';
import { checkDeviceLedger, ledgerLine } from './ledger.js';

const time = (ms: number) => `t${ms}`;

describe('the ledger line', () => {
  it('says how far the verified checkpoints reach, or which one fails and why', () => {
    expect(ledgerLine({ ok: true, count: 0, last: null }, time)).toBe('ledger: no signed checkpoint yet');
    expect(ledgerLine({ ok: true, count: 1, last: { seq: 4, at: 7 } }, time)).toBe(
      'ledger: 1 signed checkpoint up to event 4 (t7), each signature verified in this browser',
    );
    expect(ledgerLine({ ok: true, count: 3, last: { seq: 40, at: 9 } }, time)).toMatch(/^ledger: 3 signed checkpoints/);
    expect(ledgerLine({ ok: false, seq: 12, problem: 'bad_signature' }, time)).toBe(
      'ledger: checkpoint at event 12 fails: its signature does not verify for this device',
    );
  });
});

describe('checking a device ledger', () => {
  it('reads on page after page until one comes back short', async () => {
    const asked: number[] = [];
    // No pinned key but checkpoints: the check must fail on the first checkpoint of the first page.
    const cp = (seq: number) => ({
      seq,
      head: 'a'.repeat(64),
      at: 1,
      publicKey: 'k'.repeat(43),
      signature: 's'.repeat(86),
      receivedAt: 1,
    });
    const page = (afterSeq: number): Promise<LedgerCheckpointList> => {
      asked.push(afterSeq);
      const size = afterSeq === 0 ? MAX_LEDGER_PAGE : 2;
      return Promise.resolve({
        deviceId: 'dev_x',
        publicKey: null,
        checkpoints: Array.from({ length: size }, (_, i) => cp(afterSeq + i + 1)),
      });
    };
    expect(await checkDeviceLedger(page)).toEqual({ ok: false, seq: 1, problem: 'no_pinned_key' });
    expect(asked).toEqual([0, MAX_LEDGER_PAGE]);
  });
});
