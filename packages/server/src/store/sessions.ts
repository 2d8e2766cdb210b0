import { enforce, policy, type SessionAction, type Viewer } from '../auth/policy.js';
import {
  FabricError,
  errorCodeSchema,
  isTerminal,
  labelsSchema,
  sessionEventSchema,
  permissionModeSchema,
  sessionStatusSchema,
  streamEventKindSchema,
  type SessionStatus,
  type SessionPlacement,
  type SessionView,
  type StreamEvent,
} from '@fabric/protocol';
import type { Selectable } from 'kysely';
import type { Db } from './db.js';
import type { SessionsTable } from './schema.js';

export type SessionRow = Selectable<SessionsTable>;

const streamKinds = new Set<string>(streamEventKindSchema.options);

export function sessionView(row: SessionRow, deviceName: string | null, pendingApprovals = 0): SessionView {
  const labels = labelsSchema.safeParse(safeJson(row.labels));
  const errorCode = errorCodeSchema.safeParse(row.error_code);
  return {
    id: row.id,
    harness: row.harness as SessionView['harness'],
    prompt: row.prompt,
    status: sessionStatusSchema.parse(row.status),
    deviceId: row.device_id,
    deviceName,
    labels: labels.success ? labels.data : {},
    cwd: row.cwd,
    exitCode: row.exit_code === null ? null : Number(row.exit_code),
    signal: row.signal,
    errorCode: errorCode.success ? errorCode.data : null,
    errorMessage: row.error_message,
    createdBy: row.created_by,
    createdAt: Number(row.created_at),
    startedAt: row.started_at === null ? null : Number(row.started_at),
    endedAt: row.ended_at === null ? null : Number(row.ended_at),
    lastSeq: Number(row.last_seq),
    permissionMode: permissionModeSchema.safeParse(row.permission_mode).data ?? 'ask',
    model: row.model,
    harnessSessionId: row.harness_session_id,
    parentId: row.parent_id,
    placement: placementView(row.placement),
    queuedUntil: row.queued_until === null ? null : Number(row.queued_until),
    pendingApprovals,
    credentials: row.credentials ? (JSON.parse(row.credentials) as string[]) : [],
  };
}

function safeJson(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return null;
  }
}

