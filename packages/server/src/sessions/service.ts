import {
  FabricError,
  isTerminal,
  newId,
  type CreateSessionRequest,
  type Envelope,
  type ErrorCode,
  type FinishedSession,
  type HarnessName,
  type PermissionMode,
  type RunningSession,
  type SessionStatus,
  type SessionView,
  type StreamEvent,
} from '@fabric/protocol';
import { enforce, policy, type Viewer } from '../auth/policy.js';
import { topics, type Bus, type DeviceCommand, type FleetChange } from '../bus.js';
import type { Clock } from '../clock.js';
import { silentLogger, type Logger } from '../log.js';
import { describePlacement, place, type DeviceState, type Placement, type PlacementRequest } from '../router/place.js';
import type { Db } from '../store/db.js';
import { deviceStates } from '../store/devices.js';
import { getSessionRow, getSessionView, type SessionRow } from '../store/sessions.js';
import type { VaultStore } from '../vault/store.js';
import { Approvals } from './approvals.js';
import { nextStatus, type SessionInput } from './state.js';
import type { AppendInput, EventWriter } from './writer.js';

interface Tracked {
  deviceId: string;
  status: SessionStatus;
}

export interface SessionServiceOptions {
  db: Db;
  bus: Bus;
  writer: EventWriter;
  clock: Clock;
  /** A `session.start` not acked within this goes to the next device (default 10 s). */
  ackTimeoutMs?: number;
  /** A session waiting for a device this long fails with `no_device` (default 10 min). */
  queueTimeoutMs?: number;
  /** A `lost` session whose device stays away this long fails with `device_offline` (default 10 min). */
  lostTimeoutMs?: number;
  vault: VaultStore;
  /** Where failures nobody awaits are reported (a session's output that could not be stored). */
  log?: Logger;
}

interface Detail {
  errorCode?: ErrorCode;
  message?: string;
  exit?: { code: number | null; signal: string | null };
  patch?: AppendInput['patch'];
}

/**
 * Owns session lifecycles: placement (with fail-over and a queue), dispatch,
 * the device's answers, metadata, approvals, cancel, input, resume, and what
 * happens when a device vanishes or comes back. Every status change is one
 * persisted event (with the row update in the same transaction), computed by
 * the pure {@link nextStatus}. Changes to one session are serialised.
 */
export class SessionService {
  private readonly db: Db;
  private readonly bus: Bus;
  private readonly writer: EventWriter;
  private readonly clock: Clock;
  private readonly ackTimeoutMs: number;
  private readonly queueTimeoutMs: number;
  private readonly lostTimeoutMs: number;
  private readonly vault: VaultStore;
  private readonly log: Logger;
  private readonly ackTimers = new Map<string, ReturnType<typeof setTimeout>>();
  private readonly locks = new Map<string, Promise<unknown>>();
  /** Non-terminal sessions this node has seen, for validating device output without a query. */
  private readonly tracked = new Map<string, Tracked>();
  private retrying: Promise<void> | null = null;
  private retryAgain = false;
  private closed = false;
  readonly approvals: Approvals;

  constructor(opts: SessionServiceOptions) {
    this.db = opts.db;
    this.bus = opts.bus;
    this.writer = opts.writer;
    this.clock = opts.clock;
    this.ackTimeoutMs = opts.ackTimeoutMs ?? 10_000;
    this.queueTimeoutMs = opts.queueTimeoutMs ?? 10 * 60_000;
    this.lostTimeoutMs = opts.lostTimeoutMs ?? 10 * 60_000;
    this.vault = opts.vault;
    this.log = opts.log ?? silentLogger;
    this.approvals = new Approvals(
      this.db,
      this.writer,
      this.clock,
      (deviceId, env) => this.sendToDevice(deviceId, env),
      async (sessionId) => {
        const row = await getSessionRow(this.db, sessionId);
        if (row)
          this.bus.publish(topics.fleet, {
            type: 'session',
            id: sessionId,
            status: row.status as SessionStatus,
            deviceId: row.device_id,
          } satisfies FleetChange);
      },
    );
  }

