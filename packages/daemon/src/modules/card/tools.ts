import { agentCardSchema } from '@fabric/protocol';
import { spec, emptyInput } from '../../kernel/index.js';

/** The card module's tools: name, description, input and answer schemas, effect. */

export const agentCardTool = spec({
  name: 'agent_card',
  title: 'Agent card',
  effect: 'read',
  input: emptyInput,
  output: agentCardSchema,
  description: "This device agent's identity card (EIP-8004 style): who it is and which tools and skills it offers.",
});

/** In the order every surface lists them. */
export const cardTools = [agentCardTool] as const;
