import * as t from './tools.js';
import { ownLedgerQuery, contextSlot, tool, type DaemonModule } from '../../kernel/index.js';

/** Reading the device's ledger: the owner reads all of it, a session only its own events. */
export function ledgerModule(): DaemonModule {
  const ctx = contextSlot('ledger');
  return {
    name: 'ledger',
    start: ctx.set,
    tools: [tool(t.ledgerEventsTool, (caller, input) => ctx.get().ledger.list(ownLedgerQuery(caller, input)))],
  };
}
