import { FabricError, type PermissionMode, type SessionStartPayload } from '@fabric/protocol';
import { detectCli } from '../detect.js';
import { OpencodeRunDriver } from './events.js';
import type { HarnessAdapter, McpWiring, PlanContext, SpawnPlan } from '../types.js';

/**
 * OpenCode (`opencode-ai`, binary `opencode`) driven one turn per process with `opencode run --format
 * json --thinking`.
 * The full account: docs/harnesses/opencode.md.
 */
export const opencodeHarness: HarnessAdapter = {
  name: 'opencode',

  detect() {
    return detectCli('opencode', 'opencode');
  },

  plan(start: SessionStartPayload, ctx: PlanContext): SpawnPlan {
    const args = ['run', '--format', 'json', '--thinking'];
    if (start.model) {
      if (!/^[^/]+\/.+/.test(start.model))
        throw new FabricError(
          'bad_request',
          `opencode names models provider/model, e.g. anthropic/claude-sonnet-4-5 (got "${start.model.slice(0, 64)}")`,
        );
      args.push('-m', argValue(start.model, 'model'));
    }
    if (start.resume) args.push('--session', argValue(start.resume, 'resume id'));
    if (start.permissionMode === 'full') args.push('--auto');
    const env: Record<string, string> = { ...ctx.baseEnv, ...ctx.credentials };
    delete env.PWD;
    const rules = opencodePermission(start.permissionMode, ctx.mcp?.name ?? null);
    if (rules) env.OPENCODE_PERMISSION = JSON.stringify(rules);
    if (ctx.mcp) {
      const config = withMcpServer(env.OPENCODE_CONFIG_CONTENT, ctx.mcp);
      if (config) {
        env.OPENCODE_CONFIG_CONTENT = config;
        Object.assign(env, ctx.mcp.env);
      }
    }
    return { command: 'opencode', args, env, stdin: start.prompt, closeStdin: true };
  },

  driver(ctx) {
    return new OpencodeRunDriver(ctx);
  },
};

/** What opencode may do unasked in `ask`: look, never touch (its defaults for reading `.env` files kept). */
const READ_ONLY: Record<string, unknown> = {
  '*': 'ask',
  read: { '*': 'allow', '*.env': 'ask', '*.env.*': 'ask', '*.env.example': 'allow' },
  glob: 'allow',
  grep: 'allow',
  list: 'allow',
  lsp: 'allow',
  todowrite: 'allow',
};

/**
 * The OPENCODE_PERMISSION rules for a mode, or null for `full` (`--auto`
 * there, and the user's own rules stand). "ask" here means "rejected": run
 * mode has nobody to ask. Rules are matched last-first, so `*` goes first.
 * The daemon's own MCP tools (`<server>_*`) are always allowed.
 */
export function opencodePermission(mode: PermissionMode, mcpServer: string | null): Record<string, unknown> | null {
  if (mode === 'full') return null;
  const rules: Record<string, unknown> = { ...READ_ONLY };
  if (mode === 'auto-edit') rules.edit = 'allow'; // edit, write and apply_patch all ask for `edit`
  if (mcpServer) rules[`${mcpServer}_*`] = 'allow';
  return rules;
}

/**
 * OPENCODE_CONFIG_CONTENT with the daemon's MCP server added to whatever the
 * environment already held; null when that is not a JSON object (left alone,
 * the server is then not wired).
 */
function withMcpServer(existing: string | undefined, mcp: McpWiring): string | null {
  let config: Record<string, unknown> = {};
  if (existing !== undefined && existing.trim() !== '') {
    try {
      const parsed: unknown = JSON.parse(existing);
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return null;
      config = parsed as Record<string, unknown>;
    } catch {
      return null;
    }
  }
  const servers = typeof config.mcp === 'object' && config.mcp !== null ? (config.mcp as Record<string, unknown>) : {};
  return JSON.stringify({
    ...config,
    mcp: { ...servers, [mcp.name]: { type: 'local', command: [mcp.command, ...mcp.args] } },
  });
}

/** A value that follows a flag must not read as a flag. */
function argValue(value: string, what: string): string {
  if (value.startsWith('-') || /[\0\n\r]/.test(value))
    throw new FabricError('bad_request', `${what} "${value.slice(0, 64)}" is not valid for opencode`);
  return value;
}
