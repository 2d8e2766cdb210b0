import { z } from 'zod';
import type { SessionEvent, StatusWords, Usage } from '@fabric/protocol';
import { wordStatusEvent } from '../status.js';
import type { DriverContext, HarnessDriver } from '../types.js';

/**
 * `opencode run --format json` output mapped onto Fabric's session events.
 * The full account: docs/harnesses/opencode.md.
 */

/**
 * The opencode line types reported as status, as Fabric statuses. A step is
 * one model call, several to a turn. (Refused permissions, read from `done`,
 * are `permission_denied`: Fabric's reading, not a word of opencode's.)
 */
export const OPENCODE_STATUS_WORDS: StatusWords = {
  step_start: 'step_started',
};

const count = z.number().nonnegative();
const lineSchema = z.looseObject({ type: z.string(), sessionID: z.string().min(1).max(256).optional() });
const partLine = z.looseObject({ part: z.looseObject({ id: z.string().optional() }) });
const textPart = z.looseObject({ part: z.looseObject({ id: z.string().optional(), text: z.string() }) });
const toolPart = z.looseObject({
  part: z.looseObject({
    id: z.string().optional(),
    callID: z.string().optional(),
    tool: z.string(),
    state: z.looseObject({
      status: z.string(),
      input: z.unknown().optional(),
      output: z.string().optional(),
      error: z.string().optional(),
      metadata: z.record(z.string(), z.unknown()).optional(),
    }),
  }),
});
const stepFinish = z.looseObject({
  part: z.looseObject({
    id: z.string().optional(),
    cost: count.optional(),
    tokens: z.looseObject({
      input: count,
      output: count,
      reasoning: count.default(0),
      cache: z.looseObject({ read: count.default(0), write: count.default(0) }).default({ read: 0, write: 0 }),
    }),
  }),
});
const errorLine = z.looseObject({
  error: z.looseObject({
    name: z.string().optional(),
    data: z.looseObject({ message: z.string().optional() }).optional(),
  }),
});
const doneLine = z.looseObject({ reason: z.string().optional(), rejected: z.array(z.string()).default([]) });

const filePathInput = z.looseObject({ filePath: z.string() });
const writeMeta = z.looseObject({ exists: z.boolean().optional() });
const patchMeta = z.looseObject({
  files: z.array(z.looseObject({ filePath: z.string(), type: z.string(), movePath: z.string().optional() })),
});
const bashMeta = z.looseObject({ exit: z.number().nullish() });

const clip = (s: string, max: number) => (s.length > max ? `${s.slice(0, max - 1)}…` : s);
const int = (n: number) => Math.max(0, Math.round(n));
const patchKinds: Record<string, 'add' | 'modify' | 'delete' | 'rename'> = {
  add: 'add',
  update: 'modify',
  delete: 'delete',
  move: 'rename',
};

type FileChange = Extract<SessionEvent, { kind: 'file_change' }>;

/** The files a finished tool call changed, where the tool says so. */
export function opencodeFileChanges(
  tool: string,
  input: unknown,
  metadata: Record<string, unknown> | undefined,
): FileChange[] {
  const path = filePathInput.safeParse(input);
  switch (tool) {
    case 'write': {
      if (!path.success) return [];
      const exists = writeMeta.safeParse(metadata ?? {});
      return [
        {
          kind: 'file_change',
          path: path.data.filePath,
          change: exists.success && exists.data.exists === false ? 'add' : 'modify',
        },
      ];
    }
    case 'edit':
    case 'multiedit':
      return path.success ? [{ kind: 'file_change', path: path.data.filePath, change: 'modify' }] : [];
    case 'apply_patch':
    case 'patch': {
      const files = patchMeta.safeParse(metadata ?? {});
      if (!files.success) return [];
      return files.data.files.map((f) => ({
        kind: 'file_change',
        path: f.movePath ?? f.filePath,
        change: patchKinds[f.type] ?? 'modify',
      }));
    }
    default:
      return [];
  }
}

/**
 * One `opencode run` process. `line` never throws: a line it cannot read, or
 * of a type it does not know, becomes a `raw` event. `input` always returns
 * false: run mode reads its whole prompt from stdin before it starts, so
 * follow-ups become a resumed turn (`--session <id>`).
 */