  /**
   * Create a session and place it: dispatched to the best device, or queued
   * when none fits yet. Throws a FabricError when no device could ever take
   * it as configured (nothing is stored then). `id` is given by a caller
   * that must know it before the run starts (an idempotency key's claim).
   */
  async create(requester: Viewer, req: CreateSessionRequest, id: string = newId('ses')): Promise<SessionView> {
    const userId = requester.sub;
    let harness: HarnessName = req.harness;
    let deviceId = req.deviceId;
    let resume: string | null = null;
    let permissionMode: PermissionMode = req.permissionMode ?? 'ask';
    let cwd = req.cwd ?? null;
    let labels = req.labels ?? {};
    if (req.resumeFrom) {
      const parent = await getSessionRow(this.db, req.resumeFrom);
      const missing = new FabricError('session_not_found', `no session ${req.resumeFrom} to resume`);
      if (!parent) throw missing;
      enforce(
        policy.session(requester, { createdBy: parent.created_by }, 'steer'),
        policy.session(requester, { createdBy: parent.created_by }, 'read'),
        missing,
        `resume session ${parent.id}`,
      );
      if (!isTerminal(parent.status as SessionStatus)) {
        throw new FabricError('conflict', `session ${parent.id} is still ${parent.status}; send it input instead`);
      }
      if (!parent.harness_session_id) {
        throw new FabricError(
          'bad_request',
          `session ${parent.id} has no harness session id to resume (its harness never reported one)`,
        );
      }
      harness = parent.harness as HarnessName;
      deviceId = parent.device_id ?? undefined; // the conversation lives on that machine
      resume = parent.harness_session_id;
      permissionMode = req.permissionMode ?? (parent.permission_mode as PermissionMode | null) ?? 'ask';
      cwd = req.cwd ?? parent.cwd;
      labels = {};
    }
    const credentials = [...new Set(req.credentials ?? [])];
    let vaultRecipients: string[] | undefined;
    if (credentials.length > 0) {
      const set = await this.vault.requireSet();
      await this.vault.assertMayUse(credentials, userId); // exists, and the requester is on each entry's access list
      vaultRecipients = set.recipients.map((r) => r.recipient);
    }
    const request: PlacementRequest = {
      harness,
      prompt: req.prompt,
      deviceId,
      labels,
      vaultRecipients,
      requesterId: userId,
    };
    const devices = placeable(await deviceStates(this.db), requester, deviceId);
    const placement = place(devices, request);
    if (placement.kind === 'refuse') throw placement.error;

    const now = this.clock.now();
    await this.db
      .insertInto('sessions')
      .values({
        id,
        harness,
        prompt: req.prompt,
        status: 'queued',
        device_id: null,
        labels: JSON.stringify(labels),
        cwd,
        exit_code: null,
        signal: null,
        error_code: null,
        error_message: null,
        created_by: userId,
        created_at: now,
        started_at: null,
        ended_at: null,
        last_seq: 0,
        cancel_requested_at: null,
        permission_mode: permissionMode,
        model: req.model ?? null,
        harness_session_id: resume,
        parent_id: req.resumeFrom ?? null,
        placement: JSON.stringify({
          deviceId: deviceId ?? null,
          labels,
          text: describePlacement(placement, names(devices)),
        }),
        queued_until: now + this.queueTimeoutMs,
        tried_devices: '[]',
        credentials: JSON.stringify(credentials),
      })
      .execute();
    await this.settle(id, placement, devices);
    return (await getSessionView(this.db, id))!;
  }

