import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { SessionEvent, StatusWords, Usage } from '@fabric/protocol';
import { fileTouchedBy } from './tools.js';
import { statusEvent, wordStatusEvent } from '../status.js';
import type { DriverContext, HarnessDriver } from '../types.js';

/**
 * Claude Code's stream-json protocol, the client side.
 * The full account: docs/harnesses/claude.md.
 */

/** One stream-json user message line (what the SDKs write): the first prompt and live follow-ups. */
export function claudeUserLine(text: string, uuid: string = randomUUID()): string {
  return `${JSON.stringify({ type: 'user', message: { role: 'user', content: text }, parent_tool_use_id: null, session_id: 'default', uuid })}\n`;
}

const count = z.number().int().nonnegative().catch(0);
const usageSchema = z.looseObject({
  input_tokens: count.default(0),
  output_tokens: count.default(0),
  cache_creation_input_tokens: count.default(0),
  cache_read_input_tokens: count.default(0),
});
const modelUsageSchema = z.record(
  z.string(),
  z.looseObject({
    inputTokens: count.default(0),
    outputTokens: count.default(0),
    cacheReadInputTokens: count.default(0),
    cacheCreationInputTokens: count.default(0),
  }),
);

const blockSchema = z.looseObject({ type: z.string() });
const textBlock = z.looseObject({ type: z.literal('text'), text: z.string() });
const thinkingBlock = z.looseObject({ type: z.literal('thinking'), thinking: z.string() });
const toolUseBlock = z.looseObject({
  type: z.enum(['tool_use', 'server_tool_use']),
  id: z.string(),
  name: z.string(),
  input: z.unknown(),
});
const toolResultBlock = z.looseObject({
  type: z.literal('tool_result'),
  tool_use_id: z.string(),
  content: z.unknown(),
  is_error: z.boolean().nullish(),
});

const lineSchema = z.looseObject({ type: z.string() });
const initSchema = z.looseObject({
  session_id: z.string().min(1).max(256),
  model: z.string().optional(),
  permissionMode: z.string().optional(),
  cwd: z.string().optional(),
});
const assistantSchema = z.looseObject({
  message: z.looseObject({ content: z.array(blockSchema) }),
  error: z.unknown().optional(),
});
const userSchema = z.looseObject({
  message: z.looseObject({ content: z.union([z.string(), z.array(blockSchema)]) }),
  isReplay: z.boolean().optional(),
  uuid: z.string().optional(),
  tool_use_result: z.unknown().optional(),
});
const resultSchema = z.looseObject({
  subtype: z.string(),
  is_error: z.boolean().default(false),
  session_id: z.string().min(1).max(256).optional(),
  result: z.string().optional(),
  errors: z.array(z.unknown()).optional(),
  num_turns: z.number().optional(),
  duration_ms: z.number().optional(),
  total_cost_usd: z.number().nonnegative().optional(),
  usage: usageSchema.optional(),
  modelUsage: modelUsageSchema.optional(),
  permission_denials: z.array(z.looseObject({ tool_name: z.string().optional() })).optional(),
});
const rateLimitSchema = z.looseObject({
  rate_limit_info: z.looseObject({
    status: z.string(),
    resetsAt: z.number().optional(),
    rateLimitType: z.string().optional(),
  }),
});
const controlResponseSchema = z.looseObject({ response: z.looseObject({ request_id: z.string().optional() }) });
const systemSchema = z.looseObject({ subtype: z.string() });
const errorLineSchema = z.looseObject({
  message: z.string().optional(),
  error: z.union([z.string(), z.looseObject({ message: z.string().optional() })]).optional(),
});
const apiRetrySchema = z.looseObject({
  attempt: z.number().optional(),
  max_retries: z.number().optional(),
  error_status: z.number().nullish(),
  error: z.string().nullish(),
});
const systemStatusSchema = z.looseObject({ status: z.string().nullish() });

interface Totals {
  input: number;
  output: number;
  cached: number;
  costUsd: number;
}

/** Fabric's `input` is what was read at full or cache-write price, `cached` the cache reads (as for the other adapters). */
function totalsOf(r: z.infer<typeof resultSchema>): Totals | null {
  const models = Object.values(r.modelUsage ?? {});
  if (models.length === 0) return null;
  const t: Totals = { input: 0, output: 0, cached: 0, costUsd: r.total_cost_usd ?? 0 };
  for (const m of models) {
    t.input += m.inputTokens + m.cacheCreationInputTokens;
    t.output += m.outputTokens;
    t.cached += m.cacheReadInputTokens;
  }
  return t;
}

