import { afterEach, describe, expect, it } from 'vitest';
import type { SessionView, StreamEvent } from '@fabric/protocol';
import { FakeClock } from '../src/clock.js';
import { Tokens } from '../src/auth/tokens.js';
import { closeCodes } from '../src/ws/gateway.js';
import { FakeDevice, capabilities, testServer, tryUpgrade, until } from './harness.js';

type TestServer = Awaited<ReturnType<typeof testServer>>;
let current: TestServer | null = null;
const devices: FakeDevice[] = [];

async function setup(opts: Parameters<typeof testServer>[0] = {}) {
  current = await testServer(opts);
  return current;
}

afterEach(async () => {
  for (const d of devices.splice(0)) d.ws.terminate();
  await current?.server.close();
  current = null;
});

async function connect(t: TestServer, name = 'alpha', caps = capabilities()) {
  const paired = await t.pairDevice(name);
  const device = await FakeDevice.connect(t.server, paired.deviceId, paired.token, caps);
  devices.push(device);
  return { device, paired };
}

async function startSession(t: TestServer, device: FakeDevice, prompt = 'echo hi') {
  const res = await t.api('/api/sessions', { body: { harness: 'shell', prompt, deviceId: device.deviceId } });
  expect(res.status).toBe(201);
  const view = (await res.json()) as SessionView;
  const start = await device.next((e) => e.type === 'session.start');
  return { view, start };
}

async function eventCount(t: TestServer): Promise<number> {
  const row = await t.server.ctx.db
    .selectFrom('session_events')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .executeTakeFirst();
  return Number(row?.n ?? 0);
}

describe('device socket authentication happens before the upgrade', () => {
  it('refuses a missing, garbled, wrong-type, expired, unknown or revoked token with 401 and a code', async () => {
    const t = await setup();
    const url = t.server.url.replace('http', 'ws') + '/ws/device';
    const { paired } = await connect(t, 'alpha');

    expect(await tryUpgrade(url, ['fabric.v1'])).toMatchObject({ status: 401, body: { code: 'token_missing' } });
    expect(await tryUpgrade(url, ['bearer.' + paired.token])).toMatchObject({
      status: 401,
      body: { code: 'token_missing' },
    });
    expect(await tryUpgrade(url, ['fabric.v1', 'bearer.not-a-jwt'])).toMatchObject({
      status: 401,
      body: { code: 'token_invalid' },
    });
    expect(await tryUpgrade(url, ['fabric.v1', 'bearer.' + t.userToken])).toMatchObject({
      status: 401,
      body: { code: 'token_invalid' },
    });

    const past = new Tokens(t.server.ctx.keys, { now: () => Date.now() - 31 * 24 * 3600 * 1000 });
    const expired = await past.sign('device', { sub: paired.deviceId });
    expect(await tryUpgrade(url, ['fabric.v1', 'bearer.' + expired.token])).toMatchObject({
      status: 401,
      body: { code: 'token_expired' },
    });

    const ghost = await t.server.ctx.tokens.sign('device', { sub: 'dev_doesnotexist000' });
    expect(await tryUpgrade(url, ['fabric.v1', 'bearer.' + ghost.token])).toMatchObject({
      status: 401,
      body: { code: 'device_not_found' },
    });

    await t.api(`/api/devices/${paired.deviceId}/revoke`, { method: 'POST', body: {} });
    expect(await tryUpgrade(url, ['fabric.v1', 'bearer.' + paired.token])).toMatchObject({
      status: 401,
      body: { code: 'device_revoked' },
    });
  });

  it('selects only fabric.v1 so the token is never echoed back', async () => {
    const t = await setup();
    const paired = await t.pairDevice('alpha');
    const result = await tryUpgrade(t.server.url.replace('http', 'ws') + '/ws/device', [
      'fabric.v1',
      'bearer.' + paired.token,
    ]);
    expect(result).toMatchObject({ status: 101, protocol: 'fabric.v1' });
  });

  it('lets a person, not a device, open the browser socket, and 404s unknown socket paths', async () => {
    const t = await setup();
    const paired = await t.pairDevice('alpha');
    const base = t.server.url.replace('http', 'ws');
    expect(await tryUpgrade(base + '/ws/browser', ['fabric.v1', 'bearer.' + t.userToken])).toMatchObject({
      status: 101,
    });
    expect(await tryUpgrade(base + '/ws/browser', ['fabric.v1', 'bearer.' + paired.token])).toMatchObject({
      status: 401,
      body: { code: 'token_invalid' },
    });
    expect(await tryUpgrade(base + '/ws/elsewhere', ['fabric.v1', 'bearer.' + t.userToken])).toMatchObject({
      status: 404,
      body: { code: 'not_found' },
    });
  });
});

