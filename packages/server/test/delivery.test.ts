import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PostgresAdapter, sql } from 'kysely';
import WebSocket from 'ws';
import { afterEach, describe, expect, it } from 'vitest';
import type { Envelope, FinishedSession, RunningSession, SessionView, StreamEvent } from '@fabric/protocol';
import { startServer, type RunningServer } from '../src/server.js';
import { capabilities, until } from './harness.js';

/**
 * Device → control plane delivery: a device sends each session envelope with
 * its own sequence number (dseq) until the control plane answers `delivered`;
 * the control plane stores each once, and after a restart adopts what the
 * device says it ran.
 */
const servers: RunningServer[] = [];
const sockets: WebSocket[] = [];
const dirs: string[] = [];
afterEach(async () => {
  for (const ws of sockets.splice(0)) ws.terminate();
  for (const s of servers.splice(0)) await s.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

async function boot(opts: Parameters<typeof startServer>[0] = {}) {
  const server = await startServer({ port: 0, ...opts });
  servers.push(server);
  return server;
}

async function owner(server: RunningServer) {
  const ada = await server.ctx.accounts.ensureOwner('ada');
  return (await server.ctx.accounts.signIn({ ...ada, role: 'owner' }, 'cli')).token;
}

/** A raw device socket that says hello with what it holds and records every envelope it gets. */
class Device {
  readonly got: Envelope[] = [];
  private constructor(
    readonly ws: WebSocket,
    readonly deviceId: string,
  ) {
    ws.on('message', (d) => this.got.push(JSON.parse(d.toString()) as Envelope));
  }

  static async connect(
    server: RunningServer,
    deviceId: string,
    token: string,
    held: { running?: RunningSession[]; finished?: FinishedSession[] } = {},
  ): Promise<Device> {
    const ws = new WebSocket(server.url.replace('http', 'ws') + '/ws/device', ['fabric.v1', `bearer.${token}`]);
    sockets.push(ws);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    const d = new Device(ws, deviceId);
    d.send({
      corrId: 'hel_1',
      type: 'hello',
      direction: 'to_cloud',
      ts: Date.now(),
      payload: {
        deviceId,
        capabilities: capabilities(),
        running: held.running ?? [],
        ...(held.finished ? { finished: held.finished } : {}),
      },
    });
    await d.next((e) => e.type === 'welcome');
    return d;
  }

  send(env: Record<string, unknown>): void {
    this.ws.send(JSON.stringify(env));
  }

  /** A session envelope with its dseq, as the daemon's outbox sends it. */
  session(dseq: number, type: string, payload: Record<string, unknown>): void {
    this.send({ corrId: payload.sessionId, type, direction: 'to_cloud', ts: Date.now(), payload, dseq });
  }

  next(match: (e: Envelope) => boolean, timeoutMs = 10_000): Promise<Envelope> {
    return until(async () => this.got.find(match) ?? null, timeoutMs, 'an envelope');
  }

  delivered(upTo: number): Promise<Envelope> {
    return this.next((e) => e.type === 'delivered' && e.payload.upTo >= upTo);
  }
}

async function view(server: RunningServer, token: string, id: string): Promise<SessionView> {
  return fetch(`${server.url}/api/sessions/${id}`, { headers: { authorization: `Bearer ${token}` } }).then(
    (r) => r.json() as Promise<SessionView>,
  );
}

async function events(server: RunningServer, id: string): Promise<StreamEvent[]> {
  const rows = await server.ctx.db
    .selectFrom('session_events')
    .selectAll()
    .where('session_id', '=', id)
    .orderBy('seq')
    .execute();
  return rows.map((r) => ({
    seq: Number(r.seq),
    kind: r.kind as StreamEvent['kind'],
    data: r.data,
    meta: r.meta === null ? null : (JSON.parse(r.meta) as StreamEvent['meta']),
    ts: Number(r.ts),
  }));
}

async function create(
  server: RunningServer,
  token: string,
  deviceId: string,
  prompt = 'echo hi',
): Promise<SessionView> {
  const res = await fetch(`${server.url}/api/sessions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ harness: 'shell', prompt, deviceId }),
  });
  expect(res.status).toBe(201);
  return res.json() as Promise<SessionView>;
}

async function pair(server: RunningServer, name = 'alpha') {
  const ada = await server.ctx.accounts.ensureOwner('ada');
  const pt = await server.ctx.accounts.createPairingToken(ada.id);
  return server.ctx.accounts.pair(pt.code, name);
}

/** A control plane, its owner's token, a connected device and a session placed on it (its start received). */
async function placed(opts: Parameters<typeof startServer>[0] = {}) {
  const server = await boot(opts);
  const token = await owner(server);
  const paired = await pair(server);
  const device = await Device.connect(server, paired.deviceId, paired.token);
  const s = await create(server, token, paired.deviceId);
  await device.next((e) => e.type === 'session.start');
  return { server, token, device, s };
}

const errors = (d: Device) => d.got.filter((e) => e.type === 'error');

describe('exactly once in the store', () => {
  it('stores a resent envelope once, counts resent usage once, and acknowledges after the commit', async () => {
    const { server, token, device, s } = await placed();
    const sid = s.id;

    device.session(1, 'session.ack', { sessionId: sid, pid: 7 });
    device.session(2, 'session.stdout', { sessionId: sid, data: 'one\n' });
    device.session(3, 'session.meta', { sessionId: sid, usage: { input: 10, output: 5, cached: 0 } });
    const ack = await device.delivered(3);
    // Everything acknowledged is in the store already.
    expect((await events(server, sid)).map((e) => e.kind)).toEqual(['status', 'status', 'stdout', 'usage']);

    // The device did not see that ack (say) and sends it all again, then goes on.
    device.session(1, 'session.ack', { sessionId: sid, pid: 7 });
    device.session(2, 'session.stdout', { sessionId: sid, data: 'one\n' });
    device.session(3, 'session.meta', { sessionId: sid, usage: { input: 10, output: 5, cached: 0 } });
    device.session(4, 'session.stdout', { sessionId: sid, data: 'two\n' });
    device.session(5, 'session.exit', { sessionId: sid, code: 0, signal: null });
    device.session(4, 'session.stdout', { sessionId: sid, data: 'two\n' });
    await device.delivered(5);
    expect(ack.corrId).toMatch(/^dlv_/);

    const stored = await events(server, sid);
    expect(stored.filter((e) => e.kind === 'stdout').map((e) => e.data)).toEqual(['one\n', 'two\n']);
    expect(stored.map((e) => e.seq)).toEqual(stored.map((_, i) => i + 1));
    const usage = await server.ctx.db.selectFrom('usage').selectAll().where('session_id', '=', sid).execute();
    expect(usage).toHaveLength(1);
    expect((await view(server, token, sid)).status).toBe('succeeded');
    expect(errors(device)).toEqual([]);
  });

  it('reports output it could not store, and closes the socket instead of acknowledging it', async () => {
    const lines: string[] = [];
    const { server, device, s } = await placed({
      log: { info() {}, warn: (m) => lines.push(m), error: (m) => lines.push(m) },
    });
    device.session(1, 'session.ack', { sessionId: s.id, pid: 7 });
    await device.delivered(1);
    // A store that refuses one write, as a full disk would.
    if (server.ctx.db.getExecutor().adapter instanceof PostgresAdapter) {
      await sql`CREATE FUNCTION refuse_poison() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN IF NEW.data = 'poison' THEN RAISE EXCEPTION 'disk says no'; END IF; RETURN NEW; END $$`.execute(
        server.ctx.db,
      );
      await sql`CREATE TRIGGER refuse_poison BEFORE INSERT ON session_events
        FOR EACH ROW EXECUTE FUNCTION refuse_poison()`.execute(server.ctx.db);
    } else {
      await sql`CREATE TRIGGER refuse_poison BEFORE INSERT ON session_events WHEN NEW.data = 'poison' BEGIN SELECT RAISE(ABORT, 'disk says no'); END`.execute(
        server.ctx.db,
      );
    }
    const closed = new Promise<number>((resolve) => device.ws.once('close', (code) => resolve(code)));
    device.session(2, 'session.stdout', { sessionId: s.id, data: 'poison' });
    expect(await closed).toBe(1011);
    expect(lines).toContainEqual(`session ${s.id}: output not stored (the device will send it again): disk says no`);
    expect(device.got.filter((e) => e.type === 'delivered' && e.payload.upTo >= 2)).toEqual([]);
    expect((await events(server, s.id)).filter((e) => e.kind === 'stdout')).toEqual([]);
  });

  it('acknowledges a burst with few delivered envelopes, the last one covering all of it', async () => {
    const { server, device, s } = await placed();
    device.session(1, 'session.ack', { sessionId: s.id, pid: 7 });
    for (let i = 2; i <= 2001; i++) device.session(i, 'session.stdout', { sessionId: s.id, data: `line ${i}\n` });
    await device.delivered(2001);
    const acks = device.got.filter((e) => e.type === 'delivered').map((e) => (e.payload as { upTo: number }).upTo);
    expect(acks).toEqual([...acks].sort((a, b) => a - b));
    expect(acks.length).toBeLessThan(200);
    expect((await events(server, s.id)).filter((e) => e.kind === 'stdout')).toHaveLength(2000);
  });
});

describe('reconciliation on hello', () => {
  it('after a restart, settles a session it believed starting as the device says, with all its output and no session_not_found', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fabric-delivery-'));
    dirs.push(dir);
    const first = await boot({ dataDir: dir });
    const token = await owner(first);
    const paired = await pair(first);
    const device = await Device.connect(first, paired.deviceId, paired.token);
    const s = await create(first, token, paired.deviceId);
    await device.next((e) => e.type === 'session.start');
    // The device ran it to the end while the control plane went away before hearing any of it.
    device.ws.terminate();
    await servers.pop()!.close();

    const second = await boot({ dataDir: dir });
    expect((await view(second, token, s.id)).status).toBe('starting');
    const back = await Device.connect(second, paired.deviceId, paired.token, {
      finished: [{ sessionId: s.id, code: 0, signal: null }],
    });
    back.session(1, 'session.ack', { sessionId: s.id, pid: 7 });
    back.session(2, 'session.stdout', { sessionId: s.id, data: 'hi\n' });
    back.session(3, 'session.exit', { sessionId: s.id, code: 0, signal: null });
    await back.delivered(3);

    const done = await view(second, token, s.id);
    expect(done).toMatchObject({ status: 'succeeded', exitCode: 0, deviceName: 'alpha' });
    expect((await events(second, s.id)).filter((e) => e.kind === 'stdout').map((e) => e.data)).toEqual(['hi\n']);
    expect(errors(back)).toEqual([]);
    expect(back.got.filter((e) => e.type === 'session.cancel')).toEqual([]);
  });

  it('adopts a session it had taken back to the queue when the device shows it ran it', async () => {
    const { server, token, device, s } = await placed({ ackTimeoutMs: 100, queueSweepMs: 60_000 });
    await until(
      async () => (await view(server, token, s.id)).status === 'queued',
      5000,
      'queued after the ack timeout',
    );

    // Its ack was only late: the device ran the session.
    device.session(1, 'session.ack', { sessionId: s.id, pid: 7 });
    device.session(2, 'session.stdout', { sessionId: s.id, data: 'late but real\n' });
    device.session(3, 'session.exit', { sessionId: s.id, code: 4, signal: null });
    await device.delivered(3);

    expect(await view(server, token, s.id)).toMatchObject({ status: 'failed', exitCode: 4, deviceName: 'alpha' });
    expect((await events(server, s.id)).filter((e) => e.kind === 'stdout').map((e) => e.data)).toEqual([
      'late but real\n',
    ]);
    expect(errors(device)).toEqual([]);
  });

  it('puts a session back in the queue when the device returns without having started it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fabric-delivery-'));
    dirs.push(dir);
    const first = await boot({ dataDir: dir });
    const token = await owner(first);
    const paired = await pair(first);
    const device = await Device.connect(first, paired.deviceId, paired.token);
    const s = await create(first, token, paired.deviceId);
    await device.next((e) => e.type === 'session.start');
    device.ws.terminate();
    await servers.pop()!.close();

    const second = await boot({ dataDir: dir });
    const back = await Device.connect(second, paired.deviceId, paired.token);
    // The start never reached it; placed again, it goes to the same device, which is fine now.
    const restart = await back.next((e) => e.type === 'session.start' && e.payload.sessionId === s.id);
    expect(restart.corrId).toBe(s.id);
    const placed = await view(second, token, s.id);
    expect(placed.status).toBe('starting');
  });

  it('fails a lost session whose device stays away past the lost timeout, saying why', async () => {
    const { server, token, device, s } = await placed({ lostTimeoutMs: 300, queueSweepMs: 50 });
    device.session(1, 'session.ack', { sessionId: s.id, pid: 7 });
    await device.delivered(1);
    device.ws.terminate();
    await until(async () => (await view(server, token, s.id)).status === 'lost', 5000, 'lost');
    const failed = await until(
      async () => {
        const v = await view(server, token, s.id);
        return v.status === 'failed' ? v : null;
      },
      10_000,
      'failed',
    );
    expect(failed.errorCode).toBe('device_offline');
    expect(failed.errorMessage).toBe('its device did not come back within 300 ms');
  });
});
