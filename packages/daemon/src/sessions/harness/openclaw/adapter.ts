import { FabricError, type SessionEventStatus, type SessionStartPayload, type StatusWords } from '@fabric/protocol';
import { z } from 'zod';
import { detectCli } from '../detect.js';
import {
  nodeOpenClawHost,
  openclawMcpSetup,
  writeOpenClawMcpFile,
  type OpenClawHost,
  type OpenClawMcpFile,
} from './mcp.js';
import { statusEvent, wordStatusEvent } from '../status.js';
import type { DriverContext, HarnessAdapter, HarnessDriver, PlanContext, SpawnPlan } from '../types.js';

/**
 * OpenClaw (`openclaw`, openclaw/openclaw) as a one-shot CLI.
 * The full account: docs/harnesses/openclaw.md.
 */
export interface OpenClawHarnessOptions {
  /**
   * A directory of the daemon's own (created 0700) for the config file that
   * adds the daemon's MCP server. Without it, sessions run without that server.
   */
  mcpConfigDir?: string;
  /** Which files exist, for finding the user's config; the real file system by default. */
  host?: OpenClawHost;
  /** Writes that file before the turn starts; `writeOpenClawMcpFile` by default. */
  writeFile?: (file: OpenClawMcpFile) => void;
}

/**
 * A gateway response's `status` (server-methods/agent.ts) as a Fabric status.
 * An "ok" run is still read from its meta (an error or an abort in it wins);
 * a local run has no status word, only that meta.
 */
export const OPENCLAW_STATUS_WORDS: StatusWords = {
  ok: 'turn_ended',
  error: 'turn_failed',
  timeout: 'turn_failed',
};

export function createOpenClawHarness(opts: OpenClawHarnessOptions = {}): HarnessAdapter {
  const host = opts.host ?? nodeOpenClawHost;
  const writeFile = opts.writeFile ?? writeOpenClawMcpFile;
  return {
    name: 'openclaw',

    detect() {
      return detectCli('openclaw', 'openclaw');
    },

    /**
     * Pure apart from the MCP config file: with `ctx.mcp` and a
     * `mcpConfigDir`, the file (which holds no secret) is written before the
     * plan is returned; a failure to write refuses the turn (`spawn_failed`).
     */
    plan(start: SessionStartPayload, ctx: PlanContext): SpawnPlan {
      if (start.prompt.trim() === '')
        throw new FabricError('bad_request', 'openclaw needs a message: the prompt is empty');
      const harnessSessionId = start.resume ?? `fabric-${start.sessionId}`;
      const args = ['agent', '--local', '--json', '--session-id', harnessSessionId];
      if (start.model) args.push('--model', start.model);
      // Commander takes the next argv entry as a required option's value, even one starting with "-".
      args.push('--message', start.prompt);
      const env = { ...ctx.baseEnv, ...ctx.credentials };
      const setup = ctx.mcp && opts.mcpConfigDir ? openclawMcpSetup(ctx.mcp, env, opts.mcpConfigDir, host) : null;
      if (ctx.mcp && setup) {
        try {
          writeFile(setup.file);
        } catch (err) {
          throw new FabricError(
            'spawn_failed',
            `could not write the openclaw mcp config ${setup.file.path} (${(err as NodeJS.ErrnoException).code ?? 'error'}); check that the daemon's data directory is writable`,
          );
        }
        Object.assign(env, setup.env, ctx.mcp.env);
      }
      // The id is ours, so it is known (and recorded for resume) before OpenClaw prints anything.
      return { command: 'openclaw', args, env, closeStdin: true, harnessSessionId };
    },

    driver(ctx) {
      return createOpenClawDriver(ctx);
    },
  };
}

/** The adapter without a config directory: sessions run without the daemon's MCP server. */
export const openclawHarness: HarnessAdapter = createOpenClawHarness();

const count = z.number().int().nonnegative();
const payloadSchema = z.object({
  text: z.string().nullish(),
  mediaUrl: z.string().nullish(),
  mediaUrls: z.array(z.string()).nullish(),
  isError: z.boolean().nullish(),
  isReasoning: z.boolean().nullish(),
});
const metaSchema = z.object({
  aborted: z.boolean().nullish(),
  error: z.object({ kind: z.string(), message: z.string() }).nullish(),
  agentMeta: z
    .object({
      sessionId: z.string().nullish(),
      usage: z
        .object({
          input: count.nullish(),
          output: count.nullish(),
          cacheRead: count.nullish(),
          cacheWrite: count.nullish(),
        })
        .nullish(),
    })
    .nullish(),
});
const runResultSchema = z.object({ payloads: z.array(z.unknown()).nullish(), meta: z.unknown().optional() });
const gatewayResponseSchema = z.object({
  runId: z.string().nullish(),
  status: z.string(),
  summary: z.string().nullish(),
  result: z.unknown().optional(),
});

/** Past this much buffered output that never closed as JSON, the lines are given up as raw. */
const MAX_PENDING_CHARS = 16 * 1024 * 1024;

export interface OpenClawDriver extends HarnessDriver {
  /** Give up what is still buffered (an unfinished JSON value) as raw lines; call when stdout ends. */
  end(): void;
}

export function createOpenClawDriver(ctx: DriverContext): OpenClawDriver {
  return new OpenClawJson(ctx);
}

/**
 * Reads `openclaw agent --json` stdout: lines are gathered from one that
 * starts with `{` until the braces balance (strings respected), then parsed
 * as the final result. Other lines (logs of older releases, which printed
 * them on stdout) are raw events; so is a gathered value that does not parse
 * or is not a result. A new `{` at column 0 while gathering restarts: a
 * pretty-printed value's inner lines are indented. `line` never throws.
 */