/** A tool result's content (a string, or text/image blocks) as one string. */
function resultText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return content === undefined || content === null ? '' : JSON.stringify(content);
  return content
    .map((b) => {
      const t = textBlock.safeParse(b);
      if (t.success) return t.data.text;
      return typeof b === 'object' && b !== null && 'type' in b ? `[${String((b as { type: unknown }).type)}]` : '';
    })
    .filter(Boolean)
    .join('\n');
}

/**
 * Claude's `system` subtypes, and the values of `system/status`, as Fabric
 * statuses. A `result` always ends its turn (its subtype is kept as the
 * harness's word), and a `rate_limit_event` is `rate_limit` whatever its state.
 */
export const CLAUDE_STATUS_WORDS: StatusWords = {
  init: 'init',
  api_retry: 'retrying',
  compacting: 'compacting',
  compact_boundary: 'compacted',
  hook_started: 'hook',
  hook_progress: 'hook',
  hook_response: 'hook',
  task_started: 'notification',
  task_progress: 'notification',
  task_notification: 'notification',
  notification: 'notification',
};

/** The one control request a driver sends (once per process): end it. */
const END_REQUEST_ID = 'fabric-end-session';

const clip = (s: string, max: number) => (s.length > max ? `${s.slice(0, max - 1)}…` : s);

/**
 * One `claude` process. `line` never throws: what it cannot read becomes a
 * `raw` event. Once a `result` leaves nothing of ours untaken, the turn is
 * over and the driver ends the process (`end_session`); input that arrives
 * after that is refused so the runner queues it as a resumed turn.
 */
export class ClaudeStreamDriver implements HarnessDriver {
  private sessionId: string | null = null;
  /** The plan's first prompt, until the CLI echoes a user message we did not write. */
  private firstPromptUntaken = true;
  /** Live input written but not yet echoed back (taken in) by the CLI, by uuid. */
  private readonly untaken = new Set<string>();
  /** The CLI echoed a user message at least once; without echoes we go by what was written since the last result. */
  private echoes = false;
  private writtenSinceResult = 0;
  private ending = false;
  /** The previous result's process-wide totals, so each report is this turn's share. */
  private reported: Totals = { input: 0, output: 0, cached: 0, costUsd: 0 };
  /** The last error of this turn, so a result repeating it does not say it twice. */
  private lastError: string | null = null;
  /** File-changing tool calls awaiting their result, by tool_use id. */
  private readonly pendingFiles = new Map<string, { path: string; tool: string }>();

  constructor(private readonly ctx: DriverContext) {}

  line(line: string): void {
    let json: unknown;
    try {
      json = JSON.parse(line);
    } catch {
      this.raw(line);
      return;
    }
    const head = lineSchema.safeParse(json);
    if (!head.success) {
      this.raw(line);
      return;
    }
    try {
      switch (head.data.type) {
        case 'system': {
          this.onSystem(json, line);
          return;
        }
        case 'assistant': {
          this.onAssistant(json, line);
          return;
        }
        case 'user': {
          this.onUser(json, line);
          return;
        }
        case 'result': {
          this.onResult(json, line);
          return;
        }
        case 'rate_limit_event': {
          this.onRateLimit(json, line);
          return;
        }
        // Token-level deltas, only sent with --include-partial-messages (which we do not pass):
        // the whole `assistant` message follows each one, so relaying both would say everything twice.
        case 'stream_event':
          return;
        case 'control_response': {
          this.onControlResponse(json, line);
          return;
        }
        case 'error': {
          this.onErrorLine(json, line);
          return;
        }
        default: {
          this.raw(line);
          return;
        }
      }
    } catch {
      this.raw(line);
    }
  }

  input(text: string): boolean {
    if (this.ending) return false;
    const uuid = randomUUID();
    this.untaken.add(uuid);
    this.writtenSinceResult++;
    this.ctx.write(claudeUserLine(text, uuid));
    return true;
  }

