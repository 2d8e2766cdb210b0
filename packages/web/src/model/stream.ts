import { type SessionEvent, type SessionEventStatus, type StreamEvent } from '@fabric/protocol';
import { editsOf } from './tools.js';

/** What the session screen draws, in order. Consecutive output chunks are merged. */
export type Item =
  | { kind: 'output'; stream: 'stdout' | 'stderr'; text: string; seq: number }
  | { kind: 'text'; text: string; seq: number }
  | { kind: 'reasoning'; text: string; seq: number }
  | {
      kind: 'tool';
      id: string;
      name: string;
      input: unknown;
      result: { output: string; isError: boolean } | null;
      /** File changes the harness reported for this call (so they are not listed twice). */
      files: { path: string; change: string }[];
      seq: number;
    }
  | { kind: 'file'; path: string; change: string; seq: number }
  | {
      kind: 'approval';
      requestId: string;
      summary: string;
      tool: string;
      input: unknown;
      decision: 'allow' | 'deny' | null;
      reason: string | null;
      expiresAt: number | null;
      seq: number;
    }
  | { kind: 'input'; text: string; seq: number }
  | {
      kind: 'status';
      /** A session's lifecycle status, `error`, or a harness's status event's shared status. */
      status: string;
      /** The harness's own word for a status event's status, when it sent one. */
      harnessStatus: string | null;
      message: string | null;
      error: boolean;
      seq: number;
    }
  | { kind: 'exit'; code: number | null; signal: string | null; status: string | null; seq: number };

/** Harness markers that say nothing a reader needs when they carry no detail (turns and steps begin and end). */
const QUIET_STATUSES: ReadonlySet<SessionEventStatus> = new Set(['init', 'turn_started', 'step_started', 'turn_ended']);

/**
 * Fold stored events into display items. Pure: the same events give the same
 * items, so the screen can re-render from scratch after a reconnect. Tool
 * results attach to their call; approval decisions to their request; usage
 * and harness ids are metadata the fuel meter shows, not the stream.
 */
export function toItems(events: readonly StreamEvent[]): Item[] {
  const items: Item[] = [];
  const tools = new Map<string, Extract<Item, { kind: 'tool' }>>();
  const approvals = new Map<string, Extract<Item, { kind: 'approval' }>>();
  for (const e of events) {
    const last = items[items.length - 1];
    switch (e.kind) {
      case 'stdout':
      case 'stderr':
        if (last?.kind === 'output' && last.stream === e.kind) last.text += e.data;
        else items.push({ kind: 'output', stream: e.kind, text: e.data, seq: e.seq });
        break;
      case 'input':
        items.push({ kind: 'input', text: e.data, seq: e.seq });
        break;
      case 'event': {
        // An object as the control plane read it (a status an older daemon sent reads in the current shape).
        const ev: SessionEvent = e.data;
        // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- SSE data is not re-validated here
        if (typeof ev !== 'object' || ev === null) break;
        if (ev.kind === 'text') {
          if (last?.kind === 'text')
            last.text += ev.text.startsWith('\n') || last.text.endsWith('\n') ? ev.text : `\n\n${ev.text}`;
          else items.push({ kind: 'text', text: ev.text, seq: e.seq });
        } else if (ev.kind === 'reasoning') items.push({ kind: 'reasoning', text: ev.text, seq: e.seq });
        else if (ev.kind === 'tool_call') {
          const item: Extract<Item, { kind: 'tool' }> = {
            kind: 'tool',
            id: ev.id,
            name: ev.name,
            input: ev.input,
            result: null,
            files: [],
            seq: e.seq,
          };
          tools.set(ev.id, item);
          items.push(item);
        } else if (ev.kind === 'tool_result') {
          const call = tools.get(ev.id);
          if (call) call.result = { output: ev.output, isError: ev.isError };
          else
            items.push({
              kind: 'tool',
              id: ev.id,
              name: 'tool',
              input: null,
              result: { output: ev.output, isError: ev.isError },
              files: [],
              seq: e.seq,
            });
        } else if (ev.kind === 'file_change') {
          const call = editingCall(items, ev.path);
          if (call) call.files.push({ path: ev.path, change: ev.change });
          else items.push({ kind: 'file', path: ev.path, change: ev.change, seq: e.seq });
        } else if (ev.kind === 'error')
          items.push({
            kind: 'status',
            status: 'error',
            harnessStatus: null,
            message: ev.message,
            error: true,
            seq: e.seq,
          });
        else if (ev.kind === 'raw') {
          if (last?.kind === 'output' && last.stream === 'stdout') last.text += `${ev.line}\n`;
          else items.push({ kind: 'output', stream: 'stdout', text: `${ev.line}\n`, seq: e.seq });
        } else if (ev.kind === 'status' && !(QUIET_STATUSES.has(ev.status) && !ev.detail)) {
          items.push({
            kind: 'status',
            status: ev.status,
            harnessStatus: ev.harnessStatus ?? null,
            message: ev.detail ?? null,
            error: false,
            seq: e.seq,
          });
        }
        break;
      }
      case 'approval': {
        const id = e.meta?.requestId;
        if (!id) break;
        if (e.meta?.decision) {
          const asked = approvals.get(id);
          if (asked) {
            asked.decision = e.meta.decision;
            asked.reason = e.meta.message ?? null;
          }
          break;
        }
        const body = e.data;
        const item: Extract<Item, { kind: 'approval' }> = {
          kind: 'approval',
          requestId: id,
          summary: body?.summary ?? e.meta?.message ?? '',
          tool: body?.tool ?? '',
          input: body?.input ?? null,
          decision: null,
          reason: null,
          expiresAt: e.meta?.expiresAt ?? null,
          seq: e.seq,
        };
        approvals.set(id, item);
        items.push(item);
        break;
      }
      case 'status': {
        const status = e.meta?.status ?? 'status';
        if (status === 'starting' || status === 'running') break;
        items.push({
          kind: 'status',
          status,
          harnessStatus: null,
          message: e.meta?.message ?? null,
          error: Boolean(e.meta?.errorCode),
          seq: e.seq,
        });
        break;
      }
      case 'exit':
        items.push({
          kind: 'exit',
          code: e.meta?.code ?? null,
          signal: e.meta?.signal ?? null,
          status: e.meta?.status ?? null,
          seq: e.seq,
        });
        break;
      default:
        break;
    }
  }
  return items;
}

/** The latest recent tool call that edits `path` and has not reported it yet, if any. */
function editingCall(items: Item[], path: string): Extract<Item, { kind: 'tool' }> | null {
  for (let k = items.length - 1; k >= Math.max(0, items.length - 50); k--) {
    const it = items[k]!;
    if (it.kind !== 'tool' || it.files.some((f) => f.path === path)) continue;
    if (editsOf(it.name, it.input).some((e) => e.path === path)) return it;
  }
  return null;
}

/** Pending approvals (asked, not answered, not expired at `now`). */
export function pendingApprovals(items: readonly Item[], now: number): Extract<Item, { kind: 'approval' }>[] {
  return items.filter(
    (i): i is Extract<Item, { kind: 'approval' }> =>
      i.kind === 'approval' && i.decision === null && (i.expiresAt === null || i.expiresAt > now),
  );
}
