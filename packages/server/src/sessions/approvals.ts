import { FabricError, isTerminal, type ApprovalView, type Envelope, type SessionStatus } from '@fabric/protocol';
import type { Selectable } from 'kysely';
import type { Clock } from '../clock.js';
import type { Db } from '../store/db.js';
import type { ApprovalsTable } from '../store/schema.js';
import type { EventWriter } from './writer.js';

type RequestPayload = Extract<Envelope, { type: 'session.approval_request' }>['payload'];

/**
 * Permission requests from harnesses and the owner's answers. A request is
 * stored and streamed when it arrives; the owner allows or denies it before
 * it expires, and the answer goes back to the device as `session.approval`.
 * The device denies on its own when nobody answers in time, so an expired
 * request reads `expired` here and can no longer be answered.
 */
export class Approvals {
  constructor(
    private readonly db: Db,
    private readonly writer: EventWriter,
    private readonly clock: Clock,
    private readonly send: (deviceId: string, env: Envelope) => void,
    /** A session's waiting-on-you count changed: tell whoever shows the fleet. */
    private readonly changed: (sessionId: string) => Promise<void>,
  ) {}

  /**
   * A device relayed a harness's request. The row and its stream event are
   * one transaction: a request that cannot be recorded leaves nothing behind.
   */
  async requested(p: RequestPayload): Promise<void> {
    const now = this.clock.now();
    await this.writer.append({
      sessionId: p.sessionId,
      kind: 'approval',
      ts: now,
      data: { tool: p.tool, summary: p.summary, input: p.input },
      meta: { requestId: p.requestId, expiresAt: p.expiresAt, message: p.summary },
      approval: {
        request_id: p.requestId,
        tool: p.tool,
        summary: p.summary,
        status: 'pending',
        reason: null,
        created_at: now,
        expires_at: p.expiresAt,
        decided_at: null,
        decided_by: null,
      },
    });
    await this.changed(p.sessionId);
  }

  /** The owner's answer. Throws `not_found`, `conflict` (already answered or expired) or `session_finished`. */
  async decide(
    sessionId: string,
    requestId: string,
    decision: 'allow' | 'deny',
    reason: string | undefined,
    userId: string,
  ): Promise<ApprovalView> {
    const row = await this.db
      .selectFrom('approvals')
      .selectAll()
      .where('request_id', '=', requestId)
      .where('session_id', '=', sessionId)
      .executeTakeFirst();
    if (!row) throw new FabricError('not_found', `no approval request ${requestId} in session ${sessionId}`);
    const now = this.clock.now();
    const view = approvalView(row, now);
    if (view.status === 'expired')
      throw new FabricError('conflict', `approval request ${requestId} expired; it was denied`);
    if (view.status !== 'pending')
      throw new FabricError('conflict', `approval request ${requestId} was already answered (${view.status})`);
    const session = await this.db
      .selectFrom('sessions')
      .select(['status', 'device_id'])
      .where('id', '=', sessionId)
      .executeTakeFirst();
    if (!session || isTerminal(session.status as SessionStatus) || !session.device_id) {
      throw new FabricError('session_finished', `session ${sessionId} has ended`);
    }
    const status = decision === 'allow' ? 'allowed' : 'denied';
    const updated = await this.db
      .updateTable('approvals')
      .set({ status, reason: reason ?? null, decided_at: now, decided_by: userId })
      .where('request_id', '=', requestId)
      .where('status', '=', 'pending')
      .executeTakeFirst();
    if (Number(updated.numUpdatedRows) !== 1)
      throw new FabricError('conflict', `approval request ${requestId} was already answered`);
    this.send(session.device_id, {
      corrId: sessionId,
      type: 'session.approval',
      direction: 'to_device',
      ts: now,
      payload: { sessionId, requestId, decision, ...(reason ? { reason } : {}) },
    });
    await this.writer.append({
      sessionId,
      kind: 'approval',
      data: null,
      ts: now,
      meta: { requestId, decision, ...(reason ? { message: reason } : {}) },
    });
    await this.changed(sessionId);
    return approvalView(
      (await this.db.selectFrom('approvals').selectAll().where('request_id', '=', requestId).executeTakeFirst())!,
      now,
    );
  }

  async list(sessionId: string): Promise<ApprovalView[]> {
    const rows = await this.db
      .selectFrom('approvals')
      .selectAll()
      .where('session_id', '=', sessionId)
      .orderBy('created_at', 'asc')
      .execute();
    const now = this.clock.now();
    return rows.map((r) => approvalView(r, now));
  }

  /** The session ended: whatever was still pending is denied (the device has already stopped waiting). */
  async closeFor(sessionId: string): Promise<void> {
    await this.db
      .updateTable('approvals')
      .set({ status: 'denied', reason: 'session ended', decided_at: this.clock.now() })
      .where('session_id', '=', sessionId)
      .where('status', '=', 'pending')
      .execute();
  }
}

export function approvalView(r: Selectable<ApprovalsTable>, now: number): ApprovalView {
  const expired = r.status === 'pending' && Number(r.expires_at) <= now;
  return {
    requestId: r.request_id,
    sessionId: r.session_id,
    tool: r.tool,
    summary: r.summary,
    status: expired ? 'expired' : r.status,
    reason: expired ? 'nobody answered in time' : r.reason,
    createdAt: Number(r.created_at),
    expiresAt: Number(r.expires_at),
    decidedAt: r.decided_at === null ? null : Number(r.decided_at),
  };
}
