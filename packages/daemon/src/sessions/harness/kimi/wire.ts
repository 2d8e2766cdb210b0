import type { PermissionMode, StatusWords } from '@fabric/protocol';
import {
  approvalRequestSchema,
  AUTO_EDIT_ACTIONS,
  envelopeSchema,
  idPayloadSchema,
  INVALID_PARAMS,
  INVALID_STATE,
  kimiWireIds,
  METHOD_NOT_FOUND,
  notificationSchema,
  planDisplaySchema,
  promptResultSchema,
  questionRequestSchema,
  rpcSchema,
  statusUpdateSchema,
  stepRetrySchema,
  textPartSchema,
  thinkPartSchema,
  toolCallPartSchema,
  toolCallSchema,
  toolResultSchema,
  userInputSchema,
  type KimiApprovalRequest,
} from './protocol.js';
import { wordStatusEvent } from '../status.js';
import type { ApprovalDecision, DriverContext, HarnessDriver } from '../types.js';

/**
 * Kimi CLI wire mode, the client side: JSON-RPC 2.0 lines from `kimi --wire`
 * mapped onto Fabric's session events, and our answers to Kimi's requests
 * (what it sends when: MoonshotAI/kimi-cli src/kimi_cli/wire/server.py).
 */

/**
 * The Kimi words reported as status, as Fabric statuses: wire event types,
 * the request types Fabric answers itself, and `prompt` result statuses.
 */
export const KIMI_STATUS_WORDS: StatusWords = {
  TurnBegin: 'turn_started',
  TurnEnd: 'turn_ended',
  StepInterrupted: 'interrupted',
  StepRetry: 'retrying',
  CompactionBegin: 'compacting',
  SteerInput: 'input_taken',
  Notification: 'notification',
  ApprovalRequest: 'auto_answered', // allowed by the permission mode
  QuestionRequest: 'auto_answered', // dismissed: Fabric declares no question support
  cancelled: 'interrupted',
  max_steps_reached: 'turn_failed',
};

/**
 * The runner's context, with `closeStdin` optional so unit tests can leave it
 * out: the driver ends stdin (and the wire server then exits 0) once the last
 * turn's `prompt` has answered and nothing is in flight.
 */
export type KimiDriverContext = Omit<DriverContext, 'closeStdin'> & { closeStdin?: () => void };

export interface KimiWireDriver extends HarnessDriver {
  /** Emit what is still buffered (streamed text, a tool call still receiving argument parts); call when stdout ends. */
  end(): void;
}

export function createKimiWireDriver(ctx: KimiDriverContext): KimiWireDriver {
  return new KimiWire(ctx);
}

/**
 * One `kimi --wire` process. Streamed `ContentPart` deltas are joined into
 * one text (or reasoning) event per run of parts, and a `ToolCall` is held
 * until its `ToolCallPart` argument fragments stop, so the stream carries
 * whole messages and whole tool calls. `line` never throws.
 */
class KimiWire implements KimiWireDriver {
  /** Until the `initialize` response says otherwise: the safe default. */
  private mode: PermissionMode = 'ask';
  private kimiSessionId: string | null = null;
  private nextId = 1;
  /** Our `prompt` requests still running (a turn), with their text. The plan sent the first. */
  private readonly prompts = new Map<string, { text: string; retried: boolean } | null>([
    [kimiWireIds.firstPrompt, null],
  ]);
  /** Our `steer` requests not yet answered. */
  private readonly steers = new Map<string, { text: string; retried: boolean }>();
  private closed = false;
  private streamed: { kind: 'text' | 'reasoning'; text: string } | null = null;
  private toolCall: { id: string; name: string; args: string | null } | null = null;
  /** Parsed tool-call arguments of this turn, shown with an approval request for that call. */
  private readonly toolInputs = new Map<string, unknown>();

  constructor(private readonly ctx: KimiDriverContext) {}

  line(line: string): void {
    let json: unknown;
    try {
      json = JSON.parse(line);
    } catch {
      this.raw(line);
      return;
    }
    const msg = rpcSchema.safeParse(json);
    if (!msg.success) {
      this.raw(line);
      return;
    }
    const { id, method, params, error } = msg.data;
    if (method === 'event') this.onEvent(params, line);
    else if (method === 'request' && typeof id === 'string') this.onRequest(id, params, line);
    else if (method === undefined && error) this.onError(typeof id === 'string' ? id : null, error);
    else if (method === undefined && typeof id === 'string' && 'result' in (json as object))
      this.onResult(id, msg.data.result);
    else this.raw(line);
  }