describe('bad frames get precise error codes and persist nothing', () => {
  it('answers malformed json, unknown types, invalid envelopes, wrong direction, binary frames and foreign sessions', async () => {
    const t = await setup({ gateway: { maxFrameBytes: 4096, hardMaxPayload: 16_384 } });
    const { device } = await connect(t, 'alpha');
    const other = (await connect(t, 'beta')).device;
    const { view } = await startSession(t, device);
    device.send({
      corrId: view.id,
      type: 'session.ack',
      direction: 'to_cloud',
      ts: Date.now(),
      payload: { sessionId: view.id, pid: 42 },
    });
    await until(
      async () =>
        (await t.api(`/api/sessions/${view.id}`).then((r) => r.json() as Promise<SessionView>)).status === 'running',
    );
    const before = await eventCount(t);

    const errorFor = (corrId?: string) =>
      device.next((e) => e.type === 'error' && (corrId === undefined || e.corrId === corrId));
    let err = errorFor();
    device.sendRaw('{"not json');
    expect((await err).payload).toMatchObject({ code: 'malformed_json' });

    err = errorFor('c-unknown');
    device.send({ corrId: 'c-unknown', type: 'session.teleport', direction: 'to_cloud', ts: 1, payload: {} });
    expect((await err).payload).toMatchObject({ code: 'unknown_type' });

    err = errorFor('c-invalid');
    device.send({
      corrId: 'c-invalid',
      type: 'session.stdout',
      direction: 'to_cloud',
      ts: 1,
      payload: { sessionId: view.id, data: 42 },
    });
    expect((await err).payload).toMatchObject({ code: 'invalid_envelope' });

    err = errorFor('c-direction');
    device.send({
      corrId: 'c-direction',
      type: 'session.stdout',
      direction: 'to_device',
      ts: 1,
      payload: { sessionId: view.id, data: 'x' },
    });
    expect((await err).payload).toMatchObject({ code: 'invalid_envelope' });

    err = errorFor();
    device.sendRaw(Buffer.from([1, 2, 3]));
    expect((await err).payload).toMatchObject({ code: 'invalid_envelope' });

    err = errorFor('c-start');
    device.send({
      corrId: 'c-start',
      type: 'session.start',
      direction: 'to_cloud',
      ts: 1,
      payload: { sessionId: view.id, harness: 'shell', prompt: 'x', cwd: null, labels: {} },
    });
    expect((await err).payload).toMatchObject({ code: 'invalid_envelope' });

    const foreign = other.next((e) => e.type === 'error');
    other.output(view.id, 'injected by another device');
    expect((await foreign).payload).toMatchObject({ code: 'session_not_found' });

    err = errorFor();
    device.output(view.id, 'x'.repeat(5000));
    expect((await err).payload).toMatchObject({ code: 'frame_too_large' });

    // The socket survives all of that, and good output still lands.
    device.output(view.id, 'still here\n');
    await until(async () => (await eventCount(t)) === before + 1, 5000, 'the good frame to persist');
    const events = await t
      .api(`/api/sessions/${view.id}/events`)
      .then((r) => r.json() as Promise<{ events: StreamEvent[] }>);
    expect(events.events.filter((e) => e.kind === 'stdout').map((e) => e.data)).toEqual(['still here\n']);

    device.output(view.id, 'y'.repeat(20_000));
    expect(await device.closed).toBe(1009);
  });

  it('requires hello before anything else', async () => {
    const t = await setup();
    const paired = await t.pairDevice('alpha');
    const WebSocket = (await import('ws')).default;
    const ws = new WebSocket(t.server.url.replace('http', 'ws') + '/ws/device', [
      'fabric.v1',
      `bearer.${paired.token}`,
    ]);
    await new Promise((r) => ws.once('open', r));
    const reply = new Promise<string>((r) => ws.once('message', (d) => r(d.toString())));
    ws.send(
      JSON.stringify({
        corrId: 'hb',
        type: 'heartbeat',
        direction: 'to_cloud',
        ts: 1,
        payload: { capabilities: capabilities(), running: [] },
      }),
    );
    expect(JSON.parse(await reply)).toMatchObject({
      type: 'error',
      corrId: 'hb',
      payload: { code: 'invalid_envelope', message: 'send hello first' },
    });
    ws.terminate();
  });
});

