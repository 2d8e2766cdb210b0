import type { SessionStartPayload } from '@fabric/protocol';
import { FABRIC_APPROVAL_TOOL } from '../../../agent/mcp/wiring.js';
import { claudeUserLine, ClaudeStreamDriver } from './stream.js';
import { detectCli } from '../detect.js';
import type { HarnessAdapter, McpWiring, PlanContext, SpawnPlan } from '../types.js';

/** How Claude Code names a tool of an MCP server: `mcp__<server>__<tool>`. */
export const claudeMcpToolName = (server: string, tool: string): string => `mcp__${server}__${tool}`;

/**
 * Claude Code's `--permission-mode` for each Fabric mode. `ask` and
 * `auto-edit` send every request Claude would put to a person to the
 * daemon's approval tool (`--permission-prompt-tool`); `full` asks nothing.
 */
const PERMISSION_MODE = { ask: 'default', 'auto-edit': 'acceptEdits', full: 'bypassPermissions' } as const;

/**
 * The MCP config for `--mcp-config`, as JSON. Its `env` only names variables
 * (`${VAR}`, which Claude Code expands from its own environment when it
 * starts the server) and the values travel in the process environment, so
 * the session token never appears in argv, where any local user can read it.
 */
function mcpConfig(mcp: McpWiring): string {
  const env: Record<string, string> = {};
  for (const key of Object.keys(mcp.env)) env[key] = `\${${key}}`;
  return JSON.stringify({ mcpServers: { [mcp.name]: { type: 'stdio', command: mcp.command, args: mcp.args, env } } });
}

/**
 * Claude Code (`@anthropic-ai/claude-code`, binary `claude`) in print mode with stream-json both ways.
 * The full account: docs/harnesses/claude.md.
 */
export const claudeHarness: HarnessAdapter = {
  name: 'claude',

  detect() {
    return detectCli('claude', 'claude');
  },

  plan(start: SessionStartPayload, ctx: PlanContext): SpawnPlan {
    const args = [
      '-p',
      '--output-format',
      'stream-json',
      '--input-format',
      'stream-json',
      '--verbose',
      '--replay-user-messages',
    ];
    if (start.resume) args.push(`--resume=${start.resume}`);
    if (start.model) args.push(`--model=${start.model}`);
    args.push('--permission-mode', PERMISSION_MODE[start.permissionMode]);
    const env: Record<string, string> = { ...ctx.baseEnv };
    if (ctx.mcp) {
      args.push('--mcp-config', mcpConfig(ctx.mcp));
      Object.assign(env, ctx.mcp.env);
      if (start.permissionMode !== 'full')
        args.push('--permission-prompt-tool', claudeMcpToolName(ctx.mcp.name, FABRIC_APPROVAL_TOOL));
    }
    // Without the daemon's MCP server, `ask` and `auto-edit` still hold: print
    // mode denies what it would have asked about (listed in `permission_denials`).
    Object.assign(env, ctx.credentials);
    return { command: 'claude', args, env, stdin: claudeUserLine(start.prompt) };
  },

  driver(ctx) {
    return new ClaudeStreamDriver(ctx);
  },
};
