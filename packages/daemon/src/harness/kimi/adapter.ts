import type { SessionStartPayload } from '@fabric/protocol';
import { DAEMON_VERSION } from '../version.js';
import { detectCli } from './detect.js';
import { KIMI_WIRE_PROTOCOL_VERSION, kimiWireIds } from './kimi-protocol.js';
import { createKimiWireDriver } from './kimi-wire.js';
import type { HarnessAdapter, PlanContext, SpawnPlan } from './types.js';

/**
 * Kimi Code CLI (MoonshotAI/kimi-cli, binary `kimi`) driven in wire mode:
 * `kimi --wire` speaks JSON-RPC 2.0, one object a line, on stdin/stdout
 * (docs/en/customization/wire-mode.md; src/kimi_cli/wire/{server,jsonrpc,types}.py).
 * Wire mode is the one that takes live input (`steer` into a running turn,
 * a new `prompt` after it) and asks the client before tools run
 * (`ApprovalRequest`), which is how approvals from anywhere reach Kimi.
 *
 * Facts from the source this relies on:
 * - `--session <id>` resumes that session, and creates one with exactly
 *   that id when none exists (cli/__init__.py `_run`: `Session.create(work_dir,
 *   session_id)`), so a new session gets a Fabric-chosen id and resuming
 *   needs no id reported back. Sessions are per working directory.
 * - `--yolo` auto-approves every action; `--model` names a model *alias*
 *   from ~/.kimi/config.toml (an unknown alias leaves no model configured).
 * - Credentials come from the environment only: KIMI_API_KEY, KIMI_BASE_URL,
 *   KIMI_MODEL_NAME for `kimi` providers, OPENAI_API_KEY / OPENAI_BASE_URL for
 *   OpenAI ones (llm.py `augment_provider_with_env_vars`).
 * - Closing stdin ends the wire server (exit 0) and cancels a running turn,
 *   so stdin stays open until the turn's `prompt` response arrives.
 * - JSON-RPC ids must be strings (jsonrpc.py `id: str`).
 */
export const kimiHarness: HarnessAdapter = {
  name: 'kimi',

  detect() {
    return detectCli('kimi', 'kimi');
  },

  plan(start: SessionStartPayload, ctx: PlanContext): SpawnPlan {
    const kimiSessionId = start.resume ?? `fabric-${start.sessionId}`;
    const args = ['--wire', '--session', kimiSessionId];
    if (start.model) args.push('--model', start.model);
    if (start.permissionMode === 'full') args.push('--yolo');
    // The daemon's MCP wiring is not passed on: Kimi only takes MCP config as
    // argv JSON or a file, and its env (a session token) must not reach argv.
    // Approvals travel over the wire protocol instead.
    const initialize = {
      jsonrpc: '2.0',
      id: kimiWireIds.initialize(start.permissionMode, kimiSessionId),
      method: 'initialize',
      params: {
        protocol_version: KIMI_WIRE_PROTOCOL_VERSION,
        client: { name: 'fabric', version: DAEMON_VERSION },
        // No QuestionRequest (an approval cannot carry an answer) and no plan
        // mode: Kimi then hides AskUserQuestion and the plan-mode tools.
        capabilities: { supports_question: false, supports_plan_mode: false },
      },
    };
    const prompt = {
      jsonrpc: '2.0',
      id: kimiWireIds.firstPrompt,
      method: 'prompt',
      params: { user_input: start.prompt },
    };
    return {
      command: 'kimi',
      args,
      env: { ...ctx.baseEnv, ...ctx.credentials },
      // Both go at once: the server handles `initialize` to completion before
      // the `prompt` task starts, and stdin stays open for steering and approvals.
      stdin: `${JSON.stringify(initialize)}\n${JSON.stringify(prompt)}\n`,
      // Kimi takes `--session <id>` as given, so the id is known before it prints anything.
      harnessSessionId: kimiSessionId,
    };
  },

  driver(ctx) {
    return createKimiWireDriver(ctx);
  },
};
