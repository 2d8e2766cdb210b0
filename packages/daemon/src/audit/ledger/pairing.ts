import { join } from 'node:path';
import type { LedgerPayload } from '@fabric/protocol';
import { Ledger } from './store.js';

/**
 * Record in the data directory's ledger that it was paired (the first event
 * of a device's ledger). Called by `optimal pair` and `optimal up` right
 * after they write `device.json`.
 */
export function recordPairing(dataDir: string, actor: string, facts: LedgerPayload<'device.paired'>): void {
  const ledger = new Ledger(join(dataDir, 'ledger.db'));
  try {
    ledger.append(actor, 'device.paired', facts);
  } finally {
    ledger.close();
  }
}
