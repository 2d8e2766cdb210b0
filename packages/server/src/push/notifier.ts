import { isTerminal, terminalStatuses, type SessionStatus } from '@fabric/protocol';
import { topics, type Bus } from '../bus.js';
import type { Clock } from '../clock.js';
import type { Logger } from '../log.js';
import type { FleetChange } from '../bus.js';
import type { Db } from '../store/db.js';
import { approvalMessage, NOTIFY_ON, sessionEndedMessage, type PushMessage } from './messages.js';
import type { PushSender, SendOptions } from './sender.js';
import type { PushSubscriptions } from './subscriptions.js';

const DAY = 24 * 60 * 60 * 1000;

export interface PushNotifierDeps {
  db: Db;
  bus: Bus;
  clock: Clock;
  log: Logger;
  subscriptions: PushSubscriptions;
  sender: PushSender;
}

/**
 * Turns fleet changes into Web Push notifications: a session that ends
 * (succeeded, failed, cancelled, refused) and an approval a harness asks
 * for. Session endings come from the bus `fleet` topic; approval requests
 * from the `session:<id>` topic of each live session (an `approval` event
 * with a request id and no decision yet), watched from its first status
 * change until it ends.
 *
 * Who is told: the user who started the session and every owner, on each
 * browser they subscribed. Each notice is claimed in `push_sent` before it
 * is sent, so with several control-plane nodes on one store (each sees the
 * whole bus) it still goes out once.
 */
export class PushNotifier {
  private readonly watched = new Map<string, () => void>();
  private readonly inflight = new Set<Promise<void>>();
  private stopFleet: (() => void) | null = null;
  private prune: ReturnType<typeof setInterval> | null = null;
  private closed = false;

  constructor(private readonly deps: PushNotifierDeps) {}

  /** Listen to the bus, and watch the sessions that are already live. */
  async start(): Promise<void> {
    this.stopFleet = this.deps.bus.subscribe(topics.fleet, (m) => this.onFleet(m));
    const live = await this.deps.db
      .selectFrom('sessions')
      .select('id')
      .where('status', 'not in', [...terminalStatuses])
      .execute();
    for (const s of live) this.watch(s.id);
    await this.pruneSent();
    this.prune = setInterval(
      () => {
        void this.pruneSent();
      },
      6 * 60 * 60 * 1000,
    );
    this.prune.unref();
  }

  /** Resolves when every notification started so far has been sent (or has failed). */
  async idle(): Promise<void> {
    while (this.inflight.size > 0) await Promise.allSettled([...this.inflight]);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.stopFleet?.();
    if (this.prune) clearInterval(this.prune);
    for (const stop of this.watched.values()) stop();
    this.watched.clear();
    await this.idle();
  }

  private onFleet(change: FleetChange): void {
    if (this.closed || change.type !== 'session') return;
    if (!isTerminal(change.status)) {
      this.watch(change.id);
      return;
    }
    this.watched.get(change.id)?.();
    this.watched.delete(change.id);
    if (NOTIFY_ON.includes(change.status)) this.track(this.sessionEnded(change.id, change.status));
  }

  private watch(sessionId: string): void {
    if (this.watched.has(sessionId)) return;
    this.watched.set(
      sessionId,
      this.deps.bus.subscribe(topics.session(sessionId), (m) => {
        const event = m;
        const meta = event.meta;
        if (event.kind === 'approval' && meta?.requestId && meta.expiresAt !== undefined && !meta.decision) {
          this.track(this.approvalRequested(sessionId, meta.requestId));
        }
      }),
    );
  }

  private track(work: Promise<void>): void {
    const p = work
      .catch((err: unknown) =>
        this.deps.log.error(`push notification failed: ${err instanceof Error ? err.message : String(err)}`),
      )
      .finally(() => this.inflight.delete(p));
    this.inflight.add(p);
  }

  private async sessionEnded(sessionId: string, status: SessionStatus): Promise<void> {
    const s = await this.session(sessionId);
    if (!s) return;
    const message = sessionEndedMessage({
      id: sessionId,
      harness: s.harness,
      status,
      exitCode: s.exit_code,
      errorCode: s.error_code,
      deviceName: s.device_name,
    });
    await this.notify(`session:${sessionId}:${status}`, [s.created_by], message, {
      ttl: DAY / 1000,
      urgency: 'normal',
    });
  }

  private async approvalRequested(sessionId: string, requestId: string): Promise<void> {
    const [s, approval] = await Promise.all([
      this.session(sessionId),
      this.deps.db
        .selectFrom('approvals')
        .select(['tool', 'summary', 'status', 'expires_at'])
        .where('request_id', '=', requestId)
        .executeTakeFirst(),
    ]);
    if (!s || approval?.status !== 'pending') return;
    const ttl = Math.max(60, Math.floor((Number(approval.expires_at) - this.deps.clock.now()) / 1000));
    const message = approvalMessage({
      sessionId,
      harness: s.harness,
      deviceName: s.device_name,
      tool: approval.tool,
      summary: approval.summary,
    });
    await this.notify(`approval:${sessionId}:${requestId}`, [s.created_by], message, { ttl, urgency: 'high' });
  }

  /** Claim `key` (once per store), then send to the session's creator and every owner. */
  private async notify(key: string, users: string[], message: PushMessage, options: SendOptions): Promise<void> {
    const claimed = await this.deps.db
      .insertInto('push_sent')
      .values({ key, sent_at: this.deps.clock.now() })
      .onConflict((oc) => oc.column('key').doNothing())
      .executeTakeFirst();
    if (Number(claimed.numInsertedOrUpdatedRows ?? 0) !== 1) return;
    const owners = await this.deps.db.selectFrom('users').select('id').where('role', '=', 'owner').execute();
    const recipients = [...new Set([...users, ...owners.map((o) => o.id)])];
    const subs = await this.deps.subscriptions.forUsers(recipients);
    if (subs.length > 0) await this.deps.sender.send(subs, message, options);
  }

  private session(id: string) {
    return this.deps.db
      .selectFrom('sessions')
      .leftJoin('devices', 'devices.id', 'sessions.device_id')
      .select([
        'sessions.harness',
        'sessions.created_by',
        'sessions.exit_code',
        'sessions.error_code',
        'devices.name as device_name',
      ])
      .where('sessions.id', '=', id)
      .executeTakeFirst();
  }

  private async pruneSent(): Promise<void> {
    await this.deps.db
      .deleteFrom('push_sent')
      .where('sent_at', '<', this.deps.clock.now() - 7 * DAY)
      .execute()
      .catch((err: unknown) => this.deps.log.warn(`push: pruning sent notices failed: ${String(err)}`));
  }
}