  /**
   * Try every queued session again, oldest first (a device came online, freed
   * up, or was undrained); fail the ones past their queue timeout, and the
   * `lost` ones whose device stayed away past the lost timeout. Calls while a
   * pass runs fold into one more pass.
   */
  retryQueued(): Promise<void> {
    if (this.closed) return Promise.resolve();
    if (this.retrying) {
      this.retryAgain = true;
      return this.retrying;
    }
    this.retrying = (async () => {
      do {
        this.retryAgain = false;
        await this.failLongLost();
        const queued = await this.db
          .selectFrom('sessions')
          .selectAll()
          .where('status', '=', 'queued')
          .orderBy('created_at', 'asc')
          .execute();
        for (const row of queued) {
          if (this.closed) return;
          await this.replace(row);
        }
        // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- close() may run while a placement is awaited
      } while (this.retryAgain && !this.closed);
    })().finally(() => {
      this.retrying = null;
    });
    return this.retrying;
  }

  /**
   * Handle a session envelope from `deviceId`. Returns an error to send back
   * when the envelope names a session that is not this device's (nothing is
   * persisted then), or null.
   *
   * A device sends at least once (`dseq` set, resent until `delivered`), so a
   * resend is answered with null and stored nothing: output and usage by the
   * writer's high-water mark, approval requests by their id, status changes
   * by the state machine, which ignores what no longer applies. A session the
   * control plane placed on this device and then took back to the queue is
   * the device's again when the device shows it ran it (adopted); one that
   * went elsewhere or ended is answered silently and, on an ack, cancelled.
   */
  async fromDevice(deviceId: string, env: Envelope): Promise<{ code: ErrorCode; message: string } | null> {
    if (
      !('sessionId' in env.payload) ||
      env.type === 'session.start' ||
      env.type === 'session.input' ||
      env.type === 'session.cancel' ||
      env.type === 'session.approval'
    ) {
      return { code: 'invalid_envelope', message: `${env.type} cannot be sent by a device` };
    }
    const sessionId: string = env.payload.sessionId;
    const owned = (await this.ownedBy(sessionId, deviceId)) ?? (await this.adopt(sessionId, deviceId, env.type));
    if (!owned) {
      // A late ack from a device the session moved away from (or never had): stop its process.
      if (env.type === 'session.ack') this.sendCancel(deviceId, sessionId, 'session was placed elsewhere');
      if (await this.wasPlacedOn(sessionId, deviceId)) return null;
      return { code: 'session_not_found', message: `session ${sessionId} is not running on this device` };
    }
    const ts = this.clock.now();
    const ended = isTerminal(owned.status);
    // Output after the end is a resend (a device sends in order, and the exit came after it) when it has a dseq.
    const finished =
      env.dseq === undefined
        ? { code: 'session_finished' as const, message: `session ${sessionId} has already ended` }
        : null;
    const dseq = env.dseq === undefined ? {} : { dseq: env.dseq };
    switch (env.type) {
      case 'session.stdout':
      case 'session.stderr':
        if (ended) return finished;
        void this.writer
          .appendOnce({
            sessionId,
            kind: env.type === 'session.stdout' ? 'stdout' : 'stderr',
            data: env.payload.data,
            meta: null,
            ts,
            ...dseq,
          })
          .catch((err: unknown) => this.notStored(sessionId, err));
        return null;
      case 'session.event':
        if (ended) return finished;
        void this.writer
          .appendOnce({ sessionId, kind: 'event', data: env.payload.event, meta: null, ts, ...dseq })
          .catch((err: unknown) => this.notStored(sessionId, err));
        return null;
      case 'session.meta':
        await this.meta(sessionId, deviceId, env.payload, dseq);
        return null;
      case 'session.approval_request': {
        if (ended) return finished;
        const seen = await this.db
          .selectFrom('approvals')
          .select('request_id')
          .where('request_id', '=', env.payload.requestId)
          .executeTakeFirst();
        if (seen) return null;
        await this.approvals.requested(env.payload);
        return null;
      }
      case 'session.ack':
        this.clearAckTimer(sessionId);
        await this.apply(sessionId, { type: 'acked' }, {});
        return null;
      case 'session.refuse':
        this.clearAckTimer(sessionId);
        await this.apply(
          sessionId,
          { type: 'refused', code: env.payload.code },
          { errorCode: env.payload.code, message: env.payload.message },
        );
        return null;
      case 'session.exit': {
        this.clearAckTimer(sessionId);
        const row = await getSessionRow(this.db, sessionId);
        await this.apply(
          sessionId,
          { type: 'exited', code: env.payload.code, cancelRequested: row?.cancel_requested_at != null },
          {
            exit: { code: env.payload.code, signal: env.payload.signal },
          },
        );
        return null;
      }
      default:
        return { code: 'invalid_envelope', message: `${env.type} cannot be sent by a device` };
    }
  }

