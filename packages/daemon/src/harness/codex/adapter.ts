import { FabricError, type PermissionMode, type SessionStartPayload } from '@fabric/protocol';
import { CodexExecDriver, CodexThreadTotals } from './codex-events.js';
import { detectCli } from './detect.js';
import type { HarnessAdapter, McpWiring, PlanContext, SpawnPlan } from './types.js';

/**
 * OpenAI Codex CLI (`@openai/codex`, binary `codex`) driven one turn per
 * process with `codex exec --json`.
 *
 * Why exec and not `codex app-server`: app-server would give live input and
 * approvals, but it is a bidirectional JSON-RPC protocol marked
 * "[experimental]" in `codex --help`, whose methods and notifications have
 * changed shape between releases (v1 → v2), and it needs a handshake, thread
 * and turn requests and answers to server requests before anything runs.
 * `exec --json` is the documented automation interface (docs/exec.md; the
 * official TypeScript SDK drives it too, sdk/typescript/src/exec.ts): a
 * stable JSONL event stream, one process per turn with its exit code, and
 * `exec resume <thread_id>` for the next turn — the runner's turn model. The cost: no live input
 * (`driver.input` returns false and the runner queues follow-ups as a resumed
 * turn) and no interactive approvals (exec always runs with approval policy
 * `never`, codex-rs/exec/src/lib.rs), so permission modes map onto sandboxes:
 * - `ask`       → `--sandbox read-only`: the most restrictive policy that
 *                 still runs unattended. Commands run but cannot write or use
 *                 the network; edits fail and the model is told so. Nothing
 *                 is asked: the owner is never prompted in exec mode.
 * - `auto-edit` → `--sandbox workspace-write`: edits and commands inside the
 *                 working directory, no network.
 * - `full`      → `--sandbox danger-full-access`: no sandbox, still no prompts.
 *
 * Facts checked against codex-cli 0.169.0 (`codex exec --help`,
 * `codex exec resume --help`, and runs recorded in
 * packages/protocol/fixtures/harness/codex/):
 * - the prompt is read from stdin when it is `-` (also for `resume`), so it
 *   never reaches argv (no size limit, not visible in `ps`);
 * - `-s/--sandbox`, `--color` are options of `exec` itself, not of `resume`:
 *   they go before the subcommand (`exec … resume <id> -`); `--json`, `-m`,
 *   `--skip-git-repo-check` are global to `exec` and work either side;
 * - `--skip-git-repo-check`: exec refuses to run outside a Git repository
 *   otherwise, and a Fabric working directory (the daemon's default one)
 *   need not be one — the sandbox flag, not the Git check, is what limits it;
 * - credentials come from the environment (`CODEX_API_KEY`, `OPENAI_API_KEY`)
 *   or codex's own login under `CODEX_HOME`, never from argv;
 * - MCP servers can be added per run with `-c mcp_servers.<name>.…`
 *   overrides; `env_vars` names variables codex passes on from its own
 *   environment, so the daemon's token stays out of argv. A tool that is not
 *   marked read-only is refused in exec ("MCP tool call requires approval,
 *   but approval policy is never") unless the server's
 *   `default_tools_approval_mode` is `approve` — set for the daemon's own
 *   server, whose tools do their own checks.
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
