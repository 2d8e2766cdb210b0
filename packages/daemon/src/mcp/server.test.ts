// The approval MCP server as Claude Code runs it: a real `node dist/mcp/server.js`
// process over stdio, talking to a real agent socket. The request and answer shapes are
// Claude Code's own (@anthropic-ai/claude-code 2.1.197: the permission-prompt tool is
// called with {tool_name, input, tool_use_id} and its text must parse as
// {behavior:'allow', updatedInput: object} | {behavior:'deny', message: string}).
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { TOOL_CATALOG } from '../agent/catalog.js';
import { AgentSocket } from '../agent/socket.js';
import type { ApprovalDecision, ApprovalRequest } from '../harness/types.js';
import { MCP_SERVER_ENTRY, FABRIC_APPROVAL_TOOL, fabricMcpWiring } from './wiring.js';

/** What Claude Code accepts back from a permission-prompt tool (its own schema, restated). */
const claudeAnswerSchema = z.union([
  z.object({ behavior: z.literal('allow'), updatedInput: z.record(z.string(), z.unknown()) }),
  z.object({ behavior: z.literal('deny'), message: z.string() }),
]);

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function daemon(decide: (req: ApprovalRequest) => Promise<ApprovalDecision>) {
  const dir = mkdtempSync(join(tmpdir(), 'fabric-mcp-test-'));
  const path = join(dir, 'agent.sock');
  const asked: Array<{ sessionId: string; req: ApprovalRequest }> = [];
  const agent = new AgentSocket({ path, approve: (sessionId, req) => { asked.push({ sessionId, req }); return decide(req); } });
  await agent.listen();
  cleanups.push(async () => {
    await agent.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return { agent, path, asked };
}

/** Start the compiled server the way a harness would (the wiring the daemon hands out) and connect an MCP client. */
async function connect(env: Record<string, string>) {
  const wiring = fabricMcpWiring('unused', 'unused', 'unused');
  const transport = new StdioClientTransport({ command: wiring.command, args: wiring.args, env, stderr: 'pipe' });
  const client = new Client({ name: 'claude-code-stand-in', version: '1.0.0' });
  await client.connect(transport);
  cleanups.push(() => client.close());
  return client;
}

async function ask(client: Client, args: Record<string, unknown>) {
  const result = await client.callTool({ name: FABRIC_APPROVAL_TOOL, arguments: args });
  const content = result.content as Array<{ type: string; text?: string }>;
  expect(content).toHaveLength(1);
  expect(content[0]!.type).toBe('text');
  return claudeAnswerSchema.parse(JSON.parse(content[0]!.text!));
}

describe('the approval MCP server', () => {
  it('is built: the wiring points at the compiled entry (run `npx tsc -b` first)', () => {
    expect(existsSync(MCP_SERVER_ENTRY)).toBe(true);
  });

  it('offers one tool taking what Claude Code sends, and relays allow and deny through the agent socket', async () => {
    const d = await daemon(async (req) => (req.tool === 'Bash' ? { decision: 'deny', reason: 'not on my laptop' } : { decision: 'allow' }));
    const wiring = fabricMcpWiring(d.path, 'ses_mcp1', d.agent.issueToken('ses_mcp1'));
    const client = await connect(wiring.env);

    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name)).toEqual([FABRIC_APPROVAL_TOOL, ...TOOL_CATALOG.map((t) => t.name)]);
    const approve = tools.find((t) => t.name === FABRIC_APPROVAL_TOOL)!;
    expect(approve.inputSchema).toMatchObject({ type: 'object', required: ['tool_name', 'input'] });
    expect(Object.keys(approve.inputSchema.properties ?? {}).sort()).toEqual(['input', 'tool_name', 'tool_use_id']);

    const edit = { file_path: '/home/dev/project/a.ts', old_string: 'a', new_string: 'b' };
    await expect(ask(client, { tool_name: 'Edit', input: edit, tool_use_id: 'toolu_01A' })).resolves.toEqual({ behavior: 'allow', updatedInput: edit });
    await expect(ask(client, { tool_name: 'Bash', input: { command: 'rm -rf build' } })).resolves.toEqual({ behavior: 'deny', message: 'denied: not on my laptop' });
    expect(d.asked).toEqual([
      { sessionId: 'ses_mcp1', req: { tool: 'Edit', summary: 'Edit: /home/dev/project/a.ts', input: edit } },
      { sessionId: 'ses_mcp1', req: { tool: 'Bash', summary: 'Bash: rm -rf build', input: { command: 'rm -rf build' } } },
    ]);
  });

  it('denies, saying why, when its session token is wrong: the daemon is never asked', async () => {
    const d = await daemon(async () => ({ decision: 'allow' }));
    d.agent.issueToken('ses_mcp2');
    const client = await connect(fabricMcpWiring(d.path, 'ses_mcp2', 'not-the-token').env);
    const answer = await ask(client, { tool_name: 'Write', input: { file_path: 'x', content: 'y' } });
    expect(answer).toEqual({ behavior: 'deny', message: expect.stringMatching(/could not ask the owner.*does not speak for that session/) });
    expect(d.asked).toEqual([]);
  });

  it('denies when the daemon is gone or it was started without a session', async () => {
    const d = await daemon(async () => ({ decision: 'allow' }));
    const token = d.agent.issueToken('ses_mcp3');
    await d.agent.close();
    const orphan = await connect(fabricMcpWiring(d.path, 'ses_mcp3', token).env);
    expect(await ask(orphan, { tool_name: 'Bash', input: { command: 'ls' } })).toEqual({ behavior: 'deny', message: expect.stringContaining('does not answer') });
    const bare = await connect({});
    expect(await ask(bare, { tool_name: 'Bash', input: { command: 'ls' } })).toEqual({ behavior: 'deny', message: expect.stringContaining('without a Fabric session') });
  });
});
