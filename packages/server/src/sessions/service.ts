import {
  FabricError, isTerminal, newId,
  type CreateSessionRequest, type Envelope, type ErrorCode, type RunningSession,
  type SessionStatus, type SessionView, type StreamEvent,
} from '@fabric/protocol';
import type { Bus } from '../bus.js';
import { topics } from '../bus.js';
import type { Clock } from '../clock.js';
import { pickDevice, type Candidate } from '../router/pick.js';
import type { Db } from '../store/db.js';
import { readCapabilities } from '../store/devices.js';
import { getSessionRow, getSessionView } from '../store/sessions.js';
import { nextStatus, type SessionInput } from './state.js';
import type { AppendInput, EventWriter } from './writer.js';

/** Messages on a `device:<id>` bus topic, delivered by the node that holds that device's socket. */
export type DeviceCommand =
  | { type: 'send'; envelope: Envelope }
  | { type: 'close'; code: number; reason: string };

/** Messages on the `fleet` topic. */
export type FleetChange =
  | { type: 'device'; id: string; online: boolean }
  | { type: 'session'; id: string; status: SessionStatus; deviceId: string | null };

interface Tracked {
  deviceId: string;
  status: SessionStatus;
}

export interface SessionServiceOptions {
  db: Db;
  bus: Bus;
  writer: EventWriter;
  clock: Clock;
  /** A `session.start` not acked within this fails the session (default 10 s). */
  ackTimeoutMs?: number;
}

/**
 * Owns session lifecycles: placement, dispatch, the device's answers, cancel,
 * input, and what happens when a device vanishes or comes back. Every status
 * change is one persisted event (with the row update in the same
 * transaction), computed by the pure {@link nextStatus}. Changes to one
 * session are serialised, so a late ack and an exit cannot interleave.
 */
export class SessionService {
  private readonly db: Db;
  private readonly bus: Bus;
  private readonly writer: EventWriter;
  private readonly clock: Clock;
  private readonly ackTimeoutMs: number;
  private readonly ackTimers = new Map<string, ReturnType<typeof setTimeout>>();
  private readonly locks = new Map<string, Promise<unknown>>();
  /** Non-terminal sessions this node has seen, for validating device output without a query. */
  private readonly tracked = new Map<string, Tracked>();

  constructor(opts: SessionServiceOptions) {
    this.db = opts.db;
    this.bus = opts.bus;
    this.writer = opts.writer;
    this.clock = opts.clock;
    this.ackTimeoutMs = opts.ackTimeoutMs ?? 10_000;
  }

  /** Place and dispatch a new session; throws a FabricError when no device can take it. */
  async create(userId: string, req: CreateSessionRequest): Promise<SessionView> {
    const rows = await this.db.selectFrom('devices').selectAll().execute();
    const candidates: Candidate[] = rows.map((r) => ({
      id: r.id,
      name: r.name,
      online: r.online === 1,
      revoked: r.revoked_at !== null,
      capabilities: readCapabilities(r.capabilities),
    }));
    const device = pickDevice(candidates, { harness: req.harness, prompt: req.prompt, deviceId: req.deviceId, labels: req.labels });
    const id = newId('ses');
    const now = this.clock.now();
    await this.db.insertInto('sessions').values({
      id,
      harness: req.harness,
      prompt: req.prompt,
      status: 'queued',
      device_id: device.id,
      labels: JSON.stringify(req.labels ?? {}),
      cwd: req.cwd ?? null,
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
    }).execute();
    this.tracked.set(id, { deviceId: device.id, status: 'queued' });

    await this.apply(id, { type: 'dispatched' }, {});
    this.sendToDevice(device.id, {
      corrId: id,
      type: 'session.start',
      direction: 'to_device',
      ts: this.clock.now(),
      payload: {
        sessionId: id, harness: req.harness, prompt: req.prompt, cwd: req.cwd ?? null, labels: req.labels ?? {},
        permissionMode: 'ask', resume: null, model: null,
      },
    });
    this.ackTimers.set(id, setTimeout(() => {
      this.ackTimers.delete(id);
      void this.apply(id, { type: 'ack_timeout' }, { errorCode: 'device_timeout', message: 'device did not acknowledge the session within 10 s' });
    }, this.ackTimeoutMs));
    const view = await getSessionView(this.db, id);
    return view!;
  }