describe('a session over the gateway', () => {
  it('dispatches with the session id as corrId, persists output in order and streams it to the end', async () => {
    const t = await setup();
    const { device } = await connect(t, 'alpha');
    const { view, start } = await startSession(t, device, 'echo hi');
    expect(view.status).toBe('starting');
    expect(start).toMatchObject({
      corrId: view.id,
      direction: 'to_device',
      payload: { sessionId: view.id, harness: 'shell', prompt: 'echo hi' },
    });

    const sid = view.id;
    device.send({
      corrId: sid,
      type: 'session.ack',
      direction: 'to_cloud',
      ts: 1,
      payload: { sessionId: sid, pid: 7 },
    });
    device.output(sid, 'one\n');
    device.output(sid, 'two\n', 'session.stderr');
    device.send({
      corrId: sid,
      type: 'session.exit',
      direction: 'to_cloud',
      ts: 1,
      payload: { sessionId: sid, code: 0, signal: null },
    });

    const res = await t.api(`/api/sessions/${sid}/stream`);
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    expect(res.headers.get('x-accel-buffering')).toBe('no');
    const text = await res.text();
    // Event ids are consecutive; the end frame repeats the last one, so a reconnect after it gets 204.
    const ids = [...text.matchAll(/^id: (\d+)\nevent: (?!end\n)/gm)].map((m) => Number(m[1]));
    expect(ids).toEqual(ids.map((_, i) => i + 1));
    expect(text.endsWith(`id: ${ids.at(-1)}\nevent: end\ndata: {}\n\n`)).toBe(true);
    const kinds = [...text.matchAll(/^event: (\w+)$/gm)].map((m) => m[1]);
    expect(kinds).toEqual(['status', 'status', 'stdout', 'stderr', 'exit', 'end']);
    const final = await t.api(`/api/sessions/${sid}`).then((r) => r.json() as Promise<SessionView>);
    expect(final).toMatchObject({ status: 'succeeded', exitCode: 0, deviceName: 'alpha' });
  });

  it('moves a session the device never acknowledges to the next device, and cancels the late starter', async () => {
    const t = await setup({ ackTimeoutMs: 150 });
    const slow = (await connect(t, 'slow', capabilities({ ramFree: 16 * 2 ** 30 }))).device;
    const spare = (await connect(t, 'spare', capabilities({ ramFree: 1 * 2 ** 30 }))).device;
    const res = await t.api('/api/sessions', { body: { harness: 'shell', prompt: 'echo hi' } });
    const view = (await res.json()) as SessionView;
    expect(view).toMatchObject({ status: 'starting', deviceName: 'slow' });
    await slow.next((e) => e.type === 'session.start');
    const moved = await spare.next((e) => e.type === 'session.start', 3000);
    expect(moved.payload).toMatchObject({ sessionId: view.id });
    expect((await slow.next((e) => e.type === 'session.cancel')).payload).toMatchObject({ sessionId: view.id });
    const now = await t.api(`/api/sessions/${view.id}`).then((r) => r.json() as Promise<SessionView>);
    expect(now).toMatchObject({ status: 'starting', deviceName: 'spare' });
    expect(now.placement?.text).toContain('slow did not acknowledge');
  });

  it('waits queued when the only device does not acknowledge, then fails when the queue times out', async () => {
    const t = await setup({ ackTimeoutMs: 100, queueTimeoutMs: 400, queueSweepMs: 50 });
    const { device } = await connect(t, 'alpha');
    const { view } = await startSession(t, device);
    const queued = await until(async () => {
      const v = await t.api(`/api/sessions/${view.id}`).then((r) => r.json() as Promise<SessionView>);
      return v.status === 'queued' ? v : null;
    });
    expect(queued.deviceId).toBeNull();
    const failed = await until(async () => {
      const v = await t.api(`/api/sessions/${view.id}`).then((r) => r.json() as Promise<SessionView>);
      return v.status === 'failed' ? v : null;
    });
    expect(failed.errorCode).toBe('no_device');
    expect(failed.errorMessage).toContain('waited too long');
  });

  it('marks sessions lost when the device drops, and running again when it comes back still running them', async () => {
    const t = await setup();
    const { device, paired } = await connect(t, 'alpha');
    const { view } = await startSession(t, device);
    device.send({
      corrId: view.id,
      type: 'session.ack',
      direction: 'to_cloud',
      ts: 1,
      payload: { sessionId: view.id, pid: 7 },
    });
    const status = async () =>
      (await t.api(`/api/sessions/${view.id}`).then((r) => r.json() as Promise<SessionView>)).status;
    await until(async () => (await status()) === 'running');
    device.ws.terminate();
    await until(async () => (await status()) === 'lost', 5000, 'lost');

    const again = await FakeDevice.connect(t.server, paired.deviceId, paired.token);
    devices.push(again);
    // That hello listed nothing running, so the session's process is gone.
    await until(async () => (await status()) === 'failed', 5000, 'failed');

    const { view: second } = await startSession(t, again);
    again.send({
      corrId: second.id,
      type: 'session.ack',
      direction: 'to_cloud',
      ts: 1,
      payload: { sessionId: second.id, pid: 8 },
    });
    const s2 = async () =>
      (await t.api(`/api/sessions/${second.id}`).then((r) => r.json() as Promise<SessionView>)).status;
    await until(async () => (await s2()) === 'running');
    again.ws.terminate();
    await until(async () => (await s2()) === 'lost');
    const WebSocket = (await import('ws')).default;
    const ws = new WebSocket(t.server.url.replace('http', 'ws') + '/ws/device', [
      'fabric.v1',
      `bearer.${paired.token}`,
    ]);
    await new Promise((r) => ws.once('open', r));
    ws.send(
      JSON.stringify({
        corrId: 'h',
        type: 'hello',
        direction: 'to_cloud',
        ts: 1,
        payload: {
          deviceId: paired.deviceId,
          capabilities: capabilities(),
          running: [{ sessionId: second.id, pid: 8, startedAt: 1 }],
        },
      }),
    );
    await until(async () => (await s2()) === 'running', 5000, 'reclaimed');
    ws.terminate();
  });

  it('cuts a revoked device off at once', async () => {
    const t = await setup();
    const { device, paired } = await connect(t, 'alpha');
    const res = await t.api(`/api/devices/${paired.deviceId}/revoke`, { method: 'POST', body: {} });
    expect(res.status).toBe(200);
    expect(await device.closed).toBe(closeCodes.revoked);
    const list = await t
      .api('/api/devices')
      .then((r) => r.json() as Promise<{ devices: { id: string; revoked: boolean; online: boolean }[] }>);
    expect(list.devices.find((d) => d.id === paired.deviceId)).toMatchObject({ revoked: true, online: false });
  });

  it('finds a silent device dead on the next sweep and loses its sessions', async () => {
    const clock = new FakeClock(Date.now());
    const t = await setup({ clock, gateway: { sweepMs: 3_600_000, deadAfterMs: 40_000 } });
    const { device } = await connect(t, 'alpha');
    const { view } = await startSession(t, device);
    device.send({
      corrId: view.id,
      type: 'session.ack',
      direction: 'to_cloud',
      ts: 1,
      payload: { sessionId: view.id, pid: 7 },
    });
    const status = async () =>
      (await t.api(`/api/sessions/${view.id}`).then((r) => r.json() as Promise<SessionView>)).status;
    await until(async () => (await status()) === 'running');

    clock.advance(39_000);
    t.server.gateway.sweep();
    expect(device.closeCode).toBeNull();
    clock.advance(2_000);
    t.server.gateway.sweep();
    expect(await device.closed).toBe(closeCodes.dead);
    await until(async () => (await status()) === 'lost', 5000, 'lost');
  });
});