export class OpencodeRunDriver implements HarnessDriver {
  private sessionId: string | null = null;
  /** Parts already shown (text/reasoning by part id) and tool calls by call id. */
  private readonly shown = new Set<string>();
  private readonly called = new Set<string>();
  private readonly finished = new Set<string>();
  private readonly counted = new Set<string>();

  constructor(private readonly ctx: DriverContext) {}

  input(): boolean {
    return false;
  }

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
    // The first id is the session's: run.ts prints only its own session's parts, and resuming needs that one.
    if (head.data.sessionID && this.sessionId === null) {
      this.sessionId = head.data.sessionID;
      this.ctx.meta({ harnessSessionId: head.data.sessionID });
    }
    if (!this.handle(head.data.type, json)) this.raw(line);
  }

  /** False when the line is not one this driver understands. */
  private handle(type: string, json: unknown): boolean {
    switch (type) {
      case 'step_start':
        if (!partLine.safeParse(json).success) return false;
        this.event(wordStatusEvent(OPENCODE_STATUS_WORDS, type));
        return true;
      case 'text':
      case 'reasoning': {
        const t = textPart.safeParse(json);
        if (!t.success) return false;
        const key = t.data.part.id ? `${type}:${t.data.part.id}` : null;
        if (key && this.shown.has(key)) return true;
        if (key) this.shown.add(key);
        if (t.data.part.text.trim()) this.event({ kind: type, text: t.data.part.text });
        return true;
      }
      case 'tool_use':
        return this.tool(json);
      case 'step_finish': {
        const t = stepFinish.safeParse(json);
        if (!t.success) return false;
        if (t.data.part.id && this.counted.has(t.data.part.id)) return true;
        if (t.data.part.id) this.counted.add(t.data.part.id);
        const k = t.data.part.tokens;
        // Fabric's `input` is what was read at full or cache-write price, `cached` the cache reads,
        // `output` everything generated (reasoning included), as for the other adapters. One step, one delta.
        const usage: Usage = {
          input: int(k.input + k.cache.write),
          output: int(k.output + k.reasoning),
          cached: int(k.cache.read),
        };
        if (t.data.part.cost !== undefined) usage.costUsd = t.data.part.cost;
        if (usage.input + usage.output + usage.cached > 0 || (usage.costUsd ?? 0) > 0) this.ctx.meta({ usage });
        return true;
      }
      case 'error': {
        const t = errorLine.safeParse(json);
        if (!t.success) return false;
        const message = t.data.error.data?.message ?? t.data.error.name ?? 'opencode reported an error';
        this.event({ kind: 'error', message: clip(message, 4000) });
        return true;
      }
      case 'done': {
        const t = doneLine.safeParse(json);
        if (!t.success) return false;
        if (t.data.rejected.length > 0)
          this.event({ kind: 'status', status: 'permission_denied', detail: clip(t.data.rejected.join(', '), 2000) });
        return true;
      }
      default:
        return false;
    }
  }

  private tool(json: unknown): boolean {
    const t = toolPart.safeParse(json);
    if (!t.success) return false;
    const { part } = t.data;
    const id = clip(part.callID ?? part.id ?? '', 256);
    if (!id) return false;
    if (!this.called.has(id)) {
      this.called.add(id);
      this.event({ kind: 'tool_call', id, name: clip(part.tool, 256), input: part.state.input ?? {} });
    }
    const { status, output, error, metadata } = part.state;
    if ((status !== 'completed' && status !== 'error') || this.finished.has(id)) return true;
    this.finished.add(id);
    const exit = part.tool === 'bash' ? bashMeta.safeParse(metadata ?? {}) : null;
    const failedExit = exit?.success === true && typeof exit.data.exit === 'number' && exit.data.exit !== 0;
    this.event({
      kind: 'tool_result',
      id,
      output: status === 'error' ? (error ?? output ?? '') : (output ?? ''),
      isError: status === 'error' || failedExit,
    });
    if (status === 'completed') {
      for (const change of opencodeFileChanges(part.tool, part.state.input, metadata))
        this.event({ ...change, path: clip(change.path, 4096) });
    }
    return true;
  }

  private event(e: SessionEvent): void {
    this.ctx.event(e);
  }

  private raw(line: string): void {
    this.ctx.event({ kind: 'raw', line });
  }
}
