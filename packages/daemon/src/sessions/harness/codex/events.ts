import { z } from 'zod';
import type { SessionEvent, StatusWords, Usage } from '@fabric/protocol';
import { statusEvent, wordStatusEvent } from '../status.js';
import type { DriverContext, HarnessDriver } from '../types.js';

/**
 * `codex exec --json` output, one JSON object a line, mapped onto Fabric's session events.
 * The full account: docs/harnesses/codex.md.
 */

/**
 * The codex words reported as status (event and item types) as Fabric
 * statuses. Two read more than the word: a top-level `error` that says
 * "Reconnecting..." is `retrying` (other errors are errors), and a
 * `file_change` that did not complete is `file_change_failed` with its item
 * status as the word.
 */
export const CODEX_STATUS_WORDS: StatusWords = {
  'turn.started': 'turn_started',
  todo_list: 'plan',
  error: 'warning', // an error item
};

const count = z.number().int().nonnegative();
const itemSchema = z.looseObject({ id: z.string().max(256), type: z.string() });
const threadStarted = z.looseObject({ thread_id: z.string().min(1).max(256) });
const itemEvent = z.looseObject({ item: itemSchema });
const messageSchema = z.looseObject({ message: z.string() });
const turnFailed = z.looseObject({ error: messageSchema });
const turnCompleted = z.looseObject({
  usage: z.looseObject({ input_tokens: count, cached_input_tokens: count.default(0), output_tokens: count }),
});

const textItem = z.looseObject({ text: z.string() });
const commandItem = z.looseObject({
  command: z.string(),
  aggregated_output: z.string().default(''),
  exit_code: z.number().int().nullish(),
  status: z.string().default('in_progress'),
});
const fileChangeItem = z.looseObject({
  changes: z.array(z.looseObject({ path: z.string(), kind: z.string() })),
  status: z.string().default('completed'),
});
const mcpItem = z.looseObject({
  server: z.string(),
  tool: z.string(),
  arguments: z.unknown().optional(),
  result: z
    .looseObject({ content: z.array(z.unknown()).default([]), structured_content: z.unknown().optional() })
    .nullish(),
  error: messageSchema.nullish(),
  status: z.string().default('in_progress'),
});
const webSearchItem = z.looseObject({ query: z.string().default(''), action: z.unknown().optional() });
const todoItem = z.looseObject({ items: z.array(z.looseObject({ text: z.string(), completed: z.boolean() })) });

/** Cumulative thread totals, as codex reports them on `turn.completed`. */
export interface CodexTotals {
  input: number;
  cached: number;
  output: number;
}

/**
 * What the drivers of one adapter remember across processes: each thread's
 * last reported total, so a resumed turn reports only its own tokens. Kept
 * for the most recent threads only; a thread this daemon has not seen (after
 * a restart, or started elsewhere) reports codex's total as it is.
 */
export class CodexThreadTotals {
  private readonly totals = new Map<string, CodexTotals>();
  constructor(private readonly max = 500) {}

  /** This turn's share of `now`, remembering `now` as the thread's total. */
  delta(threadId: string | null, now: CodexTotals): CodexTotals {
    const prev = threadId ? this.totals.get(threadId) : undefined;
    if (threadId) {
      this.totals.delete(threadId);
      this.totals.set(threadId, now);
      if (this.totals.size > this.max) this.totals.delete(this.totals.keys().next().value!);
    }
    if (!prev || now.input < prev.input || now.output < prev.output || now.cached < prev.cached) return now;
    return { input: now.input - prev.input, cached: now.cached - prev.cached, output: now.output - prev.output };
  }
}

const clip = (s: string, max: number) => (s.length > max ? `${s.slice(0, max - 1)}…` : s);
const fileChangeKinds: Record<string, 'add' | 'delete' | 'modify'> = { add: 'add', delete: 'delete', update: 'modify' };

/** Text of an MCP result's content blocks; non-text blocks as `[type]`. */
function mcpResultText(content: unknown[]): string {
  return content
    .map((b) => {
      const t = z.looseObject({ type: z.literal('text'), text: z.string() }).safeParse(b);
      if (t.success) return t.data.text;
      const typed = z.looseObject({ type: z.string() }).safeParse(b);
      return typed.success ? `[${typed.data.type}]` : '';
    })
    .filter(Boolean)
    .join('\n');
}

/**
 * One `codex exec` process. `line` never throws: a line it cannot read, or
 * of a type it does not know, becomes a `raw` event. `input` always returns
 * false: exec reads its prompt once, so follow-ups become a resumed turn.
 */
export class CodexExecDriver implements HarnessDriver {
  private threadId: string | null = null;
  /** Items whose tool_call went out (started), and items fully reported (completed). */
  private readonly called = new Set<string>();
  private readonly done = new Set<string>();
  /** The last checklist shown per todo_list item, so unchanged updates stay silent. */
  private readonly todos = new Map<string, string>();
  private lastError: string | null = null;

