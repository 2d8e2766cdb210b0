import { describe, expect, it } from 'vitest';
import { AGENT_CARD_TYPE, agentCardSchema } from '@fabric/protocol';
import { agentCard, type AgentCardInput } from './card.js';

const input: AgentCardInput = {
  deviceId: 'dev_AAAAAAAAAAAAAAAA',
  name: 'build-box',
  version: '0.1.0',
  tools: [
    { name: 'system_query', description: 'Ask about processes, services, ports, disks, users.' },
    { name: 'health', description: 'CPU, memory, disk and load at a glance.' },
  ],
  skills: [{ name: 'system-monitor', description: 'Check the machine and report what needs attention.' }],
  capabilities: { platform: 'linux', arch: 'x64', harnesses: [{ name: 'claude', version: '2.0.1' }] },
  endpoints: [{ name: 'MCP', endpoint: 'stdio:fabric', version: '2025-06-18' }],
};

describe('agentCard', () => {
  it('is an ERC-8004 registration file that validates against its schema', () => {
    const card = agentCard(input);
    expect(agentCardSchema.parse(card)).toEqual(card);
    expect(card).toMatchObject({
      type: AGENT_CARD_TYPE,
      name: 'build-box',
      services: [{ name: 'MCP', endpoint: 'stdio:fabric', version: '2025-06-18' }],
      x402Support: false,
      active: true,
      registrations: [],
    });
    expect(card.type).toBe('https://eips.ethereum.org/EIPS/eip-8004#registration-v1');
    expect(card).not.toHaveProperty('supportedTrust');
    expect(card.description).toContain('build-box');
  });

  it('lists the tools and skills, sorted by name, with the device facts under fabric', () => {
    const card = agentCard({ ...input, ledgerPublicKey: 'A'.repeat(43) });
    expect(card.fabric).toEqual({
      format: 'fabric-agent/v1',
      deviceId: 'dev_AAAAAAAAAAAAAAAA',
      daemonVersion: '0.1.0',
      platform: 'linux',
      arch: 'x64',
      harnesses: [{ name: 'claude', version: '2.0.1' }],
      tools: [
        { name: 'health', description: 'CPU, memory, disk and load at a glance.' },
        { name: 'system_query', description: 'Ask about processes, services, ports, disks, users.' },
      ],
      skills: [{ name: 'system-monitor', description: 'Check the machine and report what needs attention.' }],
      ledgerPublicKey: 'A'.repeat(43),
    });
  });

  it('keeps only name and description of each tool, whatever else the caller passes', () => {
    const tools = [{ name: 'health', description: 'd', title: 'Health', effect: 'read' }];
    expect(agentCard({ ...input, tools }).fabric.tools).toEqual([{ name: 'health', description: 'd' }]);
  });

  it('throws on input the schema refuses (a malformed device id)', () => {
    expect(() => agentCard({ ...input, deviceId: '../nope' })).toThrow();
  });
});