describe('http boundary', () => {
  it('answers bad bodies and bad auth with codes', async () => {
    const t = await setup();
    const malformed = await t.api('/api/sessions', { body: '{"harness": ' });
    expect(malformed.status).toBe(400);
    expect(await malformed.json()).toMatchObject({ code: 'malformed_json' });

    const unknown = await t.api('/api/sessions', { body: { harness: 'hermes', prompt: 'x' } });
    expect(unknown.status).toBe(400);
    expect(await unknown.json()).toMatchObject({ code: 'bad_request' });

    const extra = await t.api('/api/sessions', { body: { harness: 'shell', prompt: 'x', sneaky: true } });
    expect(await extra.json()).toMatchObject({ code: 'bad_request' });

    expect(await t.api('/api/sessions', { token: null }).then((r) => r.json())).toMatchObject({
      code: 'token_missing',
    });
    expect(await t.api('/api/sessions', { token: 'abc' }).then((r) => r.json())).toMatchObject({
      code: 'token_invalid',
    });
    const paired = await t.pairDevice('alpha');
    expect(await t.api('/api/sessions', { token: paired.token }).then((r) => r.json())).toMatchObject({
      code: 'token_invalid',
    });

    expect(await t.api('/api/sessions/ses_nope12345678').then((r) => r.status)).toBe(404);
    expect(await t.api('/api/nowhere').then((r) => r.json())).toMatchObject({ code: 'not_found' });
    expect(await eventCount(t)).toBe(0);
  });

  it('refuses a command the chosen device does not allow, before anything is dispatched', async () => {
    const t = await setup();
    const { device } = await connect(t, 'alpha', capabilities({ allowlist: ['echo'] }));
    const res = await t.api('/api/sessions', { body: { harness: 'shell', prompt: 'rm -rf /', deviceId: 'alpha' } });
    expect(res.status).toBe(422);
    const body = (await res.json()) as { code: string; message: string };
    expect(body.code).toBe('command_not_allowed');
    expect(body.message).toContain('rm');
    expect(device.received.filter((e) => e.type === 'session.start')).toHaveLength(0);
  });

  it('consumes a pairing token exactly once', async () => {
    const t = await setup();
    const pairing = await t.server.ctx.accounts.createPairingToken(t.owner.id);
    const first = await t.api('/api/devices/pair', { token: null, body: { token: pairing.code, name: 'one' } });
    expect(first.status).toBe(201);
    const second = await t.api('/api/devices/pair', { token: null, body: { token: pairing.code, name: 'two' } });
    expect(second.status).toBe(401);
    expect(await second.json()).toMatchObject({ code: 'pairing_token_invalid' });
  });

  it('sends SSE keepalive comments while a session is quiet', async () => {
    const t = await setup({ keepaliveMs: 50 });
    const { device } = await connect(t, 'alpha');
    const { view } = await startSession(t, device);
    const controller = new AbortController();
    const res = await t.api(`/api/sessions/${view.id}/stream`, { headers: {} });
    const reader = res.body!.getReader();
    let text = '';
    while (!text.includes(': keepalive')) text += new TextDecoder().decode((await reader.read()).value);
    controller.abort();
    await reader.cancel();
  });

  it('rate limits password guessing', async () => {
    const t = await setup();
    const codes: number[] = [];
    for (let i = 0; i < 12; i++) {
      codes.push(
        (await t.api('/api/auth/login', { token: null, body: { name: 'ada', password: 'wrong-password' } })).status,
      );
    }
    expect(codes.slice(0, 10).every((c) => c === 401)).toBe(true);
    expect(codes[11]).toBe(429);
  });

  it('never limits people who sign in correctly', async () => {
    const t = await setup();
    const invite = await t.server.ctx.accounts.createInvite(t.owner.id, 'member');
    await t.server.ctx.accounts.redeem(invite.code, 'bob', 'long-enough-password', 'cli');
    for (let i = 0; i < 15; i++) {
      const res = await t.api('/api/auth/login', {
        token: null,
        body: { name: 'bob', password: 'long-enough-password', client: 'cli' },
      });
      expect(res.status, `attempt ${i + 1}`).toBe(200);
    }
  });
});