  constructor(
    private readonly ctx: DriverContext,
    private readonly totals: CodexThreadTotals,
  ) {}

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
    const head = z.looseObject({ type: z.string() }).safeParse(json);
    if (!head.success || !this.handle(head.data.type, json)) this.raw(line);
  }

  /** False when the line is not one this driver understands. */
  private handle(type: string, json: unknown): boolean {
    switch (type) {
      case 'thread.started': {
        const t = threadStarted.safeParse(json);
        if (!t.success) return false;
        if (t.data.thread_id !== this.threadId) {
          this.threadId = t.data.thread_id;
          this.ctx.meta({ harnessSessionId: t.data.thread_id });
        }
        return true;
      }
      case 'turn.started':
        this.event(wordStatusEvent(CODEX_STATUS_WORDS, type));
        return true;
      case 'turn.completed': {
        const t = turnCompleted.safeParse(json);
        if (!t.success) return false;
        const u = t.data.usage;
        const share = this.totals.delta(this.threadId, {
          input: u.input_tokens,
          cached: Math.min(u.cached_input_tokens, u.input_tokens),
          output: u.output_tokens,
        });
        // Fabric's `input` is what was read at full price, `cached` the cache reads (as for the other adapters).
        const usage: Usage = {
          input: Math.max(0, share.input - share.cached),
          output: share.output,
          cached: share.cached,
        };
        if (usage.input + usage.output + usage.cached > 0) this.ctx.meta({ usage });
        return true;
      }
      case 'turn.failed': {
        const t = turnFailed.safeParse(json);
        if (!t.success) return false;
        // The same message was usually just printed as a top-level `error`.
        if (t.data.error.message !== this.lastError) this.error(t.data.error.message);
        this.lastError = null;
        return true;
      }
      case 'error': {
        const t = messageSchema.safeParse(json);
        if (!t.success) return false;
        if (t.data.message.startsWith('Reconnecting...')) {
          this.event(statusEvent('retrying', type, clip(t.data.message, 2000)));
        } else {
          this.error(t.data.message);
          this.lastError = t.data.message;
        }
        return true;
      }
      case 'item.started':
      case 'item.updated':
      case 'item.completed': {
        const t = itemEvent.safeParse(json);
        if (!t.success) return false;
        return this.item(
          type === 'item.completed' ? 'completed' : type === 'item.started' ? 'started' : 'updated',
          t.data.item,
        );
      }
      default:
        return false;
    }
  }

  private item(phase: 'started' | 'updated' | 'completed', item: z.infer<typeof itemSchema>): boolean {
    const id = item.id;
    if (this.done.has(id) && item.type !== 'todo_list') return true; // already reported in full
    switch (item.type) {
      case 'agent_message':
      case 'reasoning': {
        const t = textItem.safeParse(item);
        if (!t.success) return false;
        if (phase !== 'completed') return true; // printed once, complete; an earlier partial copy would repeat
        this.done.add(id);
        if (t.data.text) this.event({ kind: item.type === 'agent_message' ? 'text' : 'reasoning', text: t.data.text });
        return true;
      }
      case 'command_execution': {
        const t = commandItem.safeParse(item);
        if (!t.success) return false;
        this.call(id, 'shell', { command: t.data.command });
        if (phase !== 'completed') return true;
        this.done.add(id);
        const failed = t.data.status !== 'completed' || (t.data.exit_code ?? 0) !== 0;
        const output = t.data.aggregated_output || (t.data.status === 'declined' ? 'declined' : '');
        this.event({ kind: 'tool_result', id: clip(id, 256), output, isError: failed });
        return true;
      }
      case 'mcp_tool_call': {
        const t = mcpItem.safeParse(item);
        if (!t.success) return false;
        this.call(id, `mcp__${t.data.server}__${t.data.tool}`, t.data.arguments ?? {});
        if (phase !== 'completed') return true;
        this.done.add(id);
        const output = t.data.error?.message ?? mcpResultText(t.data.result?.content ?? []);
        this.event({
          kind: 'tool_result',
          id: clip(id, 256),
          output,
          isError: t.data.status === 'failed' || Boolean(t.data.error),
        });
        return true;
      }
      case 'web_search': {
        const t = webSearchItem.safeParse(item);
        if (!t.success) return false;
        this.call(id, 'web_search', { query: t.data.query, action: t.data.action });
        if (phase !== 'completed') return true;
        this.done.add(id);
        this.event({ kind: 'tool_result', id: clip(id, 256), output: '', isError: false });
        return true;
      }
      case 'file_change': {
        const t = fileChangeItem.safeParse(item);
        if (!t.success) return false;
        if (phase !== 'completed') return true; // the same changes are printed again once applied (or not)
        this.done.add(id);
        if (t.data.status !== 'completed') {
          const paths = clip(t.data.changes.map((c) => c.path).join(', '), 2000);
          this.event(statusEvent('file_change_failed', t.data.status, paths));
          return true;
        }
        for (const c of t.data.changes)
          this.event({ kind: 'file_change', path: clip(c.path, 4096), change: fileChangeKinds[c.kind] ?? 'modify' });
        return true;
      }
      case 'todo_list': {
        const t = todoItem.safeParse(item);
        if (!t.success) return false;
        const detail = clip(t.data.items.map((s) => `[${s.completed ? 'x' : ' '}] ${s.text}`).join('\n'), 2000);
        if (this.todos.get(id) !== detail) this.event(wordStatusEvent(CODEX_STATUS_WORDS, item.type, detail));
        this.todos.set(id, detail);
        return true;
      }
      case 'error': {
        const t = messageSchema.safeParse(item);
        if (!t.success) return false;
        if (phase !== 'completed') return true;
        this.done.add(id);
        this.event(wordStatusEvent(CODEX_STATUS_WORDS, item.type, clip(t.data.message, 2000)));
        return true;
      }
      default:
        return false;
    }
  }

  /** A tool_call once per item: on its start, or on its completion when it never started. */
  private call(id: string, name: string, input: unknown): void {
    if (this.called.has(id)) return;
    this.called.add(id);
    this.event({ kind: 'tool_call', id: clip(id, 256), name: clip(name, 256), input });
  }

  private error(message: string): void {
    this.event({ kind: 'error', message: clip(message, 4000) });
  }

  private event(e: SessionEvent): void {
    this.ctx.event(e);
  }

  private raw(line: string): void {
    this.ctx.event({ kind: 'raw', line });
  }
}