  /** A steer while a turn runs, else a new prompt; false once stdin is closed (the runner queues a resumed turn). */
  input(text: string): boolean {
    if (this.closed) return false;
    this.send(this.prompts.size > 0 ? 'steer' : 'prompt', text, false);
    return true;
  }

  end(): void {
    this.flush();
  }

  private onEvent(params: unknown, line: string): void {
    const env = envelopeSchema.safeParse(params);
    if (!env.success) {
      this.raw(line);
      return;
    }
    const { type, payload } = env.data;
    if (type === 'ContentPart') {
      this.onContentPart(payload, line);
      return;
    }
    if (type === 'ToolCallPart') {
      const part = toolCallPartSchema.safeParse(payload);
      if (!part.success || !this.toolCall) {
        this.raw(line);
        return;
      }
      this.toolCall.args = (this.toolCall.args ?? '') + (part.data.arguments_part ?? '');
      return;
    }
    this.flush();
    switch (type) {
      case 'ToolCall': {
        const call = toolCallSchema.safeParse(payload);
        if (!call.success) {
          this.raw(line);
          return;
        }
        this.toolCall = { id: call.data.id, name: call.data.function.name, args: call.data.function.arguments ?? null };
        return;
      }
      case 'ToolResult': {
        const r = toolResultSchema.safeParse(payload);
        if (!r.success) {
          this.raw(line);
          return;
        }
        const { output, message, is_error: isError } = r.data.return_value;
        this.ctx.event({
          kind: 'tool_result',
          id: r.data.tool_call_id.slice(0, 256),
          output: partsText(output) || message,
          isError,
        });
        return;
      }
      case 'StatusUpdate': {
        const s = statusUpdateSchema.safeParse(payload);
        if (!s.success) {
          this.raw(line);
          return;
        }
        const u = s.data.token_usage;
        // input: tokens read at full (or cache-write) price; cached: cache reads. Together they are Kimi's TokenUsage.input.
        if (u)
          this.ctx.meta({
            usage: { input: u.input_other + u.input_cache_creation, output: u.output, cached: u.input_cache_read },
          });
        return;
      }
      case 'TurnBegin': {
        this.status('TurnBegin');
        return;
      }
      case 'TurnEnd':
        this.toolInputs.clear();
        {
          this.status('TurnEnd');
          return;
        }
      case 'StepInterrupted': {
        this.status('StepInterrupted');
        return;
      }
      case 'StepRetry': {
        const r = stepRetrySchema.safeParse(payload);
        if (!r.success) {
          this.raw(line);
          return;
        }
        const d = r.data;
        this.status(
          'StepRetry',
          `step ${d.n}: ${d.error_type}; attempt ${d.next_attempt} of ${d.max_attempts} in ${d.wait_s}s`,
        );
        return;
      }
      case 'CompactionBegin': {
        this.status('CompactionBegin');
        return;
      }
      case 'SteerInput': {
        const s = userInputSchema.safeParse(payload);
        if (s.success) this.status('SteerInput', partsText(s.data.user_input));
        else this.raw(line);
        return;
      }
      case 'Notification': {
        const n = notificationSchema.safeParse(payload);
        if (n.success) this.status('Notification', `${n.data.title}: ${n.data.body}`);
        else this.raw(line);
        return;
      }
      case 'PlanDisplay': {
        const p = planDisplaySchema.safeParse(payload);
        if (!p.success) {
          this.raw(line);
          return;
        }
        this.ctx.event({ kind: 'text', text: p.data.content });
        return;
      }
      // Bookkeeping with nothing for the normalised stream.
      case 'StepBegin':
      case 'CompactionEnd':
      case 'MCPLoadingBegin':
      case 'MCPLoadingEnd':
      case 'HookTriggered':
      case 'HookResolved':
      case 'ApprovalResponse':
      case 'ApprovalRequestResolved':
      case 'BtwBegin':
      case 'BtwEnd':
        return;
      default: {
        // SubagentEvent (a nested agent's own stream) and types newer than this adapter.
        this.raw(line);
        return;
      }
    }
  }

