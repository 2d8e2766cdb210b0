import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { chmodSync, existsSync, lstatSync, mkdirSync, rmSync, unlinkSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { z } from 'zod';
import { FabricError, isFabricError, type ErrorBody } from '@fabric/protocol';
import type { ApprovalDecision, ApprovalRequest } from '../sessions/harness/types.js';
import {
  agentCallSchema,
  APPROVALS_PATH,
  approvalCallSchema,
  TOOLS_PATH,
  type AgentCaller,
  type ApprovalAnswer,
} from './protocol.js';

/** One endpoint of the agent API: a POST whose JSON body is parsed with `body`, answered with `handle`'s JSON. */
export interface AgentRoute<S extends z.ZodType = z.ZodType> {
  path: string;
  body: S;
  /** Who may call it: sessions only (approvals), or sessions and the owner (tools). */
  callers: 'session' | 'any';
  /** Runs once the caller proved who it is; a FabricError answers with its code. */
  handle(caller: AgentCaller, body: z.infer<S>): Promise<unknown>;
}

export interface AgentSocketOptions {
  /** Where to listen. A stale socket there is removed first; anything else there is an error. */
  path: string;
  /** A session's harness asks to use a tool (the daemon wires this to `SessionRunner.requestApproval`). */
  approve(sessionId: string, req: ApprovalRequest): Promise<ApprovalDecision>;
  /** Largest request body accepted (default 4 MiB: a Write tool call carries the whole file). */
  maxBodyBytes?: number;
  /** The owner's token (`optimal agent` reads it from the data directory); without one, only sessions can call. */
  ownerToken?: string;
}

/** Longest Unix socket path we use (sun_path is 108 bytes on Linux, 104 on macOS, NUL included). */
const MAX_SOCKET_PATH = 100;

/**
 * Where a daemon with this data directory listens: `<dataDir>/agent.sock`,
 * or, when that path is too long for a Unix socket, `agent.sock` in a
 * directory of the system temp dir named for this user and data directory
 * (the same one each start, so nothing piles up). Throws `conflict` when that
 * directory exists but is not this user's alone.
 */
export function agentSocketPath(dataDir: string): string {
  const preferred = join(dataDir, 'agent.sock');
  if (Buffer.byteLength(preferred) <= MAX_SOCKET_PATH) return preferred;
  const dir = join(
    tmpdir(),
    `fabric-agent-${process.getuid?.() ?? 'u'}-${createHash('sha256').update(dataDir).digest('hex').slice(0, 16)}`,
  );
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const st = lstatSync(dir);
  if (!st.isDirectory() || (process.getuid && st.uid !== process.getuid()) || (st.mode & 0o077) !== 0) {
    throw new FabricError('conflict', `${dir} is not a private directory of this user; remove it`);
  }
  return join(dir, 'agent.sock');
}

const digest = (s: string) => createHash('sha256').update(s).digest();

/**
 * The daemon's local agent API: a small HTTP server on a Unix socket (mode
 * 0600) that processes started for a session use to reach the daemon. Each
 * session has its own random bearer token, handed to its processes through
 * the environment and compared in constant time; a call is refused unless
 * its token is that of the session it names. The owner's token (a file only
 * this user can read) speaks for the owner: `optimal agent` uses it.
 * Approvals are for sessions; the agent tools join through `route`.
 */
export class AgentSocket {
  private readonly server: Server;
  private readonly tokens = new Map<string, string>();
  private readonly routes = new Map<string, AgentRoute>();
  private readonly maxBodyBytes: number;
  private listening = false;

  constructor(private readonly opts: AgentSocketOptions) {
    this.maxBodyBytes = opts.maxBodyBytes ?? 4 * 1024 * 1024;
    this.route({
      path: APPROVALS_PATH,
      body: approvalCallSchema,
      callers: 'session',
      handle: async (caller, call): Promise<ApprovalAnswer> => {
        if (caller.kind !== 'session') throw new FabricError('forbidden', 'only a session asks for approvals');
        const d = await opts.approve(caller.sessionId, { tool: call.tool, summary: call.summary, input: call.input });
        return d.reason === undefined ? { decision: d.decision } : { decision: d.decision, reason: d.reason };
      },
    });
    this.server = createServer((req, res) => void this.serve(req, res));
    // An approval waits for a person: no timeouts on a request once it has arrived.
    this.server.requestTimeout = 0;
    this.server.timeout = 0;
  }

  get path(): string {
    return this.opts.path;
  }

  /** Add an endpoint (later agent tools). */
  route<S extends z.ZodType>(r: AgentRoute<S>): void {
    this.routes.set(r.path, r);
  }

  /** Listen, replacing a stale socket file; the socket is readable and writable by this user only. */
  async listen(): Promise<void> {
    const path = this.opts.path;
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    if (existsSync(path)) {
      if (!lstatSync(path).isSocket())
        throw new FabricError('conflict', `${path} exists and is not a socket; move it away`);
      unlinkSync(path); // left by a daemon that did not stop cleanly
    }
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(path, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    chmodSync(path, 0o600);
    this.listening = true;
  }

  /** The session's token, made on first use; the same until `revoke`. */
  issueToken(sessionId: string): string {
    const existing = this.tokens.get(sessionId);
    if (existing) return existing;
    const token = randomBytes(32).toString('base64url');
    this.tokens.set(sessionId, token);
    return token;
  }

  /** The session ended: its token no longer opens anything. */
  revoke(sessionId: string): void {
    this.tokens.delete(sessionId);
  }

  /** Stop listening, drop open connections and remove the socket file. */
  async close(): Promise<void> {
    this.tokens.clear();
    if (!this.listening) return;
    this.listening = false;
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    rmSync(this.opts.path, { force: true });
  }

  /** Who this call speaks for, or null when its token proves nothing. */
  private caller(sessionId: string | undefined, header: string | undefined): AgentCaller | null {
    const given = header?.match(/^Bearer (\S+)$/)?.[1];
    if (given === undefined) return null;
    // Compare digests: equal lengths, and no early exit that would let a caller time the token out byte by byte.
    const same = (expected: string | undefined) =>
      timingSafeEqual(digest(given), digest(expected ?? '')) && expected !== undefined;
    if (sessionId !== undefined) return same(this.tokens.get(sessionId)) ? { kind: 'session', sessionId } : null;
    return same(this.opts.ownerToken) ? { kind: 'owner' } : null;
  }

  private async serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      const url = new URL(req.url ?? '/', 'http://agent');
      const route = this.routes.get(url.pathname);
      if (!route && url.pathname.startsWith(`${TOOLS_PATH}/`)) {
        throw new FabricError(
          'not_found',
          `no tool named "${url.pathname.slice(TOOLS_PATH.length + 1).slice(0, 64)}" (list them with: optimal agent tools)`,
        );
      }
      if (!route) throw new FabricError('not_found', `no such endpoint: ${url.pathname}`);
      if (req.method !== 'POST') throw new FabricError('bad_request', `${url.pathname} takes POST`);
      const raw = await this.readBody(req);
      let json: unknown;
      try {
        json = JSON.parse(raw);
      } catch {
        throw new FabricError('malformed_json', 'the body is not JSON');
      }
      const call = agentCallSchema.safeParse(json);
      const caller = call.success ? this.caller(call.data.sessionId, req.headers.authorization) : null;
      if (!caller) {
        throw new FabricError(
          'unauthorized',
          call.success && call.data.sessionId === undefined
            ? "this token is not the owner's: it is in agent.token in the daemon's data directory"
            : 'this token does not speak for that session',
        );
      }
      if (route.callers === 'session' && caller.kind !== 'session')
        throw new FabricError('forbidden', `${url.pathname} is for sessions`);
      const body = route.body.safeParse(json);
      if (!body.success)
        throw new FabricError('bad_request', `invalid body: ${body.error.issues[0]?.message ?? 'unknown'}`);
      this.reply(res, 200, await route.handle(caller, body.data));
    } catch (err) {
      const e = isFabricError(err) ? err : new FabricError('internal', 'the daemon failed to answer');
      this.reply(res, e.status, e.toBody() satisfies ErrorBody);
    }
  }

  private readBody(req: IncomingMessage): Promise<string> {
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      let size = 0;
      req.on('data', (c: Buffer) => {
        size += c.length;
        if (size > this.maxBodyBytes) {
          // Answer now; the rest of the body is read and dropped.
          reject(new FabricError('frame_too_large', `bodies are limited to ${this.maxBodyBytes} bytes`));
          chunks.length = 0;
          return;
        }
        chunks.push(c);
      });
      req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
      req.on('error', reject);
    });
  }

  private reply(res: ServerResponse, status: number, body: unknown): void {
    if (res.headersSent || res.destroyed) return;
    const json = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(json) });
    res.end(json);
  }
}