  private onSystem(json: unknown, line: string): void {
    const sys = systemSchema.safeParse(json);
    if (!sys.success) {
      this.raw(line);
      return;
    }
    switch (sys.data.subtype) {
      case 'init':
        break;
      // A running estimate while reasoning streams, one per delta; the reasoning itself comes whole in the assistant message.
      case 'thinking_tokens':
        return;
      case 'api_retry': {
        const r = apiRetrySchema.safeParse(json);
        const detail = r.success
          ? [`attempt ${r.data.attempt ?? '?'} of ${r.data.max_retries ?? '?'}`, r.data.error_status, r.data.error]
              .filter((x) => x !== undefined && x !== null)
              .join(', ')
          : undefined;
        this.status('api_retry', detail && clip(detail, 2000));
        return;
      }
      case 'status': {
        const r = systemStatusSchema.safeParse(json);
        this.status(r.success && r.data.status ? r.data.status : 'status');
        return;
      }
      // compact_boundary, hook_*, task_*, notification…: the CLI's own progress notes, by name.
      default:
        this.status(sys.data.subtype);
        return;
    }
    const init = initSchema.safeParse(json);
    if (!init.success) {
      this.raw(line);
      return;
    }
    const { session_id: id, model, permissionMode } = init.data;
    const detail = [model && `model ${model}`, permissionMode && `permission mode ${permissionMode}`]
      .filter(Boolean)
      .join(', ');
    this.status('init', detail);
    this.sawSessionId(id);
  }

  private onAssistant(json: unknown, line: string): void {
    const msg = assistantSchema.safeParse(json);
    if (!msg.success) {
      this.raw(line);
      return;
    }
    // The CLI's own message when a request failed ("Not logged in", "Prompt is too long"): an error, not model text.
    const failed = typeof msg.data.error === 'string';
    let unknown = false;
    for (const block of msg.data.message.content) {
      const text = textBlock.safeParse(block);
      if (text.success) {
        if (failed) this.error(text.data.text || String(msg.data.error));
        else if (text.data.text) this.event({ kind: 'text', text: text.data.text });
        continue;
      }
      const thinking = thinkingBlock.safeParse(block);
      if (thinking.success) {
        if (thinking.data.thinking) this.event({ kind: 'reasoning', text: thinking.data.thinking });
        continue;
      }
      const tool = toolUseBlock.safeParse(block);
      if (tool.success) {
        const { id, name, input } = tool.data;
        this.event({ kind: 'tool_call', id: clip(id, 256), name: clip(name, 256), input });
        const file = fileTouchedBy(name, input);
        if (file) this.pendingFiles.set(id, file);
        continue;
      }
      if (block.type !== 'redacted_thinking') unknown = true; // encrypted reasoning says nothing readable
    }
    if (unknown) this.raw(line);
  }

  private onUser(json: unknown, line: string): void {
    const msg = userSchema.safeParse(json);
    if (!msg.success) {
      this.raw(line);
      return;
    }
    if (msg.data.isReplay) {
      this.onEcho(msg.data.uuid, msg.data.message.content);
      return;
    }
    const { content } = msg.data.message;
    if (typeof content === 'string') return; // the CLI's own notes in the transcript, not content
    for (const block of content) {
      const r = toolResultBlock.safeParse(block);
      if (!r.success) continue; // text blocks: "[Request interrupted by user]" and the like
      const { tool_use_id: id, is_error: isError } = r.data;
      this.event({
        kind: 'tool_result',
        id: clip(id, 256),
        output: resultText(r.data.content),
        isError: isError === true,
      });
      const file = this.pendingFiles.get(id);
      this.pendingFiles.delete(id);
      if (file && isError !== true) {
        const written = msg.data.tool_use_result as { type?: unknown } | undefined;
        const change = file.tool === 'Write' && written?.type === 'create' ? 'add' : 'modify';
        this.event({ kind: 'file_change', path: clip(file.path, 4096), change });
      }
    }
  }

  /** The CLI took in a user message: ours (by uuid) or, the first time, the plan's prompt. */
  private onEcho(uuid: string | undefined, content: unknown): void {
    this.echoes = true;
    if (uuid && this.untaken.delete(uuid)) {
      this.event({
        kind: 'status',
        status: 'input_taken',
        detail: clip(typeof content === 'string' ? content : resultText(content), 2000),
      });
      return;
    }
    if (this.firstPromptUntaken) this.firstPromptUntaken = false;
  }

  private onResult(json: unknown, line: string): void {
    const r = resultSchema.safeParse(json);
    if (!r.success) {
      this.raw(line);
      return;
    }
    const res = r.data;
    if (res.session_id) this.sawSessionId(res.session_id);
    this.reportUsage(res);
    const detail = [
      res.num_turns !== undefined && `turns ${res.num_turns}`,
      res.duration_ms !== undefined && `${Math.round(res.duration_ms)} ms`,
    ]
      .filter(Boolean)
      .join(', ');
    // Every result ends its turn; a failed one says so by is_error ("success" when not logged in) or an error_* subtype.
    const ended = res.is_error || res.subtype.startsWith('error') ? 'turn_failed' : 'turn_ended';
    this.event(statusEvent(ended, res.subtype, detail));
    const denied = (res.permission_denials ?? []).map((d) => d.tool_name ?? '?');
    if (denied.length > 0)
      this.event({ kind: 'status', status: 'permission_denied', detail: clip(denied.join(', '), 2000) });
    if (res.is_error) {
      const errors = (res.errors ?? []).map((e) => (typeof e === 'string' ? e : JSON.stringify(e)));
      const message =
        res.result ?? (errors.length > 0 ? errors.join('; ') : `claude ended the turn with ${res.subtype}`);
      if (message !== this.lastError) this.error(message);
    }
    this.lastError = null;
    this.maybeEnd();
  }