  private onContentPart(payload: Record<string, unknown>, line: string): void {
    const text = textPartSchema.safeParse(payload);
    const think = thinkPartSchema.safeParse(payload);
    const part = text.success
      ? { kind: 'text' as const, text: text.data.text }
      : think.success
        ? { kind: 'reasoning' as const, text: think.data.think }
        : null;
    if (!part) {
      this.raw(line);
      return;
    } // image/audio/video parts
    this.flushToolCall();
    if (this.streamed && this.streamed.kind !== part.kind) this.flushStreamed();
    this.streamed = { kind: part.kind, text: (this.streamed?.text ?? '') + part.text };
  }

  private onRequest(rpcId: string, params: unknown, line: string): void {
    this.flush();
    const env = envelopeSchema.safeParse(params);
    const type = env.success ? env.data.type : null;
    const payload = env.success ? env.data.payload : {};
    if (type === 'ApprovalRequest') {
      const req = approvalRequestSchema.safeParse(payload);
      if (req.success) {
        this.approve(rpcId, req.data);
        return;
      }
    } else if (type === 'QuestionRequest') {
      // We do not declare supports_question, so Kimi should not ask; if it does, empty answers mean "dismissed".
      const q = questionRequestSchema.safeParse(payload);
      if (q.success) {
        this.reply(rpcId, { request_id: q.data.id, answers: {} });
        this.status('QuestionRequest', q.data.questions.map((x) => x.question).join(' / '));
        return;
      }
    } else if (type === 'HookRequest') {
      const h = idPayloadSchema.safeParse(payload);
      if (h.success) {
        this.reply(rpcId, { request_id: h.data.id, action: 'allow', reason: '' });
        return;
      }
    } else if (type === 'ToolCallRequest') {
      // Only for external tools registered at initialize; we register none. An error becomes a ToolError.
      this.replyError(rpcId, METHOD_NOT_FOUND, 'fabric registers no external tools');
      return;
    }
    // An answer Kimi can act on (an error rejects an approval), and the line itself for the record.
    const known = type === 'ApprovalRequest' || type === 'QuestionRequest' || type === 'HookRequest';
    this.replyError(
      rpcId,
      type === null || known ? INVALID_PARAMS : METHOD_NOT_FOUND,
      `fabric cannot handle this request${type ? ` (${type})` : ''}`,
    );
    this.raw(line);
  }

  private approve(rpcId: string, req: KimiApprovalRequest): void {
    const summary = `${req.sender}: ${req.description}`;
    if (this.mode === 'full' || (this.mode === 'auto-edit' && AUTO_EDIT_ACTIONS.has(req.action))) {
      this.status('ApprovalRequest', summary);
      this.answerApproval(rpcId, req.id, { decision: 'allow' });
      return;
    }
    const input = {
      action: req.action,
      description: req.description,
      toolCallId: req.tool_call_id,
      arguments: this.toolInputs.get(req.tool_call_id),
      display: req.display,
    };
    void this.ctx
      .requestApproval({ tool: req.sender, summary, input })
      .catch((): ApprovalDecision => ({ decision: 'deny', reason: 'the approval could not be asked' }))
      .then((decision) => this.answerApproval(rpcId, req.id, decision));
  }

  /** ApprovalResponse (wire/types.py): approve | approve_for_session | reject, with optional feedback for the model. */
  private answerApproval(rpcId: string, requestId: string, d: ApprovalDecision): void {
    const deny = d.decision !== 'allow';
    this.reply(rpcId, {
      request_id: requestId,
      response: deny ? 'reject' : 'approve',
      ...(deny && d.reason ? { feedback: d.reason } : {}),
    });
  }

  private onResult(id: string, result: unknown): void {
    const method = kimiWireIds.method(id);
    if (method === 'initialize') {
      this.learn(id);
      return;
    }
    if (method === 'prompt' && this.prompts.delete(id)) {
      const r = promptResultSchema.safeParse(result);
      if (r.success && r.data.status === 'cancelled') this.status(r.data.status);
      if (r.success && r.data.status === 'max_steps_reached')
        this.status(r.data.status, r.data.steps ? `stopped after ${r.data.steps} steps` : undefined);
      this.maybeClose();
      return;
    }
    if (method === 'steer' && this.steers.delete(id)) {
      this.maybeClose();
      return;
    }
    // Anything else (a cancel we sent, an id we do not know) needs nothing.
  }

