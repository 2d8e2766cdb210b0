import { afterEach, describe, expect, it } from 'vitest';
import type { SessionView } from '@fabric/protocol';
import { FakeDevice, testServer, until } from './harness.js';

type TestServer = Awaited<ReturnType<typeof testServer>>;
let current: TestServer | null = null;
const devices: FakeDevice[] = [];

afterEach(async () => {
  for (const d of devices.splice(0)) d.ws.terminate();
  await current?.server.close();
  current = null;
});

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

async function storedEvents(t: TestServer, sessionId: string): Promise<unknown[]> {
  const rows = await t.server.ctx.db
    .selectFrom('session_events')
    .select(['data'])
    .where('session_id', '=', sessionId)
    .where('kind', '=', 'event')
    .orderBy('seq')
    .execute();
  return rows.map((r) => JSON.parse(r.data ?? 'null') as unknown);
}

describe('status events from a device older than the status enum', () => {
  it('are accepted and stored normalised, the old word kept as the harness word', async () => {
    const t = (current = await testServer());
    const { device, view } = await runningSession(t);
    // Sent as an old daemon would, untyped: its status is not a value of today's enum.
    const send = (event: Record<string, unknown>, dseq: number) => {
      const env: Record<string, unknown> = {
        corrId: view.id,
        type: 'session.event',
        direction: 'to_cloud',
        ts: Date.now(),
        dseq,
        payload: { sessionId: view.id, event },
      };
      device.send(env);
    };
    send({ kind: 'status', status: 'turn_begin' }, 1);
    send({ kind: 'status', status: 'a-word-nobody-knows', detail: 'still shown' }, 2);
    send({ kind: 'status', status: 'turn_started', harnessStatus: 'TurnBegin' }, 3);

    await until(async () => (await storedEvents(t, view.id)).length === 3, 10_000, 'three stored events');
    expect(await storedEvents(t, view.id)).toEqual([
      { kind: 'status', status: 'turn_started', harnessStatus: 'turn_begin' },
      { kind: 'status', status: 'other', harnessStatus: 'a-word-nobody-knows', detail: 'still shown' },
      { kind: 'status', status: 'turn_started', harnessStatus: 'TurnBegin' },
    ]);
    expect(device.received.filter((e) => e.type === 'error')).toEqual([]);
  });

  it('stored by an older control plane as free strings, read back in the current shape; unreadable data as raw', async () => {
    const t = (current = await testServer());
    const { view } = await runningSession(t);
    const legacy = [
      { kind: 'status', status: 'turn_begin' },
      { kind: 'status', status: 'api_retry', detail: 'attempt 1 of 2' },
      { kind: 'status', status: 'weird-new-status' },
    ].map(JSON.stringify);
    const rows = [...legacy, JSON.stringify({ kind: 'status', status: 42 }), '{not json'];
    await t.server.ctx.db
      .insertInto('session_events')
      .values(rows.map((data, i) => ({ session_id: view.id, seq: 1000 + i, kind: 'event', data, meta: null, ts: i })))
      .execute();

    const res = await t.api(`/api/sessions/${view.id}/events?after=999`);
    const page = (await res.json()) as { events: { kind: string; data: unknown }[] };
    expect(page.events.map((e) => e.data)).toEqual([
      { kind: 'status', status: 'turn_started', harnessStatus: 'turn_begin' },
      { kind: 'status', status: 'retrying', harnessStatus: 'api_retry', detail: 'attempt 1 of 2' },
      { kind: 'status', status: 'other', harnessStatus: 'weird-new-status' },
      { kind: 'raw', line: '{"kind":"status","status":42}' },
      { kind: 'raw', line: '{not json' },
    ]);
  });
});
