import { FabricError, type PermissionMode, type SessionStartPayload } from '@fabric/protocol';
import { CodexExecDriver, CodexThreadTotals } from './events.js';
import { detectCli } from '../detect.js';
import type { HarnessAdapter, McpWiring, PlanContext, SpawnPlan } from '../types.js';

/**
 * OpenAI Codex CLI (`@openai/codex`, binary `codex`) driven one turn per process with `codex exec
 * --json`.
 * The full account: docs/harnesses/codex.md.
 */
export function createCodexHarness(): HarnessAdapter {
  const totals = new CodexThreadTotals();
  return {
    name: 'codex',

    detect() {
      return detectCli('codex', 'codex');
    },

    plan(start: SessionStartPayload, ctx: PlanContext): SpawnPlan {
      const args = [
        'exec',
        '--json',
        '--skip-git-repo-check',
        '--color',
        'never',
        '--sandbox',
        CODEX_SANDBOX[start.permissionMode],
      ];
      if (start.model) args.push('-m', argValue(start.model, 'model'));
      const env = { ...ctx.baseEnv, ...ctx.credentials };
      if (ctx.mcp) {
        args.push(...codexMcpOverrides(ctx.mcp));
        Object.assign(env, ctx.mcp.env);
      }
      if (start.resume) args.push('resume', argValue(start.resume, 'resume id'));
      args.push('-');
      return { command: 'codex', args, env, stdin: start.prompt, closeStdin: true };
    },

    driver(ctx) {
      return new CodexExecDriver(ctx, totals);
    },
  };
}

/** The Codex adapter the daemon registers. */
export const codexHarness: HarnessAdapter = createCodexHarness();

/** `--sandbox` per Fabric permission mode (exec never prompts; see above). */
export const CODEX_SANDBOX: Record<PermissionMode, 'read-only' | 'workspace-write' | 'danger-full-access'> = {
  ask: 'read-only',
  'auto-edit': 'workspace-write',
  full: 'danger-full-access',
};

/**
 * `-c` overrides that add the daemon's MCP server for this run: command and
 * args as TOML strings (a JSON string is a valid TOML basic string), the
 * names of its environment variables (values travel in env only), and its
 * tools approved. A name that is not a bare TOML key is not wired.
 */
export function codexMcpOverrides(mcp: McpWiring): string[] {
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(mcp.name)) return [];
  const key = `mcp_servers.${mcp.name}`;
  const list = (xs: string[]) => `[${xs.map((x) => JSON.stringify(x)).join(', ')}]`;
  return [
    '-c',
    `${key}.command=${JSON.stringify(mcp.command)}`,
    '-c',
    `${key}.args=${list(mcp.args)}`,
    '-c',
    `${key}.env_vars=${list(Object.keys(mcp.env))}`,
    '-c',
    `${key}.default_tools_approval_mode="approve"`,
  ];
}

/** A value that follows a flag or sits where a positional goes must not read as a flag. */
function argValue(value: string, what: string): string {
  if (value.startsWith('-') || /[\0\n\r]/.test(value))
    throw new FabricError('bad_request', `${what} "${value.slice(0, 64)}" is not valid for codex`);
  return value;
}
