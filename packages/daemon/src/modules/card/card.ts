import {
  AGENT_CARD_TYPE,
  agentCardSchema,
  type AgentCard,
  type AgentCardService,
  type HarnessInfo,
} from '@fabric/protocol';

/** A tool or skill as the card names it. */
export interface NamedItem {
  name: string;
  description: string;
}

export interface AgentCardInput {
  deviceId: string;
  /** The device's display name (its hostname, or what the owner called it). */
  name: string;
  /** The daemon's version. */
  version: string;
  tools: readonly NamedItem[];
  skills: readonly NamedItem[];
  /** What the machine is and which harnesses it runs (a capability digest fits). */
  capabilities: { platform: string; arch: string; harnesses: readonly HarnessInfo[] };
  /** Where the agent is reached: the MCP server, the agent socket, … (ERC-8004 `services`). */
  endpoints: readonly AgentCardService[];
  /** The ledger key that signs this device's checkpoints, when known. */
  ledgerPublicKey?: string | null;
  /** An ERC-8004 `description`; a default one says what a Fabric device agent is. */
  description?: string;
}

/**
 * The device agent's identity card, as an ERC-8004 ("Trustless Agents")
 * agent registration file. Field names follow the spec's registration file
 * (https://eips.ethereum.org/EIPS/eip-8004, "Agent URI and Agent Registration
 * File"; read in ethereum/ERCs `ERCS/erc-8004.md`): `type`, `name`,
 * `description`, `image`, `services` (`name`, `endpoint`, `version`),
 * `x402Support`, `active`, `registrations`, `supportedTrust`. Fabric's own
 * facts (device id, tools, skills, harnesses, ledger key) go in the `fabric`
 * extension field, which ERC-8004 readers ignore.
 *
 * The device is on no chain: `registrations` is empty, `supportedTrust`
 * absent (the spec's "discovery only"), no payments (`x402Support: false`).
 * Tools and skills are sorted by name so the card is stable. Throws when the
 * result does not match `agentCardSchema` (a bug in the caller's input).
 */
export function agentCard(input: AgentCardInput): AgentCard {
  const byName = (a: NamedItem, b: NamedItem) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
  const card: AgentCard = {
    type: AGENT_CARD_TYPE,
    name: input.name,
    description:
      input.description ??
      `Fabric device agent on ${input.name}: answers questions about this machine, makes approved changes to it, ` +
        'and keeps receipts, incidents, memory and a signed, hash-chained ledger of what it did.',
    services: input.endpoints.map((e) => ({ ...e })),
    x402Support: false,
    active: true,
    registrations: [],
    fabric: {
      format: 'fabric-agent/v1',
      deviceId: input.deviceId,
      daemonVersion: input.version,
      platform: input.capabilities.platform,
      arch: input.capabilities.arch,
      harnesses: input.capabilities.harnesses.map((h) => ({ name: h.name, version: h.version })),
      tools: [...input.tools].sort(byName).map(({ name, description }) => ({ name, description })),
      skills: [...input.skills].sort(byName).map(({ name, description }) => ({ name, description })),
      ledgerPublicKey: input.ledgerPublicKey ?? null,
    },
  };
  return agentCardSchema.parse(card);
}