  /** Ask the session's device to stop it; a session with no live process ends at once. */
  async cancel(sessionId: string, reason?: string): Promise<SessionView> {
    const row = await getSessionRow(this.db, sessionId);
    if (!row) throw new FabricError('session_not_found', `no session ${sessionId}`);
    const status = row.status as SessionStatus;
    if (isTerminal(status))
      throw new FabricError('session_finished', `session ${sessionId} has already ended (${status})`);
    const device = row.device_id
      ? await this.db.selectFrom('devices').select(['online']).where('id', '=', row.device_id).executeTakeFirst()
      : undefined;
    if (status === 'queued' || status === 'lost' || device?.online !== 1) {
      this.clearAckTimer(sessionId);
      await this.apply(sessionId, { type: 'cancelled' }, { message: reason ?? 'cancelled' });
    } else {
      await this.db
        .updateTable('sessions')
        .set({ cancel_requested_at: this.clock.now() })
        .where('id', '=', sessionId)
        .execute();
      this.sendCancel(row.device_id!, sessionId, reason);
    }
    return (await getSessionView(this.db, sessionId))!;
  }

  /** Forward input to a running session and record it in the session's stream. */
  async input(sessionId: string, data: string, eof: boolean): Promise<StreamEvent> {
    const row = await getSessionRow(this.db, sessionId);
    if (!row) throw new FabricError('session_not_found', `no session ${sessionId}`);
    const status = row.status as SessionStatus;
    if (isTerminal(status)) {
      throw new FabricError(
        'session_finished',
        `session ${sessionId} has already ended (${status}); resume it with "optimal session resume ${sessionId}"`,
      );
    }
    if (status !== 'running' && status !== 'starting') {
      throw new FabricError('device_offline', `session ${sessionId} is ${status}; input needs a running session`);
    }
    const event = await this.writer.append({
      sessionId,
      kind: 'input',
      data,
      meta: eof ? { message: 'eof' } : null,
      ts: this.clock.now(),
    });
    this.sendToDevice(row.device_id!, {
      corrId: sessionId,
      type: 'session.input',
      direction: 'to_device',
      ts: this.clock.now(),
      payload: { sessionId, data, eof },
    });
    return event;
  }

  /**
   * The device's socket closed or went silent (or the control plane restarted
   * without it): its running sessions become `lost` until it comes back or
   * the lost timeout passes. A `starting` one keeps (or, after a restart,
   * gets) its ack timer: the device may have started it, and says so in its
   * next hello; if it does not come back in time the session moves on.
   */
  async deviceGone(deviceId: string): Promise<void> {
    const rows = await this.db
      .selectFrom('sessions')
      .select(['id', 'status'])
      .where('device_id', '=', deviceId)
      .where('status', 'in', ['starting', 'running'])
      .execute();
    for (const r of rows) {
      if (r.status === 'starting') this.armAckTimer(r.id, deviceId);
      else await this.apply(r.id, { type: 'device_lost' }, { message: 'device disconnected' });
    }
  }

