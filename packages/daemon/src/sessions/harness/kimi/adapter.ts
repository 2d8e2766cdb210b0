import type { SessionStartPayload } from '@fabric/protocol';
import { DAEMON_VERSION } from '../../../version.js';
import { detectCli } from '../detect.js';
import { KIMI_WIRE_PROTOCOL_VERSION, kimiWireIds } from './protocol.js';
import { createKimiWireDriver } from './wire.js';
import type { HarnessAdapter, PlanContext, SpawnPlan } from '../types.js';

/**
 * Kimi Code CLI (MoonshotAI/kimi-cli, binary `kimi`) driven in wire mode.
 * The full account: docs/harnesses/kimi.md.
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
