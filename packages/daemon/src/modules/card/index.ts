import type { AgentCardService, CapabilityDigest } from '@fabric/protocol';
import * as t from './tools.js';
import { agentCard, type NamedItem } from './card.js';
import { contextSlot, tool, type DaemonModule } from '../../kernel/index.js';

export interface CardModuleOptions {
  deviceId: string;
  deviceName: () => string;
  /** What the machine runs. */
  capabilities: () => Promise<CapabilityDigest>;
  /** The device's ledger public key. */
  ledgerPublicKey: string | null;
  /** The agent socket's path. */
  socketPath: string;
  /** The daemon's version. */
  version: string;
  /** The skills the MCP server offers, read when the card is asked for. */
  skills: () => readonly NamedItem[];
}

/** The agent card: what this device is, the tools and skills it offers, and where to reach them. */
export function cardModule(opts: CardModuleOptions): DaemonModule {
  const ctx = contextSlot('card');
  return {
    name: 'card',
    start: ctx.set,
    tools: [
      tool(t.agentCardTool, async () => {
        const caps = await opts.capabilities();
        const endpoints: AgentCardService[] = [
          {
            name: 'MCP',
            endpoint: 'stdio:fabric (wired into every session started on this device)',
            version: '2025-06-18',
          },
          { name: 'agent-socket', endpoint: `unix:${opts.socketPath}`, version: 'v1' },
        ];
        return agentCard({
          deviceId: opts.deviceId,
          name: opts.deviceName(),
          version: opts.version,
          tools: ctx.get().toolList(),
          skills: opts.skills(),
          capabilities: { platform: caps.platform, arch: caps.arch, harnesses: caps.harnesses },
          endpoints,
          ledgerPublicKey: opts.ledgerPublicKey,
        });
      }),
    ],
  };
}