  /**
   * A device (re)connected and listed the sessions it holds: those it still
   * runs, and those it finished whose exit (and maybe output) is still in its
   * outbox, which follows hello on the same socket. The control plane adopts
   * that: each such session is `running` here until its exit arrives, even
   * one it had taken back to the queue. A session the device does not hold
   * goes back to the queue if it never started (the start was lost on the
   * way) or fails if it did; live processes of sessions that ended here or
   * went elsewhere are told to stop. Then the queue is retried.
   */
  async reconcile(deviceId: string, running: RunningSession[], finished: FinishedSession[] = []): Promise<void> {
    const live = new Set(running.map((r) => r.sessionId));
    const held = new Set([...live, ...finished.map((f) => f.sessionId)]);
    const rows = await this.db
      .selectFrom('sessions')
      .select(['id', 'status', 'cancel_requested_at', 'started_at'])
      .where('device_id', '=', deviceId)
      .where('status', 'in', ['starting', 'running', 'lost'])
      .execute();
    const known = new Set<string>();
    for (const r of rows) {
      known.add(r.id);
      if (held.has(r.id)) {
        if (r.status !== 'running') {
          this.clearAckTimer(r.id);
          await this.apply(r.id, { type: 'device_reclaimed' }, { message: 'device reconnected' });
        }
        if (r.cancel_requested_at !== null && live.has(r.id)) this.sendCancel(deviceId, r.id);
      } else if (r.started_at === null) {
        this.clearAckTimer(r.id);
        await this.requeue(r.id, deviceId, 'device reconnected without having started it', false);
      } else {
        this.clearAckTimer(r.id);
        await this.apply(
          r.id,
          { type: 'device_forgot' },
          { errorCode: 'device_offline', message: 'device restarted without this session; its process is gone' },
        );
      }
    }
    for (const id of held) {
      if (known.has(id)) continue;
      if (await this.adopt(id, deviceId, 'hello')) continue;
      if (live.has(id)) this.sendCancel(deviceId, id, 'session already ended on the control plane');
    }
    this.kick();
  }

  /** Stop timers and queue passes; waits for a pass in progress. Pending writes are left to the writer's drain. */
  async close(): Promise<void> {
    this.closed = true;
    for (const t of this.ackTimers.values()) clearTimeout(t);
    this.ackTimers.clear();
    await this.retrying?.catch(() => {});
  }

  /** Retry the queue in the background (failures are the next pass's to retry). */
  private kick(): void {
    this.retryQueued().catch(() => {});
  }

  // ---- placement ------------------------------------------------------------

  /** Re-place one queued session (from the retry pass). */
  private async replace(row: SessionRow): Promise<void> {
    if (row.status !== 'queued') return;
    if (row.queued_until !== null && Number(row.queued_until) <= this.clock.now()) {
      const why = readPlacementText(row.placement) ?? 'no device could take it';
      await this.apply(
        row.id,
        { type: 'queue_timeout' },
        { errorCode: 'no_device', message: `waited too long for a device: ${why}` },
      );
      return;
    }
    const creator = await this.db
      .selectFrom('users')
      .select('role')
      .where('id', '=', row.created_by)
      .executeTakeFirst();
    const request = { ...requestOf(row), requesterId: row.created_by };
    // A creator whose account is gone keeps only what a member would have.
    const devices = placeable(
      await deviceStates(this.db),
      { sub: row.created_by, role: creator?.role ?? 'member' },
      request.deviceId,
    );
    const names = JSON.parse(row.credentials ?? '[]') as string[];
    if (names.length > 0)
      request.vaultRecipients = (await this.vault.currentSet())?.recipients.map((r) => r.recipient) ?? [];
    const placement = place(devices, request);
    if (placement.kind === 'refuse') {
      await this.apply(
        row.id,
        { type: 'queue_timeout' },
        { errorCode: placement.error.code, message: placement.error.message },
      );
      return;
    }
    await this.settle(row.id, placement, devices);
  }