describe('device lifecycle details', () => {
  it('hands a device a fresh token in welcome once its token is past half its life', async () => {
    const t = await setup();
    const paired = await t.pairDevice('alpha');
    const fresh = await FakeDevice.connect(t.server, paired.deviceId, paired.token);
    devices.push(fresh);
    expect(fresh.received.find((e) => e.type === 'welcome')?.payload).not.toHaveProperty('token');

    const old = await new Tokens(t.server.ctx.keys, { now: () => Date.now() - 20 * 24 * 3600 * 1000 }).sign('device', {
      sub: paired.deviceId,
    });
    const aging = await FakeDevice.connect(t.server, paired.deviceId, old.token);
    devices.push(aging);
    const welcome = aging.received.find((e) => e.type === 'welcome');
    const renewed = (welcome?.payload as { token?: string }).token;
    expect(renewed).toBeTruthy();
    const claims = await t.server.ctx.tokens.verify(renewed!, ['device']);
    expect(claims.sub).toBe(paired.deviceId);
    expect(claims.exp * 1000 - Date.now()).toBeGreaterThan(29 * 24 * 3600 * 1000);
    // The newer connection replaced the older one.
    expect(await fresh.closed).toBe(closeCodes.replaced);
  });

  it('keeps the capability digest current from heartbeats, and renames devices', async () => {
    const t = await setup();
    const { device, paired } = await connect(t, 'alpha');
    device.send({
      corrId: 'hb',
      type: 'heartbeat',
      direction: 'to_cloud',
      ts: 1,
      payload: { capabilities: capabilities({ ramFree: 12345, load: [3, 2, 1] }), running: [] },
    });
    await until(async () => {
      const d = await t
        .api(`/api/devices/${paired.deviceId}`)
        .then((r) => r.json() as Promise<{ capabilities: { ramFree: number } }>);
      return d.capabilities.ramFree === 12345;
    });
    const renamed = await t.api(`/api/devices/${paired.deviceId}`, { method: 'PATCH', body: { name: 'pi-kitchen' } });
    expect(await renamed.json()).toMatchObject({ id: paired.deviceId, name: 'pi-kitchen' });
    const byName = await t.api('/api/devices/pi-kitchen').then((r) => r.json() as Promise<{ id: string }>);
    expect(byName.id).toBe(paired.deviceId);
  });

  it('tells browsers about devices and sessions as they change', async () => {
    const t = await setup();
    const WebSocket = (await import('ws')).default;
    const browser = new WebSocket(t.server.url.replace('http', 'ws') + '/ws/browser', [
      'fabric.v1',
      `bearer.${t.userToken}`,
    ]);
    const seen: { type: string; payload: Record<string, unknown> }[] = [];
    browser.on('message', (d) =>
      seen.push(JSON.parse(d.toString()) as { type: string; payload: Record<string, unknown> }),
    );
    await new Promise((r) => browser.once('open', r));
    const { device, paired } = await connect(t, 'alpha');
    const { view } = await startSession(t, device);
    device.send({
      corrId: view.id,
      type: 'session.ack',
      direction: 'to_cloud',
      ts: 1,
      payload: { sessionId: view.id, pid: 1 },
    });
    await until(async () => seen.some((e) => e.type === 'fleet.session' && e.payload.status === 'running'));
    expect(seen.find((e) => e.type === 'fleet.device')?.payload).toEqual({ id: paired.deviceId, online: true });
    expect(seen.filter((e) => e.type === 'fleet.session').map((e) => e.payload.status)).toEqual([
      'starting',
      'running',
    ]);
    browser.close();
  });
});
