import { afterEach, describe, expect, it } from 'vitest';
import type { FuelReport, SessionView } from '@fabric/protocol';
import { Approvals } from '../src/sessions/approvals.js';
import { FakeDevice, testServer, until } from './harness.js';

type TestServer = Awaited<ReturnType<typeof testServer>>;
let current: TestServer | null = null;
const devices: FakeDevice[] = [];

afterEach(async () => {
  for (const d of devices.splice(0)) d.ws.terminate();
  await current?.server.close();
  current = null;
});

async function setup() {
  current = await testServer();
  return current;
}

async function runningSession(t: TestServer) {
  const paired = await t.pairDevice('alpha');
  const device = await FakeDevice.connect(t.server, paired.deviceId, paired.token);
  devices.push(device);
  const res = await t.api('/api/sessions', {
    body: { harness: 'shell', prompt: 'echo hi', deviceId: device.deviceId },
  });
  expect(res.status).toBe(201);
  const view = (await res.json()) as SessionView;
  await device.next((e) => e.type === 'session.start');
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
  return { device, view };
}

async function count(
  t: TestServer,
  table: 'sessions' | 'devices' | 'approvals' | 'usage' | 'session_events',
): Promise<number> {
  const row = await t.server.ctx.db
    .selectFrom(table)
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .executeTakeFirst();
  return Number(row?.n ?? 0);
}

/** JSON text nesting `depth` objects; built as text since JSON.stringify itself overflows the stack on it. */
function nested(depth: number): string {
  return '{"a":'.repeat(depth) + '"leaf"' + '}'.repeat(depth);
}

describe('HTTP bodies with bytes that could hurt a process or a terminal are refused', () => {
  it('answers a prompt holding NUL with 400 bad_request naming the field, and stores no session', async () => {
    const t = await setup();
    const res = await t.api('/api/sessions', { body: { harness: 'shell', prompt: 'echo a\u0000b' } });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ code: 'bad_request', message: 'prompt must not contain nul' });
    expect(await count(t, 'sessions')).toBe(0);
  });

  it.each([
    ['evil\u001b]0;owned\u0007', 'control characters'],
    ['rtl\u202egnp.exe', 'bidi control characters'],
    ['two\nlines', 'control characters'],
  ])('refuses the device name %j at pairing and at rename', async (name, what) => {
    const t = await setup();
    const pairing = await t
      .api('/api/devices/pairing-tokens', { body: {} })
      .then((r) => r.json() as Promise<{ code: string }>);
    const pair = await t.api('/api/devices/pair', { body: { token: pairing.code, name }, token: null });
    expect(pair.status).toBe(400);
    expect(await pair.json()).toEqual({ code: 'bad_request', message: `name must not contain ${what}` });
    expect(await count(t, 'devices')).toBe(0);

    const paired = await t.pairDevice('alpha');
    const rename = await t.api(`/api/devices/${paired.deviceId}`, { method: 'PATCH', body: { name } });
    expect(rename.status).toBe(400);
    expect(await rename.json()).toEqual({ code: 'bad_request', message: `name must not contain ${what}` });
    const view = await t.api(`/api/devices/${paired.deviceId}`).then((r) => r.json() as Promise<{ name: string }>);
    expect(view.name).toBe('alpha');
  });
});

describe('device reports are bounded and a refused one persists nothing', () => {
  it('refuses usage of 2^53 - 1 tokens and a cost of 1e308, and the fuel meter stays at zero', async () => {
    const t = await setup();
    const { device, view } = await runningSession(t);
    const before = await count(t, 'session_events');
    const send = (corrId: string, usage: Record<string, number>) =>
      device.send({
        corrId,
        type: 'session.meta',
        direction: 'to_cloud',
        ts: Date.now(),
        payload: { sessionId: view.id, usage: { input: 0, output: 0, cached: 0, ...usage } },
      });

    let err = device.next((e) => e.type === 'error' && e.corrId === 'huge-tokens');
    send('huge-tokens', { input: Number.MAX_SAFE_INTEGER, output: Number.MAX_SAFE_INTEGER });
    expect((await err).payload).toMatchObject({ code: 'invalid_envelope' });
    err = device.next((e) => e.type === 'error' && e.corrId === 'huge-cost');
    send('huge-cost', { input: 1, costUsd: 1e308 });
    expect((await err).payload).toMatchObject({ code: 'invalid_envelope' });

    // A sane report after them is the only one counted.
    send(view.id, { input: 10, output: 5 });
    await until(async () => (await count(t, 'usage')) === 1, 10_000, 'the sane usage report');
    const fuel = await t.api('/api/fuel').then((r) => r.json() as Promise<FuelReport>);
    expect(fuel.yield.tokens).toBeLessThan(1000);
    expect(await count(t, 'session_events')).toBe(before + 1);
  });

  it('answers an approval request nested 20,000 deep with invalid_envelope and stores no approval', async () => {
    const t = await setup();
    const { device, view } = await runningSession(t);
    const before = await count(t, 'session_events');
    const request = (requestId: string, input: string) =>
      JSON.stringify({
        corrId: view.id,
        type: 'session.approval_request',
        direction: 'to_cloud',
        ts: Date.now(),
        payload: {
          sessionId: view.id,
          requestId,
          tool: 'Bash',
          summary: 'run ls',
          input: '@input',
          expiresAt: Date.now() + 60_000,
        },
      }).replace('"@input"', input);
    const err = device.next((e) => e.type === 'error');
    device.sendRaw(request('deep', nested(20_000)));
    expect((await err).payload).toMatchObject({ code: 'invalid_envelope' });

    // The socket still works: a sane request is stored with its event, and is the only one.
    device.sendRaw(request('shallow', '{"command":"ls"}'));
    await until(async () => (await count(t, 'approvals')) === 1, 10_000, 'the sane approval request');
    const rows = await t.server.ctx.db.selectFrom('approvals').select('request_id').execute();
    expect(rows.map((r) => r.request_id)).toEqual(['shallow']);
    await until(async () => (await count(t, 'session_events')) === before + 1, 10_000, 'its stream event');
  });

  it("leaves no approval row behind when the request's stream event cannot be written", async () => {
    const t = await setup();
    const { db, writer } = t.server.ctx;
    const approvals = new Approvals(db, writer, { now: () => Date.now() }, () => {});
    await expect(
      approvals.requested({
        sessionId: 'ses_doesnotexist',
        requestId: 'orphan',
        tool: 'Bash',
        summary: 'run ls',
        input: {},
        expiresAt: Date.now() + 60_000,
      }),
    ).rejects.toThrow('does not exist');
    expect(await count(t, 'approvals')).toBe(0);
  });
});
