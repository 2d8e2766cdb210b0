import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { isFabricError } from '@fabric/protocol';
import { agentCall, agentEndpointFromEnv } from '../client.js';
import { TOOL_CATALOG } from '../catalog.js';
import { APPROVALS_PATH, approvalAnswerSchema, TOOLS_PATH } from '../protocol.js';
import { loadSkills } from '../../modules/skills/load.js';
import { DAEMON_VERSION } from '../../version.js';
import { approvalToolHandler, approvalToolInput } from './approval-tool.js';
import { FABRIC_APPROVAL_TOOL, FABRIC_MCP_NAME } from './wiring.js';

/**
 * The daemon's MCP server for one session, started by the session's harness
 * over stdio (`node dist/agent/mcp/server.js`). It offers:
 * - `approve`, which Claude Code calls for permission
 *   (`--permission-prompt-tool mcp__fabric__approve`);
 * - every agent tool of the catalog (health, system queries, the ledger,
 *   mutations, memory, incidents, backups, the agent card), each forwarded to
 *   the daemon's agent socket, where it is validated, approved when
 *   destructive, and recorded;
 * - the skills (SKILL.md files) as prompts.
 * It speaks for the session named in FABRIC_AGENT_SOCKET, FABRIC_SESSION_ID
 * and FABRIC_SESSION_TOKEN; without them approvals are denied and tools
 * answer an error. It exits when its stdin closes (the harness went away).
 */
const endpoint = agentEndpointFromEnv();
const server = new McpServer({ name: FABRIC_MCP_NAME, version: DAEMON_VERSION });

server.registerTool(
  FABRIC_APPROVAL_TOOL,
  {
    title: 'Ask the owner',
    description: 'Asks the person who owns this Fabric session whether a tool call may run; answers allow or deny.',
    inputSchema: approvalToolInput,
  },
  approvalToolHandler(async (req) => {
    if (!endpoint) return { decision: 'deny', reason: 'this MCP server was started without a Fabric session' };
    const answer = approvalAnswerSchema.parse(
      await agentCall(endpoint, APPROVALS_PATH, { tool: req.tool, summary: req.summary, input: req.input }),
    );
    return answer.reason === undefined
      ? { decision: answer.decision }
      : { decision: answer.decision, reason: answer.reason };
  }),
);

for (const tool of TOOL_CATALOG) {
  server.registerTool(
    tool.name,
    {
      title: tool.title,
      description: tool.description,
      inputSchema: tool.input,
      annotations: {
        readOnlyHint: tool.effect === 'read',
        destructiveHint: tool.effect === 'mutate',
        openWorldHint: false,
      },
    },
    async (input: unknown) => {
      if (!endpoint) return failure('this MCP server was started without a Fabric session');
      try {
        const answer = await agentCall(endpoint, `${TOOLS_PATH}/${tool.name}`, { input });
        return { content: [{ type: 'text' as const, text: JSON.stringify(answer, null, 2) }] };
      } catch (err) {
        return failure(
          isFabricError(err) ? `${err.code}: ${err.message}` : `the daemon failed: ${(err as Error).message}`,
        );
      }
    },
  );
}

for (const skill of loadSkills()) {
  server.registerPrompt(skill.name, { title: skill.name, description: skill.description }, () => ({
    description: skill.description,
    messages: [{ role: 'user' as const, content: { type: 'text' as const, text: skill.body } }],
  }));
}

function failure(text: string) {
  return { isError: true, content: [{ type: 'text' as const, text }] };
}

process.stdin.on('close', () => process.exit(0));
await server.connect(new StdioServerTransport());