export async function getSessionRow(db: Db, id: string): Promise<SessionRow | undefined> {
  return db.selectFrom('sessions').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function getSessionView(db: Db, id: string): Promise<SessionView | undefined> {
  const row = await db
    .selectFrom('sessions')
    .leftJoin('devices', 'devices.id', 'sessions.device_id')
    .selectAll('sessions')
    .select('devices.name as device_name')
    .where('sessions.id', '=', id)
    .executeTakeFirst();
  if (!row) return undefined;
  return sessionView(row, row.device_name ?? null, (await pendingApprovals(db, [id])).get(id) ?? 0);
}

/** Session id → approval requests still waiting for an answer, for the sessions that have any. */
async function pendingApprovals(db: Db, ids: readonly string[]): Promise<Map<string, number>> {
  if (ids.length === 0) return new Map();
  const rows = await db
    .selectFrom('approvals')
    .select(['session_id', (eb) => eb.fn.countAll<number>().as('n')])
    .where('session_id', 'in', ids)
    .where('status', '=', 'pending')
    .groupBy('session_id')
    .execute();
  return new Map(rows.map((r) => [r.session_id, Number(r.n)]));
}

/**
 * The session row, when `viewer` may do `action` on it. Throws
 * `session_not_found` when it does not exist or the viewer may not even
 * read it, `forbidden` when they may read but not steer it.
 */
export async function sessionFor(db: Db, viewer: Viewer, id: string, action: SessionAction): Promise<SessionRow> {
  const row = await getSessionRow(db, id);
  const notFound = new FabricError('session_not_found', `no session ${id}`);
  if (!row) throw notFound;
  const subject = { createdBy: row.created_by };
  enforce(
    policy.session(viewer, subject, action),
    policy.session(viewer, subject, 'read'),
    notFound,
    `${action} session ${id}`,
  );
  return row;
}

/** Newest first; only the sessions `viewer` may read. */
export async function listSessionViews(
  db: Db,
  opts: { limit: number; deviceId?: string | undefined; status?: string | undefined; viewer: Viewer },
): Promise<SessionView[]> {
  let q = db
    .selectFrom('sessions')
    .leftJoin('devices', 'devices.id', 'sessions.device_id')
    .selectAll('sessions')
    .select('devices.name as device_name');
  // The policy's rule for sessions, as a query: a member reads what they created.
  if (!policy.session(opts.viewer, { createdBy: '' }, 'read')) q = q.where('sessions.created_by', '=', opts.viewer.sub);
  if (opts.deviceId) q = q.where('sessions.device_id', '=', opts.deviceId);
  if (opts.status) q = q.where('sessions.status', '=', opts.status);
  const rows = await q
    .orderBy('sessions.created_at', 'desc')
    .orderBy('sessions.id', 'desc')
    .limit(opts.limit)
    .execute();
  const pending = await pendingApprovals(
    db,
    rows.filter((r) => !isTerminal(r.status as SessionStatus)).map((r) => r.id),
  );
  return rows.map((r) => sessionView(r, r.device_name ?? null, pending.get(r.id) ?? 0));
}

/** Events with `seq > after`, in order, at most `limit`. */
export async function readEvents(db: Db, sessionId: string, after: number, limit: number): Promise<StreamEvent[]> {
  const rows = await db
    .selectFrom('session_events')
    .select(['seq', 'kind', 'data', 'meta', 'ts'])
    .where('session_id', '=', sessionId)
    .where('seq', '>', after)
    .orderBy('seq', 'asc')
    .limit(limit)
    .execute();
  // Rows the writer produced from validated input: checked cheaply, not re-parsed with zod (this runs for
  // every event a catching-up viewer reads); only a status event goes through its schema, which reads the
  // free-string statuses older daemons sent in the current shape.
  return rows.map((r) => {
    if (!streamKinds.has(r.kind)) throw new Error(`session ${sessionId} event ${r.seq} has unknown kind ${r.kind}`);
    return {
      seq: Number(r.seq),
      kind: r.kind,
      data: eventData(r.kind as StreamEvent['kind'], r.data),
      meta: r.meta === null ? null : (JSON.parse(r.meta) as StreamEvent['meta']),
      ts: Number(r.ts),
    } as StreamEvent;
  });
}

/**
 * A stored event's `data` as its kind carries it: text as is, JSON back to
 * its object. A session event an older control plane stored that does not
 * read as one (a status that is not a string, data that is not JSON) is
 * shown as the raw line it is, never dropped or thrown on.
 */
function eventData(kind: StreamEvent['kind'], data: string | null): StreamEvent['data'] {
  if (data === null || (kind !== 'event' && kind !== 'approval')) return data;
  let value: { kind?: unknown } | null;
  try {
    value = JSON.parse(data) as { kind?: unknown } | null;
  } catch {
    value = null;
  }
  if (kind === 'approval') return (typeof value === 'object' ? value : null) as StreamEvent['data'];
  if (value === null || typeof value !== 'object' || typeof value.kind !== 'string') return { kind: 'raw', line: data };
  if (value.kind !== 'status') return value as StreamEvent['data'];
  const read = sessionEventSchema.safeParse(value);
  return read.success ? read.data : { kind: 'raw', line: data };
}

/** The stored placement (JSON written by the session service) as the view's object; null when absent or unreadable. */
function placementView(raw: string | null): SessionPlacement | null {
  if (!raw) return null;
  try {
    const stored = JSON.parse(raw) as { text?: unknown; deviceId?: unknown; labels?: unknown };
    if (typeof stored.text !== 'string') return null;
    const labels = labelsSchema.safeParse(stored.labels ?? {});
    return {
      text: stored.text,
      deviceId: typeof stored.deviceId === 'string' ? stored.deviceId : null,
      labels: labels.success ? labels.data : {},
    };
  } catch {
    return null;
  }
}
