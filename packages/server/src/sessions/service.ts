import {
  FabricError, isTerminal, newId,
  type CreateSessionRequest, type Envelope, type ErrorCode, type HarnessName, type PermissionMode, type RunningSession,
  type SessionStatus, type SessionView, type StreamEvent,
} from '@fabric/protocol';
import { enforce, policy, type Viewer } from '../auth/policy.js';
import type { Bus } from '../bus.js';
import { topics } from '../bus.js';
import type { Clock } from '../clock.js';
import { describePlacement, place, type DeviceState, type Placement, type PlacementRequest } from '../router/place.js';
import type { Db } from '../store/db.js';
import { deviceStates } from '../store/devices.js';
import { getSessionRow, getSessionView, type SessionRow } from '../store/sessions.js';
import type { VaultStore } from '../vault/store.js';
import { Approvals } from './approvals.js';
import { nextStatus, type SessionInput } from './state.js';
import type { AppendInput, EventWriter } from './writer.js';

/** Messages on a `device:<id>` bus topic, delivered by the node that holds that device's socket. */
export type DeviceCommand =
  | { type: 'send'; envelope: Envelope }
  | { type: 'close'; code: number; reason: string };

/** Messages on the `fleet` topic. */
export type FleetChange =
  | { type: 'device'; id: string; online: boolean }
  | { type: 'session'; id: string; status: SessionStatus; deviceId: string | null }
  | { type: 'board'; cardId: string };

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
  vault: VaultStore;
}