  /**
   * Usage rule (no double counting): only `result` lines are counted, never
   * an `assistant` line's `message.usage` (a stale snapshot, repeated per
   * content block). A result's `modelUsage` and `total_cost_usd` are totals
   * for the whole process, every model included (subagents, side queries),
   * so each report is the difference from the previous result of this
   * process: one `session.meta` usage per turn, which the control plane adds
   * up. Without `modelUsage` the turn's own `usage` is reported as is.
   */
  private reportUsage(res: z.infer<typeof resultSchema>): void {
    const totals = totalsOf(res);
    let usage: Usage;
    if (totals) {
      const prev = this.reported;
      usage = {
        input: Math.max(0, totals.input - prev.input),
        output: Math.max(0, totals.output - prev.output),
        cached: Math.max(0, totals.cached - prev.cached),
      };
      const cost = Math.max(0, totals.costUsd - prev.costUsd);
      if (res.total_cost_usd !== undefined) usage.costUsd = Math.round(cost * 1e9) / 1e9;
      this.reported = totals;
    } else {
      if (!res.usage) return;
      const u = res.usage;
      usage = {
        input: u.input_tokens + u.cache_creation_input_tokens,
        output: u.output_tokens,
        cached: u.cache_read_input_tokens,
      };
      if (res.total_cost_usd !== undefined) {
        usage.costUsd = Math.round(Math.max(0, res.total_cost_usd - this.reported.costUsd) * 1e9) / 1e9;
        this.reported = { ...this.reported, costUsd: res.total_cost_usd };
      }
    }
    if (usage.input + usage.output + usage.cached === 0 && !usage.costUsd) return;
    this.ctx.meta({ usage });
  }

  /** After a result: end the process unless the CLI still holds input of ours for another turn. */
  private maybeEnd(): void {
    const busy = this.echoes ? this.untaken.size > 0 || this.firstPromptUntaken : this.writtenSinceResult > 0;
    this.writtenSinceResult = 0;
    if (busy || this.ending) return;
    this.ending = true;
    this.ctx.write(
      `${JSON.stringify({ type: 'control_request', request_id: END_REQUEST_ID, request: { subtype: 'end_session' } })}\n`,
    );
  }

  private onRateLimit(json: unknown, line: string): void {
    const r = rateLimitSchema.safeParse(json);
    if (!r.success) {
      this.raw(line);
      return;
    }
    const { status, resetsAt, rateLimitType } = r.data.rate_limit_info;
    const parts = [
      status,
      rateLimitType,
      resetsAt !== undefined && `resets ${new Date(resetsAt * 1000).toISOString()}`,
    ].filter(Boolean);
    this.event(statusEvent('rate_limit', status, clip(parts.join(', '), 2000)));
  }

  /** A bare `{"type":"error"}` line (not in the SDK's parser, but an error by any reading): its message, else raw. */
  private onErrorLine(json: unknown, line: string): void {
    const e = errorLineSchema.safeParse(json);
    const message = e.success
      ? typeof e.data.error === 'string'
        ? e.data.error
        : (e.data.error?.message ?? e.data.message)
      : undefined;
    if (message) this.error(message);
    else this.raw(line);
  }

  private onControlResponse(json: unknown, line: string): void {
    const r = controlResponseSchema.safeParse(json);
    if (r.success && r.data.response.request_id === END_REQUEST_ID) return; // our end_session, acknowledged
    this.raw(line);
  }

  private sawSessionId(id: string): void {
    if (id === this.sessionId) return;
    this.sessionId = id;
    this.ctx.meta({ harnessSessionId: id });
  }

  private event(e: SessionEvent): void {
    this.ctx.event(e);
  }

  /** A status for one of Claude's own words, by {@link CLAUDE_STATUS_WORDS}. */
  private status(word: string, detail?: string): void {
    this.event(wordStatusEvent(CLAUDE_STATUS_WORDS, word, detail));
  }

  private error(message: string): void {
    this.lastError = message;
    this.event({ kind: 'error', message: clip(message, 4000) });
  }

  private raw(line: string): void {
    this.ctx.event({ kind: 'raw', line });
  }
}
