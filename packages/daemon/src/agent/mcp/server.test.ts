// The approval MCP server as Claude Code runs it: a real `node dist/agent/mcp/server.js`
// process over stdio, talking to a real agent socket. The request and answer shapes are
// Claude Code's own (@anthropic-ai/claude-code 2.1.197: the permission-prompt tool is
// called with {tool_name, input, tool_use_id} and its text must parse as
// {behavior:'allow', updatedInput: object} | {behavior:'deny', message: string}).
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { incidentSchema, memoryRecallAnswerSchema, memoryWrittenSchema, systemHealthSchema } from '@fabric/protocol';
import { agentStack } from '../../../test/agent-stack.js';
import { TOOL_CATALOG } from '../catalog.js';
import { AgentSocket } from '../socket.js';
import type { ApprovalDecision, ApprovalRequest } from '../../sessions/harness/types.js';
import { loadSkills } from '../../modules/skills/load.js';
import { MCP_SERVER_ENTRY, FABRIC_APPROVAL_TOOL, fabricMcpWiring } from './wiring.js';

/** What Claude Code accepts back from a permission-prompt tool (its own schema, restated). */
const claudeAnswerSchema = z.union([
  z.object({ behavior: z.literal('allow'), updatedInput: z.record(z.string(), z.unknown()) }),
  z.object({ behavior: z.literal('deny'), message: z.string() }),
]);

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function daemon(decide: (req: ApprovalRequest) => Promise<ApprovalDecision>) {
  const dir = mkdtempSync(join(tmpdir(), 'fabric-mcp-test-'));
  const path = join(dir, 'agent.sock');
  const asked: { sessionId: string; req: ApprovalRequest }[] = [];
  const agent = new AgentSocket({
    path,
    approve: (sessionId, req) => {
      asked.push({ sessionId, req });
      return decide(req);
    },
  });
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
  const content = result.content as { type: string; text?: string }[];
  expect(content).toHaveLength(1);
  expect(content[0]!.type).toBe('text');
  return claudeAnswerSchema.parse(JSON.parse(content[0]!.text!));
}

describe('the approval MCP server', () => {
  it('is built: the wiring points at the compiled entry (run `npx tsc -b` first)', () => {
    expect(existsSync(MCP_SERVER_ENTRY)).toBe(true);
  });

  it('offers one tool taking what Claude Code sends, and relays allow and deny through the agent socket', async () => {
    const d = await daemon(async (req) =>
      req.tool === 'Bash' ? { decision: 'deny', reason: 'not on my laptop' } : { decision: 'allow' },
    );
    const wiring = fabricMcpWiring(d.path, 'ses_mcp1', d.agent.issueToken('ses_mcp1'));
    const client = await connect(wiring.env);

    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name)).toEqual([FABRIC_APPROVAL_TOOL, ...TOOL_CATALOG.map((t) => t.name)]);
    const approve = tools.find((t) => t.name === FABRIC_APPROVAL_TOOL)!;
    expect(approve.inputSchema).toMatchObject({ type: 'object', required: ['tool_name', 'input'] });
    expect(Object.keys(approve.inputSchema.properties ?? {}).sort()).toEqual(['input', 'tool_name', 'tool_use_id']);

    const edit = { file_path: '/home/dev/project/a.ts', old_string: 'a', new_string: 'b' };
    await expect(ask(client, { tool_name: 'Edit', input: edit, tool_use_id: 'toolu_01A' })).resolves.toEqual({
      behavior: 'allow',
      updatedInput: edit,
    });
    await expect(ask(client, { tool_name: 'Bash', input: { command: 'rm -rf build' } })).resolves.toEqual({
      behavior: 'deny',
      message: 'denied: not on my laptop',
    });
    expect(d.asked).toEqual([
      { sessionId: 'ses_mcp1', req: { tool: 'Edit', summary: 'Edit: /home/dev/project/a.ts', input: edit } },
      {
        sessionId: 'ses_mcp1',
        req: { tool: 'Bash', summary: 'Bash: rm -rf build', input: { command: 'rm -rf build' } },
      },
    ]);
  });

  it('denies, saying why, when its session token is wrong: the daemon is never asked', async () => {
    const d = await daemon(async () => ({ decision: 'allow' }));
    d.agent.issueToken('ses_mcp2');
    const client = await connect(fabricMcpWiring(d.path, 'ses_mcp2', 'not-the-token').env);
    const answer = await ask(client, { tool_name: 'Write', input: { file_path: 'x', content: 'y' } });
    expect(answer).toEqual({
      behavior: 'deny',
      message: expect.stringMatching(/could not ask the owner.*does not speak for that session/),
    });
    expect(d.asked).toEqual([]);
  });

  it('denies when the daemon is gone or it was started without a session', async () => {
    const d = await daemon(async () => ({ decision: 'allow' }));
    const token = d.agent.issueToken('ses_mcp3');
    await d.agent.close();
    const orphan = await connect(fabricMcpWiring(d.path, 'ses_mcp3', token).env);
    expect(await ask(orphan, { tool_name: 'Bash', input: { command: 'ls' } })).toEqual({
      behavior: 'deny',
      message: expect.stringContaining('does not answer'),
    });
    const bare = await connect({});
    expect(await ask(bare, { tool_name: 'Bash', input: { command: 'ls' } })).toEqual({
      behavior: 'deny',
      message: expect.stringContaining('without a Fabric session'),
    });
  });
});

