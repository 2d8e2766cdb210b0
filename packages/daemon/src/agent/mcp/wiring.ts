import { fileURLToPath } from 'node:url';
import { AGENT_ENV } from '../protocol.js';
import type { McpWiring } from '../../sessions/harness/types.js';

/** The daemon's MCP server as harnesses register it (Claude names its tools `mcp__fabric__<tool>`). */
export const FABRIC_MCP_NAME = 'fabric';

/** Its tool that asks the owner for permission (Claude Code's `--permission-prompt-tool`). */
export const FABRIC_APPROVAL_TOOL = 'approve';

/**
 * The compiled MCP server. Resolved from the package root so it is the
 * same file whether this module runs from `dist/` or, under test, from `src/`
 * (the server always runs compiled: `tsc -b` first).
 */
export const MCP_SERVER_ENTRY = fileURLToPath(new URL('../../../dist/agent/mcp/server.js', import.meta.url));

/** How a session's harness starts the daemon's MCP server: this Node, the compiled entry, the session's agent-API credentials in env. */
export function fabricMcpWiring(socket: string, sessionId: string, token: string): McpWiring {
  return {
    name: FABRIC_MCP_NAME,
    command: process.execPath,
    args: [MCP_SERVER_ENTRY],
    env: { [AGENT_ENV.socket]: socket, [AGENT_ENV.sessionId]: sessionId, [AGENT_ENV.token]: token },
  };
}
