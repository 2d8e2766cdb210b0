import { z } from 'zod';

/**
 * The agent API: what a process the daemon started for a session (its
 * harness, or that harness's MCP server) may ask the daemon over the local
 * agent socket. HTTP/1.1 over a Unix socket, JSON bodies; every call names
 * its session and carries that session's bearer token. Failures answer with
 * a protocol `ErrorBody` (`{code, message}`) and its HTTP status.
 */

/** Environment a session's agent-API client is started with. */
export const AGENT_ENV = {
  socket: 'FABRIC_AGENT_SOCKET',
  sessionId: 'FABRIC_SESSION_ID',
  token: 'FABRIC_SESSION_TOKEN',
} as const;

/** A session's call names the session it acts for; the owner's (`optimal agent`) names none. */
export const agentCallSchema = z.looseObject({ sessionId: z.string().min(1).max(128).optional() });

/** Who is calling: the device's owner at this machine, or a session's processes. */
export type AgentCaller = { kind: 'owner' } | { kind: 'session'; sessionId: string };

/** How a caller appears in the ledger and in receipts. */
export function callerActor(caller: AgentCaller): string {
  return caller.kind === 'owner' ? 'owner' : `session:${caller.sessionId}`;
}

/**
 * `POST /v1/tools/<name>` with `{input}` (plus `sessionId` from a session):
 * runs one agent tool and answers its typed result. `POST /v1/tools` lists
 * the tools.
 */
export const TOOLS_PATH = '/v1/tools';
export const toolCallSchema = z.object({
  sessionId: z.string().min(1).max(128).optional(),
  input: z.unknown().default({}),
});

/** The owner's token for the agent API: `agent.token` in the data directory (0600), new at each daemon start. */
export const OWNER_TOKEN_FILE = 'agent.token';

/** `POST /v1/approvals`: may the session use this tool? Answers when the owner decides (or the runner gives up). */
export const APPROVALS_PATH = '/v1/approvals';
export const approvalCallSchema = z.object({
  sessionId: z.string().min(1).max(128),
  tool: z.string().min(1).max(256),
  summary: z.string().max(2000),
  input: z.unknown(),
});
export type ApprovalCall = z.infer<typeof approvalCallSchema>;
export const approvalAnswerSchema = z.object({
  decision: z.enum(['allow', 'deny']),
  reason: z.string().optional(),
});
export type ApprovalAnswer = z.infer<typeof approvalAnswerSchema>;