  /** Act on a placement for a queued session: dispatch it, or record why it waits. */
  private async settle(
    id: string,
    placement: Placement,
    devices: Awaited<ReturnType<typeof deviceStates>>,
  ): Promise<void> {
    const row = (await getSessionRow(this.db, id))!;
    const text = describePlacement(placement, names(devices));
    const stored = JSON.stringify({ ...(JSON.parse(row.placement ?? '{}') as object), text });
    if (placement.kind !== 'placed') {
      if (readPlacementText(row.placement) !== text || row.last_seq === 0) {
        await this.db.updateTable('sessions').set({ placement: stored }).where('id', '=', id).execute();
        await this.writer.append({
          sessionId: id,
          kind: 'status',
          data: null,
          meta: { status: 'queued', message: text },
          ts: this.clock.now(),
        });
      }
      return;
    }
    const deviceId = placement.deviceId;
    this.tracked.set(id, { deviceId, status: 'queued' });
    await this.apply(id, { type: 'dispatched' }, { message: text, patch: { device_id: deviceId, placement: stored } });
    const current = (await getSessionRow(this.db, id))!;
    if (current.status !== 'starting' || current.device_id !== deviceId) return;
    let credentials: Awaited<ReturnType<VaultStore['forSession']>>;
    try {
      credentials = await this.vault.forSession(JSON.parse(current.credentials ?? '[]') as string[], id, deviceId);
    } catch (err) {
      const e =
        err instanceof FabricError ? err : new FabricError('internal', "could not read the session's credentials");
      await this.apply(id, { type: 'refused', code: e.code }, { errorCode: e.code, message: e.message });
      return;
    }
    const device = await this.db.selectFrom('devices').select('owner_id').where('id', '=', deviceId).executeTakeFirst();
    const byDeviceOwner = device?.owner_id === current.created_by;
    this.sendToDevice(deviceId, {
      corrId: id,
      type: 'session.start',
      direction: 'to_device',
      ts: this.clock.now(),
      payload: {
        sessionId: id,
        harness: current.harness as HarnessName,
        prompt: current.prompt,
        cwd: current.cwd,
        labels: JSON.parse(current.labels) as Record<string, string>,
        permissionMode: (current.permission_mode as PermissionMode | null) ?? 'ask',
        resume: current.harness_session_id,
        model: current.model,
        credentials,
        byDeviceOwner,
      },
    });
    this.armAckTimer(id, deviceId);
  }

  /** No ack from `deviceId` within the ack timeout: the session goes to the queue (kept if one is already set). */
  private armAckTimer(id: string, deviceId: string): void {
    if (this.ackTimers.has(id) || this.closed) return;
    const timer = setTimeout(() => {
      this.ackTimers.delete(id);
      void this.requeue(id, deviceId, 'device did not acknowledge within the ack timeout').then(
        () => this.kick(),
        () => {},
      );
    }, this.ackTimeoutMs);
    timer.unref();
    this.ackTimers.set(id, timer);
  }

  /**
   * A session this device shows it ran (an envelope, or hello) that the
   * control plane had taken back to the queue after placing it there: it is
   * dispatched to the device and acknowledged, so the device's account of it
   * stands. Null when the session is not queued, or was never placed there.
   */
  private async adopt(sessionId: string, deviceId: string, why: string): Promise<Tracked | null> {
    const row = await getSessionRow(this.db, sessionId);
    if (row?.status !== 'queued') return null;
    if (!(JSON.parse(row.tried_devices ?? '[]') as string[]).includes(deviceId)) return null;
    const tried = (JSON.parse(row.tried_devices ?? '[]') as string[]).filter((d) => d !== deviceId);
    await this.apply(
      sessionId,
      { type: 'dispatched' },
      {
        message: `the device ran it after all (it sent ${why})`,
        patch: { device_id: deviceId, tried_devices: JSON.stringify(tried) },
      },
    );
    await this.apply(sessionId, { type: 'acked' }, {});
    const t: Tracked = { deviceId, status: 'running' };
    const now = await getSessionRow(this.db, sessionId);
    if (now?.device_id !== deviceId) return null;
    t.status = now.status as SessionStatus;
    if (!isTerminal(t.status)) this.tracked.set(sessionId, t);
    return t;
  }

  /** Whether the session exists and was placed on `deviceId` at some point. */
  private async wasPlacedOn(sessionId: string, deviceId: string): Promise<boolean> {
    const row = await getSessionRow(this.db, sessionId);
    if (!row) return false;
    return row.device_id === deviceId || (JSON.parse(row.tried_devices ?? '[]') as string[]).includes(deviceId);
  }

