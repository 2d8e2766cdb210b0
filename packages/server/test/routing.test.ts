import { afterEach, describe, expect, it } from 'vitest';
import type { ApprovalView, Envelope, SessionView } from '@fabric/protocol';
import { FakeDevice, capabilities, testServer, until } from './harness.js';
import { topics } from '../src/bus.js';

type TestServer = Awaited<ReturnType<typeof testServer>>;
let t: TestServer;
const devices: FakeDevice[] = [];

afterEach(async () => {
  for (const d of devices.splice(0)) d.ws.terminate();
  await t.server.close();
});

async function connect(name: string, caps = capabilities()) {
  const paired = await t.pairDevice(name);
  const device = await FakeDevice.connect(t.server, paired.deviceId, paired.token, caps);
  devices.push(device);
  return device;
}

const view = (id: string) => t.api(`/api/sessions/${id}`).then((r) => r.json() as Promise<SessionView>);
async function create(body: Record<string, unknown>): Promise<SessionView> {
  const res = await t.api('/api/sessions', { body: { harness: 'shell', prompt: 'echo hi', ...body } });
  const json = (await res.json()) as SessionView & { code?: string };
  if (res.status !== 201) throw new Error(`${res.status} ${JSON.stringify(json)}`);
  return json;
}
const placementText = (v: SessionView) => v.placement?.text ?? '';
const ack = (d: FakeDevice, sessionId: string) =>
  d.send({ corrId: sessionId, type: 'session.ack', direction: 'to_cloud', ts: 1, payload: { sessionId, pid: 1 } });
const GiB = 2 ** 30;