type Detail = { errorCode?: ErrorCode; message?: string; exit?: { code: number | null; signal: string | null }; patch?: AppendInput['patch'] };

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
  private readonly vault: VaultStore;
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
    this.vault = opts.vault;
    this.approvals = new Approvals(this.db, this.writer, this.clock, (deviceId, env) => this.sendToDevice(deviceId, env));
  }

  /**
   * Create a session and place it: dispatched to the best device, or queued
   * when none fits yet. Throws a FabricError when no device could ever take
   * it as configured (nothing is stored then).
   */
  async create(requester: Viewer, req: CreateSessionRequest): Promise<SessionView> {
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
      enforce(policy.session(requester, { createdBy: parent.created_by }, 'steer'), policy.session(requester, { createdBy: parent.created_by }, 'read'), missing, `resume session ${parent.id}`);
      if (!isTerminal(parent.status as SessionStatus)) {
        throw new FabricError('conflict', `session ${parent.id} is still ${parent.status}; send it input instead`);
      }
      if (!parent.harness_session_id) {
        throw new FabricError('bad_request', `session ${parent.id} has no harness session id to resume (its harness never reported one)`);
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
    const request: PlacementRequest = { harness, prompt: req.prompt, deviceId, labels, vaultRecipients, requesterId: userId };
    const devices = placeable(await deviceStates(this.db), requester, deviceId);
    const placement = place(devices, request);
    if (placement.kind === 'refuse') throw placement.error;

    const id = newId('ses');
    const now = this.clock.now();
    await this.db.insertInto('sessions').values({
      id, harness, prompt: req.prompt, status: 'queued', device_id: null,
      labels: JSON.stringify(labels), cwd, exit_code: null, signal: null, error_code: null, error_message: null,
      created_by: userId, created_at: now, started_at: null, ended_at: null, last_seq: 0, cancel_requested_at: null,
      permission_mode: permissionMode, model: req.model ?? null, harness_session_id: resume, parent_id: req.resumeFrom ?? null,
      placement: JSON.stringify({ deviceId: deviceId ?? null, labels, text: describePlacement(placement, names(devices)) }),
      queued_until: now + this.queueTimeoutMs, tried_devices: '[]', credentials: JSON.stringify(credentials),
    }).execute();
    await this.settle(id, placement, devices);
    return (await getSessionView(this.db, id))!;
  }

  /**
   * Try every queued session again, oldest first (a device came online, freed
   * up, or was undrained); fail the ones past their queue timeout. Calls
   * while a pass runs fold into one more pass.
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
        const queued = await this.db.selectFrom('sessions').selectAll().where('status', '=', 'queued').orderBy('created_at', 'asc').execute();
        for (const row of queued) {
          if (this.closed) return;
          await this.replace(row);
        }
      } while (this.retryAgain && !this.closed);
    })().finally(() => { this.retrying = null; });
    return this.retrying;
  }

  /**
   * Handle a session envelope from `deviceId`. Returns an error to send back
   * when the envelope names a session that is not this device's (nothing is
   * persisted then), or null.
   */
  async fromDevice(deviceId: string, env: Envelope): Promise<{ code: ErrorCode; message: string } | null> {
    if (!('sessionId' in env.payload) || env.type === 'session.start' || env.type === 'session.input'
      || env.type === 'session.cancel' || env.type === 'session.approval') {
      return { code: 'invalid_envelope', message: `${env.type} cannot be sent by a device` };
    }
    const sessionId: string = env.payload.sessionId;
    const owned = await this.ownedBy(sessionId, deviceId);
    if (!owned) {
      // A late ack from a device the session moved away from: stop its process.
      if (env.type === 'session.ack') this.sendCancel(deviceId, sessionId, 'session was placed elsewhere');
      return { code: 'session_not_found', message: `session ${sessionId} is not running on this device` };
    }
    const ts = this.clock.now();
    const ended = isTerminal(owned.status);
    const finished = { code: 'session_finished' as const, message: `session ${sessionId} has already ended` };
    switch (env.type) {
      case 'session.stdout':
      case 'session.stderr':
        if (ended) return finished;
        void this.writer.append({ sessionId, kind: env.type === 'session.stdout' ? 'stdout' : 'stderr', data: env.payload.data, meta: null, ts }).catch(() => {});
        return null;
      case 'session.event':
        if (ended) return finished;
        void this.writer.append({ sessionId, kind: 'event', data: JSON.stringify(env.payload.event), meta: null, ts }).catch(() => {});
        return null;
      case 'session.meta':
        await this.meta(sessionId, deviceId, env.payload);
        return null;
      case 'session.approval_request':
        if (ended) return finished;
        await this.approvals.requested(env.payload);
        return null;
      case 'session.ack':
        this.clearAckTimer(sessionId);
        await this.apply(sessionId, { type: 'acked' }, {});
        return null;
      case 'session.refuse':
        this.clearAckTimer(sessionId);
        await this.apply(sessionId, { type: 'refused', code: env.payload.code }, { errorCode: env.payload.code, message: env.payload.message });
        return null;
      case 'session.exit': {
        this.clearAckTimer(sessionId);
        const row = await getSessionRow(this.db, sessionId);
        await this.apply(sessionId, { type: 'exited', code: env.payload.code, cancelRequested: row?.cancel_requested_at != null }, {
          exit: { code: env.payload.code, signal: env.payload.signal },
        });
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
    if (isTerminal(status)) throw new FabricError('session_finished', `session ${sessionId} has already ended (${status})`);
    const device = row.device_id ? await this.db.selectFrom('devices').select(['online']).where('id', '=', row.device_id).executeTakeFirst() : undefined;
    if (status === 'queued' || status === 'lost' || !device || device.online !== 1) {
      this.clearAckTimer(sessionId);
      await this.apply(sessionId, { type: 'cancelled' }, { message: reason ?? 'cancelled' });
    } else {
      await this.db.updateTable('sessions').set({ cancel_requested_at: this.clock.now() }).where('id', '=', sessionId).execute();
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
      throw new FabricError('session_finished', `session ${sessionId} has already ended (${status}); resume it with "optimal session resume ${sessionId}"`);
    }
    if (status !== 'running' && status !== 'starting') {
      throw new FabricError('device_offline', `session ${sessionId} is ${status}; input needs a running session`);
    }
    const event = await this.writer.append({ sessionId, kind: 'input', data, meta: eof ? { message: 'eof' } : null, ts: this.clock.now() });
    this.sendToDevice(row.device_id!, {
      corrId: sessionId, type: 'session.input', direction: 'to_device', ts: this.clock.now(),
      payload: { sessionId, data, eof },
    });
    return event;
  }

  /** The device's socket closed or went silent: its unfinished sessions become `lost`. */
  async deviceGone(deviceId: string): Promise<void> {
    const rows = await this.db.selectFrom('sessions').select(['id', 'status']).where('device_id', '=', deviceId)
      .where('status', 'in', ['starting', 'running']).execute();
    for (const r of rows) {
      this.clearAckTimer(r.id);
      // A session never acknowledged can go to another device; one that ran cannot.
      if (r.status === 'starting') await this.requeue(r.id, deviceId, 'device disconnected before acknowledging');
      else await this.apply(r.id, { type: 'device_lost' }, { message: 'device disconnected' });
    }
    if (rows.some((r) => r.status === 'starting')) this.kick();
  }

  /**
   * A device (re)connected and listed what it still runs. Sessions it runs
   * come back to `running`; sessions it no longer knows fail; processes the
   * control plane has already finished are told to stop. Then the queue is
   * retried, since a device just became available.
   */
  async reconcile(deviceId: string, running: RunningSession[]): Promise<void> {
    const live = new Set(running.map((r) => r.sessionId));
    const rows = await this.db.selectFrom('sessions').select(['id', 'status', 'cancel_requested_at'])
      .where('device_id', '=', deviceId).where('status', 'in', ['starting', 'running', 'lost']).execute();
    const known = new Set<string>();
    for (const r of rows) {
      known.add(r.id);
      if (live.has(r.id)) {
        if (r.status !== 'running') {
          this.clearAckTimer(r.id);
          await this.apply(r.id, { type: 'device_reclaimed' }, { message: 'device reconnected' });
        }
        if (r.cancel_requested_at !== null) this.sendCancel(deviceId, r.id);
      } else {
        this.clearAckTimer(r.id);
        await this.apply(r.id, { type: 'device_forgot' }, { errorCode: 'device_offline', message: 'device restarted without this session; its process is gone' });
      }
    }
    for (const id of live) {
      if (!known.has(id)) this.sendCancel(deviceId, id, 'session already ended on the control plane');
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
      await this.apply(row.id, { type: 'queue_timeout' }, { errorCode: 'no_device', message: `waited too long for a device: ${why}` });
      return;
    }
    const creator = await this.db.selectFrom('users').select('role').where('id', '=', row.created_by).executeTakeFirst();
    const request = { ...requestOf(row), requesterId: row.created_by };
    // A creator whose account is gone keeps only what a member would have.
    const devices = placeable(await deviceStates(this.db), { sub: row.created_by, role: creator?.role ?? 'member' }, request.deviceId);
    const names = JSON.parse(row.credentials ?? '[]') as string[];
    if (names.length > 0) request.vaultRecipients = (await this.vault.currentSet())?.recipients.map((r) => r.recipient) ?? [];
    const placement = place(devices, request);
    if (placement.kind === 'refuse') {
      await this.apply(row.id, { type: 'queue_timeout' }, { errorCode: placement.error.code, message: placement.error.message });
      return;
    }
    await this.settle(row.id, placement, devices);
  }

  /** Act on a placement for a queued session: dispatch it, or record why it waits. */
  private async settle(id: string, placement: Placement, devices: Awaited<ReturnType<typeof deviceStates>>): Promise<void> {
    const row = (await getSessionRow(this.db, id))!;
    const text = describePlacement(placement, names(devices));
    const stored = JSON.stringify({ ...JSON.parse(row.placement ?? '{}') as object, text });
    if (placement.kind !== 'placed') {
      if (readPlacementText(row.placement) !== text || row.last_seq === 0) {
        await this.db.updateTable('sessions').set({ placement: stored }).where('id', '=', id).execute();
        await this.writer.append({ sessionId: id, kind: 'status', data: null, meta: { status: 'queued', message: text }, ts: this.clock.now() });
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
      const e = err instanceof FabricError ? err : new FabricError('internal', 'could not read the session\'s credentials');
      await this.apply(id, { type: 'refused', code: e.code }, { errorCode: e.code, message: e.message });
      return;
    }
    const device = await this.db.selectFrom('devices').select('owner_id').where('id', '=', deviceId).executeTakeFirst();
    const byDeviceOwner = device?.owner_id === current.created_by;
    this.sendToDevice(deviceId, {
      corrId: id, type: 'session.start', direction: 'to_device', ts: this.clock.now(),
      payload: {
        sessionId: id, harness: current.harness as HarnessName, prompt: current.prompt, cwd: current.cwd,
        labels: JSON.parse(current.labels) as Record<string, string>,
        permissionMode: (current.permission_mode as PermissionMode | null) ?? 'ask',
        resume: current.harness_session_id, model: current.model, credentials,
        byDeviceOwner,
      },
    });
    this.ackTimers.set(id, setTimeout(() => {
      this.ackTimers.delete(id);
      void this.requeue(id, deviceId, 'device did not acknowledge within the ack timeout').then(() => this.kick(), () => {});
    }, this.ackTimeoutMs));
  }

  /** Take a `starting` session back to the queue and never offer it to `deviceId` again. */
  private async requeue(id: string, deviceId: string, why: string): Promise<void> {
    const row = await getSessionRow(this.db, id);
    if (!row || row.status !== 'starting' || row.device_id !== deviceId) return;
    const tried = new Set(JSON.parse(row.tried_devices ?? '[]') as string[]);
    tried.add(deviceId);
    this.tracked.delete(id);
    this.sendCancel(deviceId, id, 'session moved to another device');
    await this.apply(id, { type: 'requeued' }, { message: why, patch: { device_id: null, tried_devices: JSON.stringify([...tried]) } });
  }

  // ---- device messages ------------------------------------------------------

  private async meta(sessionId: string, deviceId: string, payload: Extract<Envelope, { type: 'session.meta' }>['payload']): Promise<void> {
    const ts = this.clock.now();
    const patch = payload.harnessSessionId ? { harness_session_id: payload.harnessSessionId } : undefined;
    if (payload.usage) {
      // One transaction: the usage row, its event and the harness session id are stored together or not at all.
      const row = await this.db.selectFrom('sessions').select('harness').where('id', '=', sessionId).executeTakeFirst();
      const u = payload.usage;
      await this.writer.append({
        sessionId, kind: 'usage', data: null, meta: { usage: u }, ts, patch,
        usage: { device_id: deviceId, harness: row?.harness ?? 'unknown', input: u.input, output: u.output, cached: u.cached, cost_usd: u.costUsd ?? null },
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
      corrId: sessionId, type: 'session.cancel', direction: 'to_device', ts: this.clock.now(),
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
      const row = await this.db.selectFrom('sessions').select(['device_id', 'status']).where('id', '=', sessionId).executeTakeFirst();
      if (!row || !row.device_id) return null;
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

function names(devices: ReadonlyArray<{ id: string; name: string }>): Map<string, string> {
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
  return devices.filter((d) => policy.placement(
    requester,
    { ownerId: d.ownerId ?? '', sharedWith: d.sharedWith ?? [], deviceOwnerRole: d.ownerRole ?? null },
    pin !== undefined && (d.id === pin || d.name === pin),
  ));
}