  /**
   * Output appends are not awaited (the relay would stall on each); one that
   * fails is reported here. Nothing is lost: its commit fails, so the device
   * is not told it was delivered and sends it again.
   */
  private notStored(sessionId: string, err: unknown): void {
    this.log.error(
      `session ${sessionId}: output not stored (the device will send it again): ${err instanceof Error ? err.message : String(err)}`,
    );
  }

  /** Fail the `lost` sessions whose device did not come back within the lost timeout. */
  private async failLongLost(): Promise<void> {
    const rows = await this.db
      .selectFrom('sessions')
      .select('id')
      .where('status', '=', 'lost')
      .where('lost_until', '<=', this.clock.now())
      .execute();
    const ms = this.lostTimeoutMs;
    const within =
      ms >= 60_000 ? `${Math.round(ms / 60_000)} min` : ms >= 1000 ? `${Math.round(ms / 1000)} s` : `${ms} ms`;
    for (const r of rows) {
      await this.apply(
        r.id,
        { type: 'device_forgot' },
        { errorCode: 'device_offline', message: `its device did not come back within ${within}` },
      );
    }
  }

  /** Take a `starting` session back to the queue and (when `exclude`) never offer it to `deviceId` again. */
  private async requeue(id: string, deviceId: string, why: string, exclude = true): Promise<void> {
    const row = await getSessionRow(this.db, id);
    if (row?.status !== 'starting' || row.device_id !== deviceId) return;
    const tried = new Set(JSON.parse(row.tried_devices ?? '[]') as string[]);
    if (exclude) tried.add(deviceId);
    this.tracked.delete(id);
    this.sendCancel(deviceId, id, 'session moved to another device');
    await this.apply(
      id,
      { type: 'requeued' },
      { message: why, patch: { device_id: null, tried_devices: JSON.stringify([...tried]) } },
    );
  }

  // ---- device messages ------------------------------------------------------

  private async meta(
    sessionId: string,
    deviceId: string,
    payload: Extract<Envelope, { type: 'session.meta' }>['payload'],
    dseq: { dseq?: number },
  ): Promise<void> {
    const ts = this.clock.now();
    const patch = payload.harnessSessionId ? { harness_session_id: payload.harnessSessionId } : undefined;
    if (payload.usage) {
      // One transaction: the usage row, its event and the harness session id are stored together or not at all.
      const row = await this.db.selectFrom('sessions').select('harness').where('id', '=', sessionId).executeTakeFirst();
      const u = payload.usage;
      await this.writer.appendOnce({
        sessionId,
        kind: 'usage',
        data: null,
        meta: { usage: u },
        ts,
        patch,
        ...dseq,
        usage: {
          device_id: deviceId,
          harness: row?.harness ?? 'unknown',
          input: u.input,
          output: u.output,
          cached: u.cached,
          cost_usd: u.costUsd ?? null,
        },
      });
    } else if (patch) {
      await this.db.updateTable('sessions').set(patch).where('id', '=', sessionId).execute();
    }
  }

  private sendToDevice(deviceId: string, envelope: Envelope): void {
    this.bus.publish(topics.device(deviceId), { type: 'send', envelope } satisfies DeviceCommand);
  }

  private sendCancel(deviceId: string, sessionId: string, reason?: string): void {
    this.sendToDevice(deviceId, {
      corrId: sessionId,
      type: 'session.cancel',
      direction: 'to_device',
      ts: this.clock.now(),
      payload: reason === undefined ? { sessionId } : { sessionId, reason },
    });
  }

  private clearAckTimer(id: string): void {
    const t = this.ackTimers.get(id);
    if (t) clearTimeout(t);
    this.ackTimers.delete(id);
  }