/** A real agent stack and an MCP server process speaking for session `sessionId` on it. */
async function stackWithSession(sessionId: string) {
  const stack = await agentStack();
  cleanups.push(() => stack.close());
  const session = stack.startSession(sessionId);
  const client = await connect(fabricMcpWiring(stack.socket.path, sessionId, session.token).env);
  return { stack, session, client };
}

/** A tool's answer: the daemon's JSON, parsed from the one text block; throws when the call was an error. */
async function call(client: Client, name: string, args: Record<string, unknown> = {}): Promise<unknown> {
  const result = await client.callTool({ name, arguments: args });
  const content = result.content as { type: string; text: string }[];
  if (result.isError) throw new Error(`${name} answered an error: ${content[0]?.text}`);
  expect(content).toHaveLength(1);
  return JSON.parse(content[0]!.text);
}

/** A tool's error text; fails the test when the call succeeded. */
async function callError(client: Client, name: string, args: Record<string, unknown>): Promise<string> {
  const result = await client.callTool({ name, arguments: args });
  expect(result.isError).toBe(true);
  const content = result.content as { type: string; text: string }[];
  return content.map((c) => c.text).join('\n');
}

describe("the MCP server's agent tools, over a real agent stack", () => {
  it('lists approve and every catalog tool, each with an object input schema, and the skills as prompts', async () => {
    const { client } = await stackWithSession('ses_mcplist01');
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name)).toEqual([FABRIC_APPROVAL_TOOL, ...TOOL_CATALOG.map((t) => t.name)]);
    for (const spec of TOOL_CATALOG) {
      const tool = tools.find((t) => t.name === spec.name)!;
      expect(tool.inputSchema.type).toBe('object');
      expect(tool.description).toBe(spec.description);
      expect(tool.annotations).toMatchObject({
        readOnlyHint: spec.effect === 'read',
        destructiveHint: spec.effect === 'mutate',
      });
    }
    expect(tools.find((t) => t.name === 'system_query')!.inputSchema).toMatchObject({
      required: ['query'],
      properties: { query: { enum: ['processes', 'services', 'network', 'ports', 'disks', 'users'] } },
    });

    const skills = loadSkills();
    const { prompts } = await client.listPrompts();
    expect(prompts.map((p) => p.name)).toEqual(skills.map((k) => k.name));
    for (const skill of skills) {
      const prompt = await client.getPrompt({ name: skill.name });
      expect(prompt.description).toBe(skill.description);
      expect(prompt.messages).toEqual([{ role: 'user', content: { type: 'text', text: skill.body } }]);
    }
  });

  it('forwards calls to the daemon as the session: health, memory, incidents, the ledger', async () => {
    const { stack, client } = await stackWithSession('ses_mcpcall01');
    expect(systemHealthSchema.parse(await call(client, 'health')).cpu.cores).toBeGreaterThan(0);
    const stored = memoryWrittenSchema.parse(
      await call(client, 'memory_store', { summary: 'the staging database listens on port 5433', tags: ['postgres'] }),
    );
    const recalled = memoryRecallAnswerSchema.parse(
      await call(client, 'memory_recall', { query: 'staging database port' }),
    );
    expect(recalled.chunks[0]).toMatchObject({ memoryId: stored.id, text: expect.stringContaining('5433') });
    const incident = incidentSchema.parse(
      await call(client, 'incident_create', { title: 'staging database unreachable', severity: 'medium' }),
    );
    expect(incident).toMatchObject({ status: 'open', openedBy: 'session:ses_mcpcall01' });
    expect(stack.events().map((e) => [e.actor, e.kind])).toEqual([
      ['session:ses_mcpcall01', 'memory.store'],
      ['session:ses_mcpcall01', 'incident.create'],
    ]);
  });

  it('reports bad input as a tool error: the SDK refuses what breaks the schema, the daemon what breaks its rules', async () => {
    const { stack, client } = await stackWithSession('ses_mcpbad001');
    // Outside the listed schema: the MCP server's SDK refuses it before the daemon hears of it.
    const schema = await callError(client, 'system_query', { query: 'processes', limit: 0 });
    expect(schema).toMatch(/Input validation error: Invalid arguments for tool system_query/);
    expect(schema).toContain('limit');
    expect(await callError(client, 'system_query', { query: 'everything' })).toMatch(/Input validation error/);
    // Within the schema but not a valid question: the daemon's own bad_request, code first.
    expect(await callError(client, 'system_query', { query: 'network', sort: 'cpu' })).toBe(
      'bad_request: system_query: sort applies to processes only',
    );
    expect(await callError(client, 'incident_get', { id: 'inc_nosuchthing' })).toMatch(/^not_found: /);
    expect(stack.asked).toEqual([]);
  });

  it("asks the owner for a destructive call on the session's behalf: deny is an approval_denied error, allow sends the signal", async () => {
    const { stack, client } = await stackWithSession('ses_mcpsig001');
    const child = spawn('sleep', ['30'], { stdio: 'ignore' });
    await once(child, 'spawn');
    cleanups.push(() => void child.kill('SIGKILL'));
    const exited = once(child, 'exit');
    const pid = child.pid!;

    stack.answer(() => ({ decision: 'deny', reason: 'that one is mine' }));
    const denied = await callError(client, 'process_signal', { pid, signal: 'TERM' });
    expect(denied).toMatch(/^approval_denied: .*that one is mine/);
    expect(() => process.kill(pid, 0)).not.toThrow();

    stack.answer(() => ({ decision: 'allow' }));
    expect(await call(client, 'process_signal', { pid, signal: 'TERM' })).toEqual({
      pid,
      name: 'sleep',
      signal: 'TERM',
    });
    expect(await exited).toEqual([null, 'SIGTERM']);
    const asked = {
      sessionId: 'ses_mcpsig001',
      req: {
        tool: 'fabric.process_signal',
        summary: `send TERM to pid ${pid} (sleep)`,
        input: { pid, signal: 'TERM' },
      },
    };
    expect(stack.asked).toEqual([asked, asked]);
    expect(stack.events().map((e) => e.kind)).toEqual([
      'mutation.requested',
      'mutation.denied',
      'mutation.requested',
      'mutation.done',
    ]);
    expect(stack.verify().ok).toBe(true);
  });

  it("answers every tool with an error when started without a session, or with another session's token", async () => {
    const bare = await connect({});
    expect(await callError(bare, 'health', {})).toBe('this MCP server was started without a Fabric session');
    const { stack } = await stackWithSession('ses_mcpown001');
    const other = stack.startSession('ses_mcpoth001');
    const impostor = await connect(fabricMcpWiring(stack.socket.path, 'ses_mcpown001', other.token).env);
    expect(await callError(impostor, 'incident_create', { title: 'not mine to open' })).toMatch(/^unauthorized: /);
    expect(stack.ledger.count()).toBe(0);
  });
});