class OpenClawJson implements OpenClawDriver {
  private pending: string[] = [];
  private pendingChars = 0;
  private depth = 0;
  private inString = false;
  private escaped = false;
  private sessionId: string | null = null;

  constructor(private readonly ctx: DriverContext) {}

  line(line: string): void {
    if (this.pending.length > 0 && line.startsWith('{')) this.giveUp();
    if (this.pending.length === 0 && !line.trimStart().startsWith('{')) {
      this.ctx.event({ kind: 'raw', line });
      return;
    }
    this.pending.push(line);
    this.pendingChars += line.length + 1;
    this.scan(line);
    if (this.depth === 0) this.complete();
    else if (this.depth < 0 || this.pendingChars > MAX_PENDING_CHARS) this.giveUp();
  }

  /** One-shot: input waits for the next turn. */
  input(): boolean {
    return false;
  }

  end(): void {
    if (this.pending.length > 0) this.giveUp();
  }

  private scan(line: string): void {
    for (const ch of line) {
      if (this.inString) {
        if (this.escaped) this.escaped = false;
        else if (ch === '\\') this.escaped = true;
        else if (ch === '"') this.inString = false;
      } else if (ch === '"') this.inString = true;
      else if (ch === '{' || ch === '[') this.depth++;
      else if (ch === '}' || ch === ']') this.depth--;
    }
  }

  private complete(): void {
    const lines = this.reset();
    let value: unknown;
    try {
      value = JSON.parse(lines.join('\n'));
    } catch {
      value = undefined;
    }
    if (!this.handle(value)) for (const line of lines) this.ctx.event({ kind: 'raw', line });
  }

  private giveUp(): void {
    for (const line of this.reset()) this.ctx.event({ kind: 'raw', line });
  }

  private reset(): string[] {
    const lines = this.pending;
    this.pending = [];
    this.pendingChars = 0;
    this.depth = 0;
    this.inString = false;
    this.escaped = false;
    return lines;
  }

  /** Emit a result value's events; false when `value` is not a result. */
  private handle(value: unknown): boolean {
    const gateway = gatewayResponseSchema.safeParse(value);
    if (gateway.success && (gateway.data.runId || gateway.data.result !== undefined)) {
      const result = runResultSchema.safeParse(gateway.data.result);
      const meta = result.success ? this.result(result.data.payloads ?? [], result.data.meta) : null;
      if (gateway.data.status === 'ok') this.runStatus(meta, gateway.data.status);
      else this.gatewayStatus(gateway.data.status, gateway.data.summary ?? null);
      return true;
    }
    const local = runResultSchema.safeParse(value);
    if (!local.success || (local.data.payloads == null && local.data.meta === undefined)) return false;
    this.runStatus(this.result(local.data.payloads ?? [], local.data.meta), null);
    return true;
  }

  /** A finished run's outcome, from its meta: an error, an abort, or done; `word` is the gateway's status, if any. */
  private runStatus(meta: z.infer<typeof metaSchema> | null, word: string | null): void {
    if (meta?.error)
      this.ctx.event({ kind: 'error', message: `${meta.error.kind}: ${meta.error.message}`.slice(0, 4000) });
    const outcome: SessionEventStatus = meta?.error ? 'turn_failed' : meta?.aborted ? 'interrupted' : 'turn_ended';
    this.ctx.event(statusEvent(outcome, word));
  }

  /** Payloads as content events, then usage and the session id as metadata. */
  private result(payloads: unknown[], rawMeta: unknown): z.infer<typeof metaSchema> | null {
    for (const p of payloads) {
      const parsed = payloadSchema.safeParse(p);
      if (!parsed.success) {
        // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- JSON.stringify returns undefined for undefined
        this.ctx.event({ kind: 'raw', line: JSON.stringify(p) ?? String(p) });
        continue;
      }
      const { text, mediaUrl, mediaUrls, isError, isReasoning } = parsed.data;
      const media = mediaUrls?.length ? mediaUrls : mediaUrl ? [mediaUrl] : [];
      const body = [text ?? '', ...media.map((url) => `Attachment: ${url}`)].filter((s) => s !== '').join('\n');
      if (body === '') continue;
      if (isError) this.ctx.event({ kind: 'error', message: body.slice(0, 4000) });
      else this.ctx.event({ kind: isReasoning ? 'reasoning' : 'text', text: body });
    }
    const meta = metaSchema.safeParse(rawMeta);
    if (!meta.success) return null;
    const agent = meta.data.agentMeta;
    const u = agent?.usage;
    // Like Kimi's: input is what was read at full or cache-write price, cached the cache reads (pi-ai usage.input excludes both).
    if (u && (u.input != null || u.output != null)) {
      this.ctx.meta({
        usage: { input: (u.input ?? 0) + (u.cacheWrite ?? 0), output: u.output ?? 0, cached: u.cacheRead ?? 0 },
      });
    }
    if (agent?.sessionId && agent.sessionId !== this.sessionId) {
      this.sessionId = agent.sessionId;
      this.ctx.meta({ harnessSessionId: agent.sessionId });
    }
    return meta.data;
  }

  /** A gateway response that is not "ok": "error" | "timeout" (server-methods/agent.ts), or one newer than this adapter. */
  private gatewayStatus(status: string, summary: string | null): void {
    if (status === 'error' || status === 'timeout') {
      this.ctx.event({
        kind: 'error',
        message: `openclaw run ${status === 'timeout' ? 'timed out' : 'failed'}${summary ? `: ${summary}` : ''}`.slice(
          0,
          4000,
        ),
      });
      this.ctx.event(wordStatusEvent(OPENCLAW_STATUS_WORDS, status));
      return;
    }
    this.ctx.event(wordStatusEvent(OPENCLAW_STATUS_WORDS, status, summary ?? undefined));
  }
}
