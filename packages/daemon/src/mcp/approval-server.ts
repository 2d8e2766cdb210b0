import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { agentCall, agentEndpointFromEnv } from '../agent/client.js';
import { APPROVALS_PATH, approvalAnswerSchema } from '../agent/protocol.js';
import { DAEMON_VERSION } from '../version.js';
import { approvalToolHandler, approvalToolInput } from './approval-tool.js';
import { FABRIC_APPROVAL_TOOL, FABRIC_MCP_NAME } from './wiring.js';

/**
 * The daemon's MCP server for one session, started by the session's harness
 * over stdio (`node dist/mcp/approval-server.js`). It offers the `approve`
 * tool that Claude Code calls for permission (`--permission-prompt-tool
 * mcp__fabric__approve`) and asks the daemon through its agent socket, named
 * with the session's credentials in FABRIC_AGENT_SOCKET, FABRIC_SESSION_ID
 * and FABRIC_SESSION_TOKEN. Without them every request is denied. It exits
 * when its stdin closes (the harness went away).
 */
const endpoint = agentEndpointFromEnv();
const server = new McpServer({ name: FABRIC_MCP_NAME, version: DAEMON_VERSION });

server.registerTool(FABRIC_APPROVAL_TOOL, {
  title: 'Ask the owner',
  description: 'Asks the person who owns this Fabric session whether a tool call may run; answers allow or deny.',
  inputSchema: approvalToolInput,
}, approvalToolHandler(async (req) => {
  if (!endpoint) return { decision: 'deny', reason: 'this MCP server was started without a Fabric session' };
  const answer = approvalAnswerSchema.parse(await agentCall(endpoint, APPROVALS_PATH, { tool: req.tool, summary: req.summary, input: req.input }));
  return answer.reason === undefined ? { decision: answer.decision } : { decision: answer.decision, reason: answer.reason };
}));

process.stdin.on('close', () => process.exit(0));
await server.connect(new StdioServerTransport());