  private async ownedBy(sessionId: string, deviceId: string): Promise<Tracked | null> {
    let t = this.tracked.get(sessionId);
    if (!t) {
      const row = await this.db
        .selectFrom('sessions')
        .select(['device_id', 'status'])
        .where('id', '=', sessionId)
        .executeTakeFirst();
      if (!row?.device_id) return null;
      t = { deviceId: row.device_id, status: row.status as SessionStatus };
      if (!isTerminal(t.status)) this.tracked.set(sessionId, t);
    }
    return t.deviceId === deviceId ? t : null;
  }

  /** Apply one state-machine input to a session, serialised per session. */
  private apply(sessionId: string, input: SessionInput, detail: Detail): Promise<void> {
    const prev = this.locks.get(sessionId) ?? Promise.resolve();
    const run = prev.then(async () => {
      const row = await getSessionRow(this.db, sessionId);
      if (!row) return;
      const to = nextStatus(row.status as SessionStatus, input);
      if (to === null) return;
      const now = this.clock.now();
      const patch: NonNullable<AppendInput['patch']> = { ...detail.patch, status: to };
      if (to === 'running' && row.started_at === null) patch.started_at = now;
      if (to === 'lost') patch.lost_until = now + this.lostTimeoutMs;
      if (isTerminal(to)) patch.ended_at = now;
      if (detail.errorCode) patch.error_code = detail.errorCode;
      if (detail.errorCode && detail.message) patch.error_message = detail.message;
      const meta: NonNullable<StreamEvent['meta']> = { status: to };
      if (detail.errorCode) meta.errorCode = detail.errorCode;
      if (detail.message) meta.message = detail.message;
      let kind: AppendInput['kind'] = 'status';
      if (detail.exit) {
        kind = 'exit';
        patch.exit_code = detail.exit.code;
        patch.signal = detail.exit.signal;
        meta.code = detail.exit.code;
        meta.signal = detail.exit.signal;
      }
      await this.writer.append({ sessionId, kind, data: null, meta, ts: now, patch });
      const tracked = this.tracked.get(sessionId);
      if (isTerminal(to)) {
        this.tracked.delete(sessionId);
        await this.approvals.closeFor(sessionId);
      } else if (tracked) {
        tracked.status = to;
      }
      const deviceId = patch.device_id !== undefined ? patch.device_id : row.device_id;
      this.bus.publish(topics.fleet, { type: 'session', id: sessionId, status: to, deviceId } satisfies FleetChange);
      // A finished session frees capacity on its device.
      if (isTerminal(to) && row.device_id) this.kick();
    });
    const settled = run.catch(() => {});
    this.locks.set(sessionId, settled);
    void settled.then(() => {
      if (this.locks.get(sessionId) === settled) this.locks.delete(sessionId);
    });
    return run;
  }
}

function names(devices: readonly { id: string; name: string }[]): Map<string, string> {
  return new Map(devices.map((d) => [d.id, d.name]));
}

function readPlacementText(raw: string | null): string | null {
  if (!raw) return null;
  try {
    return (JSON.parse(raw) as { text?: string }).text ?? null;
  } catch {
    return null;
  }
}

/** The placement request a stored session was created with. */
function requestOf(row: SessionRow): PlacementRequest {
  const stored = JSON.parse(row.placement ?? '{}') as { deviceId?: string | null; labels?: Record<string, string> };
  return {
    harness: row.harness as HarnessName,
    prompt: row.prompt,
    deviceId: stored.deviceId ?? undefined,
    labels: stored.labels ?? {},
    exclude: new Set(JSON.parse(row.tried_devices ?? '[]') as string[]),
  };
}

/**
 * The devices a session of `requester` may be placed on ({@link policy.placement}):
 * the router never sees the others, so a pin to one of them is `device_not_found`.
 */
function placeable(devices: DeviceState[], requester: Viewer, pin: string | undefined): DeviceState[] {
  return devices.filter((d) =>
    policy.placement(
      requester,
      { ownerId: d.ownerId ?? '', sharedWith: d.sharedWith ?? [], deviceOwnerRole: d.ownerRole ?? null },
      pin !== undefined && (d.id === pin || d.name === pin),
    ),
  );
}