  /**
   * Handle a session envelope from `deviceId`. Returns an error to send back
   * when the envelope names a session that is not this device's (nothing is
   * persisted then), or null.
   */
  async fromDevice(deviceId: string, env: Envelope): Promise<{ code: ErrorCode; message: string } | null> {
    if (!('sessionId' in env.payload) || env.type === 'session.start' || env.type === 'session.input' || env.type === 'session.cancel') {
      return { code: 'invalid_envelope', message: `${env.type} cannot be sent by a device` };
    }
    const sessionId: string = env.payload.sessionId;
    const owned = await this.ownedBy(sessionId, deviceId);
    if (!owned) return { code: 'session_not_found', message: `session ${sessionId} is not running on this device` };
    const ts = this.clock.now();
    switch (env.type) {
      case 'session.stdout':
      case 'session.stderr':
        if (isTerminal(owned.status)) return { code: 'session_finished', message: `session ${sessionId} has already ended` };
        void this.writer.append({ sessionId, kind: env.type === 'session.stdout' ? 'stdout' : 'stderr', data: env.payload.data, meta: null, ts })
          .catch(() => { /* the writer's failure is logged by whoever awaited drain; output is best effort past a crash */ });
        return null;
      case 'session.event':
        if (isTerminal(owned.status)) return { code: 'session_finished', message: `session ${sessionId} has already ended` };
        void this.writer.append({ sessionId, kind: 'event', data: JSON.stringify(env.payload.event), meta: null, ts }).catch(() => {});
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
      await this.apply(sessionId, { type: 'cancelled' }, { message: reason ?? 'cancelled' });
    } else {
      await this.db.updateTable('sessions').set({ cancel_requested_at: this.clock.now() }).where('id', '=', sessionId).execute();
      this.sendToDevice(row.device_id!, {
        corrId: sessionId, type: 'session.cancel', direction: 'to_device', ts: this.clock.now(),
        payload: reason === undefined ? { sessionId } : { sessionId, reason },
      });
    }
    return (await getSessionView(this.db, sessionId))!;
  }

  /** Forward input to a running session and record it in the session's stream. */
  async input(sessionId: string, data: string, eof: boolean): Promise<StreamEvent> {
    const row = await getSessionRow(this.db, sessionId);
    if (!row) throw new FabricError('session_not_found', `no session ${sessionId}`);
    const status = row.status as SessionStatus;
    if (isTerminal(status)) throw new FabricError('session_finished', `session ${sessionId} has already ended (${status})`);
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
    const rows = await this.db.selectFrom('sessions').select(['id']).where('device_id', '=', deviceId)
      .where('status', 'in', ['starting', 'running']).execute();
    for (const r of rows) {
      this.clearAckTimer(r.id);
      await this.apply(r.id, { type: 'device_lost' }, { message: 'device disconnected' });
    }
  }

  /**
   * A device (re)connected and listed what it still runs. Sessions it runs
   * come back to `running`; sessions it no longer knows fail; processes the
   * control plane has already finished are told to stop.
   */
  async reconcile(deviceId: string, running: RunningSession[]): Promise<void> {
    const live = new Set(running.map((r) => r.sessionId));
    const rows = await this.db.selectFrom('sessions').select(['id', 'status', 'cancel_requested_at'])
      .where('device_id', '=', deviceId).where('status', 'in', ['starting', 'running', 'lost']).execute();
    const known = new Set<string>();
    for (const r of rows) {
      known.add(r.id);
      if (live.has(r.id)) {
        if (r.status !== 'running') await this.apply(r.id, { type: 'device_reclaimed' }, { message: 'device reconnected' });
        if (r.cancel_requested_at !== null) {
          this.sendToDevice(deviceId, { corrId: r.id, type: 'session.cancel', direction: 'to_device', ts: this.clock.now(), payload: { sessionId: r.id } });
        }
      } else {
        this.clearAckTimer(r.id);
        await this.apply(r.id, { type: 'device_forgot' }, { errorCode: 'device_offline', message: 'device restarted without this session; its process is gone' });
      }
    }
    for (const id of live) {
      if (!known.has(id)) {
        this.sendToDevice(deviceId, { corrId: id, type: 'session.cancel', direction: 'to_device', ts: this.clock.now(), payload: { sessionId: id, reason: 'session already ended on the control plane' } });
      }
    }
  }

  /** Stop timers; pending writes are left to the writer's drain. */
  close(): void {
    for (const t of this.ackTimers.values()) clearTimeout(t);
    this.ackTimers.clear();
  }

  private sendToDevice(deviceId: string, envelope: Envelope): void {
    this.bus.publish(topics.device(deviceId), { type: 'send', envelope } satisfies DeviceCommand);
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
  private apply(sessionId: string, input: SessionInput, detail: {
    errorCode?: ErrorCode; message?: string; exit?: { code: number | null; signal: string | null };
  }): Promise<void> {
    const prev = this.locks.get(sessionId) ?? Promise.resolve();
    const run = prev.then(async () => {
      const row = await getSessionRow(this.db, sessionId);
      if (!row) return;
      const from = row.status as SessionStatus;
      const to = nextStatus(from, input);
      if (to === null) return;
      const now = this.clock.now();
      const patch: AppendInput['patch'] = { status: to };
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
      if (isTerminal(to)) this.tracked.delete(sessionId);
      else if (tracked) tracked.status = to;
      this.bus.publish(topics.fleet, { type: 'session', id: sessionId, status: to, deviceId: row.device_id } satisfies FleetChange);
    });
    const settled = run.catch(() => {});
    this.locks.set(sessionId, settled);
    void settled.then(() => {
      if (this.locks.get(sessionId) === settled) this.locks.delete(sessionId);
    });
    return run;
  }
}