  private onError(id: string | null, error: { code: number; message: string }): void {
    this.flush();
    const method = id === null ? null : kimiWireIds.method(id);
    if (id !== null && method === 'initialize') {
      this.learn(id);
      if (error.code === METHOD_NOT_FOUND) return; // a Kimi before wire 1.1: prompts work without the handshake
    } else if (id !== null && method === 'prompt' && this.prompts.has(id)) {
      const sent = this.prompts.get(id);
      this.prompts.delete(id);
      // A turn was still running after all: deliver the text into it instead.
      if (error.code === INVALID_STATE && sent && !sent.retried) {
        this.send('steer', sent.text, true);
        return;
      }
      this.maybeClose();
    } else if (id !== null && method === 'steer' && this.steers.has(id)) {
      const sent = this.steers.get(id)!;
      this.steers.delete(id);
      // The turn ended before the steer arrived: the text starts the next turn.
      if (error.code === INVALID_STATE && !sent.retried) {
        this.send('prompt', sent.text, true);
        return;
      }
      this.maybeClose();
    }
    this.ctx.event({ kind: 'error', message: `kimi: ${error.message} (${error.code})`.slice(0, 4000) });
  }

  private learn(initializeId: string): void {
    const init = kimiWireIds.parseInitialize(initializeId);
    if (!init) return;
    this.mode = init.mode;
    if (this.kimiSessionId === init.kimiSessionId) return;
    this.kimiSessionId = init.kimiSessionId;
    this.ctx.meta({ harnessSessionId: init.kimiSessionId });
  }

  private send(method: 'prompt' | 'steer', text: string, retried: boolean): void {
    const id = kimiWireIds.request(method, this.nextId++);
    if (method === 'prompt') this.prompts.set(id, { text, retried });
    else this.steers.set(id, { text, retried });
    this.write({ jsonrpc: '2.0', id, method, params: { user_input: text } });
  }

  /** The session is over once no turn runs and nothing we sent is unanswered: end stdin so Kimi exits 0. */
  private maybeClose(): void {
    if (this.closed || this.prompts.size > 0 || this.steers.size > 0 || !this.ctx.closeStdin) return;
    this.flush();
    this.closed = true;
    this.ctx.closeStdin();
  }

  private reply(id: string, result: unknown): void {
    this.write({ jsonrpc: '2.0', id, result });
  }

  private replyError(id: string, code: number, message: string): void {
    this.write({ jsonrpc: '2.0', id, error: { code, message } });
  }

  private write(msg: unknown): void {
    if (!this.closed) this.ctx.write(`${JSON.stringify(msg)}\n`);
  }

  /** A status for one of Kimi's own words, by {@link KIMI_STATUS_WORDS}. */
  private status(word: string, detail?: string): void {
    this.ctx.event(wordStatusEvent(KIMI_STATUS_WORDS, word, detail));
  }

  private raw(line: string): void {
    this.flush();
    this.ctx.event({ kind: 'raw', line });
  }

  private flush(): void {
    this.flushStreamed();
    this.flushToolCall();
  }

  private flushStreamed(): void {
    const s = this.streamed;
    this.streamed = null;
    if (s && s.text !== '') this.ctx.event({ kind: s.kind, text: s.text });
  }

  private flushToolCall(): void {
    const c = this.toolCall;
    this.toolCall = null;
    if (!c) return;
    const input = parseArguments(c.args);
    this.toolInputs.set(c.id, input);
    this.ctx.event({ kind: 'tool_call', id: c.id.slice(0, 256), name: c.name.slice(0, 256), input });
  }
}

/** Tool arguments arrive as a JSON string; one that does not parse is kept as the string. */
function parseArguments(args: string | null): unknown {
  if (args === null || args.trim() === '') return {};
  try {
    return JSON.parse(args);
  } catch {
    return args;
  }
}

/** `string | ContentPart[]` as text: text parts joined, other parts named. */
function partsText(v: string | { type: string; text?: string | undefined }[]): string {
  return typeof v === 'string' ? v : v.map((p) => (p.type === 'text' ? (p.text ?? '') : `[${p.type}]`)).join('');
}
