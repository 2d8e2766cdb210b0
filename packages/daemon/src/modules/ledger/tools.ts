import { ledgerEventsAnswerSchema, ledgerEventsInputSchema } from '@fabric/protocol';
import { spec } from '../../kernel/index.js';

/** The ledger module's tools: name, description, input and answer schemas, effect. */

export const ledgerEventsTool = spec({
  name: 'ledger_events',
  title: 'Read the ledger',
  effect: 'read',
  input: ledgerEventsInputSchema,
  output: ledgerEventsAnswerSchema,
  description:
    'The tamper-evident log of everything done on this device (sessions, approvals, vault access, mutations), newest first; filter by kind or actor. A session sees only the events it caused itself.',
});

/** In the order every surface lists them. */
export const ledgerTools = [ledgerEventsTool] as const;
