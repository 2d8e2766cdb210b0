import * as t from '../../agent/catalog.js';
import { ownLedgerQuery } from '../../agent/policy.js';
import { contextSlot, tool, type DaemonModule } from '../../kernel/module.js';

/** Reading the device's ledger: the owner reads all of it, a session only its own events. */
export function ledgerModule(): DaemonModule {
  const ctx = contextSlot('ledger');
  return {
    name: 'ledger',
    start: ctx.set,
    tools: [tool(t.ledgerEventsTool, (caller, input) => ctx.get().ledger.list(ownLedgerQuery(caller, input)))],
  };
}
