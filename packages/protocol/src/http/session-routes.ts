import { z } from 'zod';
import {
  approvalDecisionRequestSchema,
  approvalViewSchema,
  cancelSessionRequestSchema,
  createSessionRequestSchema,
  fuelReportSchema,
  sessionInputRequestSchema,
  sessionViewSchema,
  streamEventSchema,
} from '../api.js';
import { idParamsSchema } from './common.js';
import { defineRoutes } from './route.js';

const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,128}$/;

/** `Idempotency-Key`: 1-128 printable ASCII characters without spaces (a UUID fits). */
export const idempotencyHeadersSchema = z.object({
  'idempotency-key': z
    .string()
    .regex(IDEMPOTENCY_KEY, 'must be 1-128 printable characters without spaces (a uuid)')
    .optional(),
});

export const listSessionsQuerySchema = z.object({
  limit: z.coerce.number<number>().int().min(1).max(500).default(50),
  /** A device id. */
  device: z.string().max(128).optional(),
  status: z.string().max(32).optional(),
});

export const sessionEventsQuerySchema = z.object({
  /** Events after this sequence number. */
  after: z.coerce.number<number>().int().min(0).default(0),
  limit: z.coerce.number<number>().int().min(1).max(5000).default(1000),
});

export const fuelQuerySchema = z.object({
  /** The client's `Date#getTimezoneOffset()`, so "today" is its own day. */
  tzOffset: z.coerce.number<number>().int().min(-840).max(840).default(0),
});

const sessionParams = { params: idParamsSchema } as const;
const mine = "Only the session's creator or an owner sees it; anyone else gets `session_not_found`.";

/** Sessions: start, list, read, stream, steer; and the fuel meter over them. */
export const sessionRoutes = defineRoutes({
  createSession: {
    method: 'POST',
    path: '/api/sessions',
    tag: 'sessions',
    summary: 'start a session: the router places it on a device, or it waits queued',
    description:
      'With an `Idempotency-Key`, a retry within 24 h answers 201 with the same session (and `Idempotent-Replayed: true`) and starts no second run; the same key with another body is `conflict`.',
    auth: 'user',
    headers: idempotencyHeadersSchema,
    body: createSessionRequestSchema,
    status: 201,
    response: sessionViewSchema,
    idempotent: true,
  },
  listSessions: {
    method: 'GET',
    path: '/api/sessions',
    tag: 'sessions',
    summary: 'the sessions you may see, newest first',
    auth: 'user',
    query: listSessionsQuerySchema,
    response: z.object({ sessions: z.array(sessionViewSchema) }),
  },
  getSession: {
    method: 'GET',
    path: '/api/sessions/:id',
    tag: 'sessions',
    summary: 'one session',
    description: mine,
    auth: 'user',
    ...sessionParams,
    response: sessionViewSchema,
  },
  sessionEvents: {
    method: 'GET',
    path: '/api/sessions/:id/events',
    tag: 'sessions',
    summary: "a page of a session's stored events after a sequence number",
    description: mine,
    auth: 'user',
    ...sessionParams,
    query: sessionEventsQuerySchema,
    response: z.object({ session: sessionViewSchema, events: z.array(streamEventSchema) }),
  },
  streamSession: {
    method: 'GET',
    path: '/api/sessions/:id/stream',
    tag: 'sessions',
    summary: "a session's events as Server-Sent Events (`id:` is the sequence, `event:` the kind)",
    description:
      'Resumes after `Last-Event-ID` (or `?after=`), sends keepalive comments, and ends with `event: end` once the session is over. A reconnect whose `Last-Event-ID` is at or past the end of a finished session gets 204, so an EventSource stops.',
    auth: 'user',
    kind: 'sse',
    ...sessionParams,
    query: z.object({ after: z.string().optional() }),
    headers: z.object({ 'last-event-id': z.string().optional() }),
    response: streamEventSchema,
  },
  sendInput: {
    method: 'POST',
    path: '/api/sessions/:id/input',
    tag: 'sessions',
    summary: 'send input to a running session',
    description: mine,
    auth: 'user',
    ...sessionParams,
    body: sessionInputRequestSchema,
    status: 202,
    response: z.object({ seq: z.number().int() }),
  },
  listApprovals: {
    method: 'GET',
    path: '/api/sessions/:id/approvals',
    tag: 'sessions',
    summary: "a session's approval requests",
    description: mine,
    auth: 'user',
    ...sessionParams,
    response: z.object({ approvals: z.array(approvalViewSchema) }),
  },
  decideApproval: {
    method: 'POST',
    path: '/api/sessions/:id/approvals/:req',
    tag: 'sessions',
    summary: "allow or deny one of a session's approval requests",
    description: `Only the session's creator or an owner may. ${mine}`,
    auth: 'user',
    params: z.object({ id: z.string().min(1).max(128), req: z.string().min(1).max(128) }),
    body: approvalDecisionRequestSchema,
    response: approvalViewSchema,
  },
  cancelSession: {
    method: 'POST',
    path: '/api/sessions/:id/cancel',
    tag: 'sessions',
    summary: 'cancel a session',
    description: mine,
    auth: 'user',
    ...sessionParams,
    body: cancelSessionRequestSchema,
    status: 202,
    response: sessionViewSchema,
  },
  fuel: {
    method: 'GET',
    path: '/api/fuel',
    tag: 'fuel',
    summary: 'the fuel meter: throughput, the mission streak and yield, today and by device and harness',
    description: "A member's meter counts their own sessions; an owner's, the whole fleet's.",
    auth: 'user',
    query: fuelQuerySchema,
    response: fuelReportSchema,
    cloudOnly: true,
  },
});