describe('capability-aware placement', () => {
  it('queues a session nothing can take yet and dispatches it when a device appears', async () => {
    t = await testServer();
    const queued = await create({});
    expect(queued.status).toBe('queued');
    expect(placementText(queued)).toContain('no device is paired yet');
    const device = await connect('late');
    const start = await device.next((e) => e.type === 'session.start');
    expect(start.payload).toMatchObject({ sessionId: queued.id });
    expect(await view(queued.id)).toMatchObject({ status: 'starting', deviceName: 'late' });
  });

  it('prefers free RAM and light load, lets priority outweigh them, and records why', async () => {
    t = await testServer();
    await connect('small', capabilities({ ramFree: 1 * GiB }));
    const big = await connect('big', capabilities({ ramFree: 12 * GiB }));
    const first = await create({});
    expect(first.deviceName).toBe('big');
    expect(placementText(first)).toMatch(/big scored [\d.]+ \(12\.0 GiB free \+120/);
    expect(placementText(first)).toContain('others: small');
    ack(big, first.id);

    const res = await t.api('/api/devices/small', { method: 'PATCH', body: { priority: 10 } });
    expect(res.status).toBe(200);
    expect((await create({})).deviceName).toBe('small');
  });

  it('keeps new sessions off a draining device, holds pinned ones until it is undrained', async () => {
    t = await testServer();
    const a = await connect('a', capabilities({ ramFree: 8 * GiB }));
    await connect('b', capabilities({ ramFree: 2 * GiB }));
    await t.api('/api/devices/a', { method: 'PATCH', body: { draining: true } });
    expect((await create({})).deviceName).toBe('b');

    const pinned = await create({ deviceId: 'a' });
    expect(pinned.status).toBe('queued');
    expect(placementText(pinned)).toContain('device a is draining');
    const list = await t
      .api('/api/devices')
      .then((r) => r.json() as Promise<{ devices: { name: string; draining: boolean }[] }>);
    expect(list.devices.find((d) => d.name === 'a')?.draining).toBe(true);

    await t.api('/api/devices/a', { method: 'PATCH', body: { draining: false } });
    const start = await a.next((e) => e.type === 'session.start');
    expect(start.payload).toMatchObject({ sessionId: pinned.id });
  });

  it('pins by label: waits for a matching device, refuses when none could ever match', async () => {
    t = await testServer();
    await connect('plain');
    const waiting = await t.api('/api/sessions', {
      body: { harness: 'shell', prompt: 'echo hi', labels: { gpu: 'yes' } },
    });
    expect(waiting.status).toBe(409);
    expect(await waiting.json()).toMatchObject({ code: 'no_device' });

    const gpu = await t.pairDevice('gpu-box'); // paired, not yet connected: it might have the label
    const queued = await create({ labels: { gpu: 'yes' } });
    expect(queued.status).toBe('queued');
    const device = await FakeDevice.connect(
      t.server,
      gpu.deviceId,
      gpu.token,
      capabilities({ labels: { gpu: 'yes' } }),
    );
    devices.push(device);
    const start = await device.next((e) => e.type === 'session.start');
    expect(start.payload).toMatchObject({ sessionId: queued.id });
  });

  it('lets a queued session be cancelled', async () => {
    t = await testServer();
    const queued = await create({});
    const res = await t.api(`/api/sessions/${queued.id}/cancel`, { body: {} });
    expect(await res.json()).toMatchObject({ status: 'cancelled' });
  });
});

describe('approvals from anywhere', () => {
  async function runningSession() {
    t = await testServer();
    const device = await connect(
      'alpha',
      capabilities({
        harnesses: [
          { name: 'shell', version: '1' },
          { name: 'claude', version: '2.1.0' },
        ],
      }),
    );
    const s = await create({ harness: 'claude', prompt: 'tidy the build', permissionMode: 'auto-edit' });
    expect((await device.next((e) => e.type === 'session.start')).payload).toMatchObject({
      permissionMode: 'auto-edit',
    });
    ack(device, s.id);
    await until(async () => (await view(s.id)).status === 'running');
    return { device, s };
  }
  const request = (d: FakeDevice, sessionId: string, requestId: string, expiresAt = Date.now() + 60_000) =>
    d.send({
      corrId: sessionId,
      type: 'session.approval_request',
      direction: 'to_cloud',
      ts: 1,
      payload: {
        sessionId,
        requestId,
        tool: 'Bash',
        summary: 'Bash: rm -rf build',
        input: { command: 'rm -rf build' },
        expiresAt,
      },
    });

  it('round-trips a request from the device through the owner and back', async () => {
    const { device, s } = await runningSession();
    expect((await view(s.id)).permissionMode).toBe('auto-edit');
    request(device, s.id, 'apr_one');
    await until(async () => (await view(s.id)).pendingApprovals === 1);
    const listed = await t
      .api(`/api/sessions/${s.id}/approvals`)
      .then((r) => r.json() as Promise<{ approvals: ApprovalView[] }>);
    expect(listed.approvals).toMatchObject([
      { requestId: 'apr_one', tool: 'Bash', summary: 'Bash: rm -rf build', status: 'pending' },
    ]);

    const answer = await t.api(`/api/sessions/${s.id}/approvals/apr_one`, { body: { decision: 'allow' } });
    expect(await answer.json()).toMatchObject({ status: 'allowed' });
    const sent = await device.next((e) => e.type === 'session.approval');
    expect(sent.payload).toEqual({ sessionId: s.id, requestId: 'apr_one', decision: 'allow' });

    const again = await t.api(`/api/sessions/${s.id}/approvals/apr_one`, { body: { decision: 'deny' } });
    expect(again.status).toBe(409);
    const events = await t
      .api(`/api/sessions/${s.id}/events`)
      .then((r) => r.json() as Promise<{ events: { kind: string; meta: Record<string, unknown> | null }[] }>);
    expect(events.events.filter((e) => e.kind === 'approval').map((e) => e.meta?.decision ?? 'asked')).toEqual([
      'asked',
      'allow',
    ]);
  });

  it('counts a waiting request in the session list and tells the fleet when it arrives and when it is answered', async () => {
    const { device, s } = await runningSession();
    const fleet: unknown[] = [];
    t.server.ctx.bus.subscribe(topics.fleet, (m) => fleet.push(m));
    request(device, s.id, 'apr_list');
    const change = { type: 'session', id: s.id, status: 'running', deviceId: device.deviceId };
    await until(async () => fleet.length === 1);
    expect(fleet).toEqual([change]);
    const listed = await t.api('/api/sessions').then((r) => r.json() as Promise<{ sessions: SessionView[] }>);
    expect(listed.sessions.find((v) => v.id === s.id)?.pendingApprovals).toBe(1);

    expect((await t.api(`/api/sessions/${s.id}/approvals/apr_list`, { body: { decision: 'deny' } })).status).toBe(200);
    expect(fleet).toEqual([change, change]);
    const after = await t.api('/api/sessions').then((r) => r.json() as Promise<{ sessions: SessionView[] }>);
    expect(after.sessions.find((v) => v.id === s.id)?.pendingApprovals).toBe(0);
  });

  it('refuses answers to expired and unknown requests', async () => {
    const { device, s } = await runningSession();
    request(device, s.id, 'apr_old', Date.now() - 1);
    await until(
      async () =>
        (await t.api(`/api/sessions/${s.id}/approvals`).then((r) => r.json() as Promise<{ approvals: ApprovalView[] }>))
          .approvals.length === 1,
    );
    const late = await t.api(`/api/sessions/${s.id}/approvals/apr_old`, { body: { decision: 'allow' } });
    expect(late.status).toBe(409);
    expect(await late.json()).toMatchObject({ code: 'conflict', message: expect.stringContaining('expired') });
    const unknown = await t.api(`/api/sessions/${s.id}/approvals/apr_nope`, { body: { decision: 'allow' } });
    expect(unknown.status).toBe(404);
    const bad = await t.api(`/api/sessions/${s.id}/approvals/apr_old`, { body: { decision: 'maybe' } });
    expect(bad.status).toBe(400);
  });
});

describe('metadata: usage and resume', () => {
  it('feeds usage into the fuel meter and keeps the harness session id for resume', async () => {
    t = await testServer();
    const device = await connect('alpha', capabilities({ harnesses: [{ name: 'codex', version: '0.169.0' }] }));
    const s = await create({ harness: 'codex', prompt: 'add tests' });
    await device.next((e) => e.type === 'session.start');
    ack(device, s.id);
    const meta = (payload: Record<string, unknown>) =>
      device.send({
        corrId: s.id,
        type: 'session.meta',
        direction: 'to_cloud',
        ts: 1,
        payload: { sessionId: s.id, ...payload },
      });
    meta({ harnessSessionId: 'thread-123' });
    meta({ usage: { input: 1000, output: 200, cached: 500 } });
    meta({ usage: { input: 300, output: 100, cached: 0, costUsd: 0.01 } });
    device.send({
      corrId: s.id,
      type: 'session.exit',
      direction: 'to_cloud',
      ts: 1,
      payload: { sessionId: s.id, code: 0, signal: null },
    });
    await until(async () => (await view(s.id)).status === 'succeeded');
    expect((await view(s.id)).harnessSessionId).toBe('thread-123');

    const fuel = await t.api('/api/fuel').then(
      (r) =>
        r.json() as Promise<{
          throughput: { tokensPerMinute: number; sparkline: number[] };
          yield: { sessionsSucceeded: number; tokens: number; cached: number; tokensPerSession: number };
          mission: { streakMs: number };
          byHarness: { key: string; yield: { tokens: number } }[];
          byDevice: { key: string }[];
          devices: Record<string, string>;
        }>,
    );
    expect(fuel.yield).toEqual({ sessionsSucceeded: 1, tokens: 1600, cached: 500, tokensPerSession: 1600 });
    expect(fuel.throughput.tokensPerMinute).toBe(320);
    expect(fuel.throughput.sparkline.at(-1)).toBe(1600);
    expect(fuel.byHarness).toMatchObject([{ key: 'codex', yield: { tokens: 1600 } }]);
    expect(fuel.devices[fuel.byDevice[0]!.key]).toBe('alpha');

    const resumed = await create({ harness: 'codex', prompt: 'and the docs', resumeFrom: s.id });
    expect(resumed).toMatchObject({ parentId: s.id, harnessSessionId: 'thread-123', deviceName: 'alpha' });
    const start = await device.next((e: Envelope) => e.type === 'session.start' && e.payload.sessionId === resumed.id);
    expect(start.payload).toMatchObject({ harness: 'codex', prompt: 'and the docs', resume: 'thread-123' });
  });

  it('will not resume a session that is still running or never reported a harness id', async () => {
    t = await testServer();
    const device = await connect('alpha');
    const s = await create({});
    await device.next((e) => e.type === 'session.start');
    const running = await t.api('/api/sessions', { body: { harness: 'shell', prompt: 'x', resumeFrom: s.id } });
    expect(running.status).toBe(409);
    await t.api(`/api/sessions/${s.id}/cancel`, { body: {} });
    device.send({
      corrId: s.id,
      type: 'session.exit',
      direction: 'to_cloud',
      ts: 1,
      payload: { sessionId: s.id, code: null, signal: 'SIGINT' },
    });
    await until(async () => ['cancelled', 'failed'].includes((await view(s.id)).status));
    const noId = await t.api('/api/sessions', { body: { harness: 'shell', prompt: 'x', resumeFrom: s.id } });
    expect(noId.status).toBe(400);
    expect(await noId.json()).toMatchObject({ message: expect.stringContaining('no harness session id') });
  });
});
