import { decodeProtectedHeader, importJWK, jwtVerify } from 'jose';
import { afterEach, beforeAll, afterAll, describe, expect, it } from 'vitest';
import type { SessionView } from '@fabric/protocol';
import { InProcessBus } from '../src/bus.js';
import type { Logger } from '../src/log.js';
import { isPrivateHost } from '../src/push/subscriptions.js';
import { startServer } from '../src/server.js';
import { openSqlite } from '../src/store/db.js';
import { FakePushService, PushKeys, type PushRequest } from './fake-push-service.js';
import { FakeDevice, capabilities, testServer, until } from './harness.js';

type TestServer = Awaited<ReturnType<typeof testServer>>;
let t: TestServer;
let service: FakePushService;
const cleanups: (() => unknown)[] = [];
const logs: string[] = [];
const log: Logger = {
  info: (m) => logs.push(`info ${m}`),
  warn: (m) => logs.push(`warn ${m}`),
  error: (m) => logs.push(`error ${m}`),
};
const SUBJECT = 'mailto:ops@fabric.test';

beforeAll(async () => {
  service = await FakePushService.start();
});
afterAll(async () => {
  await service?.close();
});
afterEach(async () => {
  await t?.server.close();
  for (const c of cleanups.splice(0).reverse()) await c();
  logs.length = 0;
});

async function start(opts: Parameters<typeof testServer>[0] = {}) {
  t = await testServer({ log, push: { subject: SUBJECT, agent: service.agent, allowPrivateEndpoints: true }, ...opts });
  return t;
}

async function subscribe(path: string, keys = new PushKeys(), token?: string) {
  const endpoint = `${service.origin}${path}`;
  const res = await t.api('/api/push/subscriptions', {
    body: { endpoint, expirationTime: null, keys: keys.toJSON() },
    ...(token ? { token } : {}),
  });
  expect(res.status).toBe(201);
  return { endpoint, keys, view: (await res.json()) as { id: string; service: string } };
}

async function runningSession(device: FakeDevice) {
  const res = await t.api('/api/sessions', { body: { harness: 'shell', prompt: 'echo hi' } });
  const s = (await res.json()) as SessionView;
  await device.next((e) => e.type === 'session.start');
  device.send({
    corrId: s.id,
    type: 'session.ack',
    direction: 'to_cloud',
    ts: 1,
    payload: { sessionId: s.id, pid: 1 },
  });
  await until(
    async () =>
      (await t.api(`/api/sessions/${s.id}`).then((r) => r.json() as Promise<SessionView>)).status === 'running',
  );
  return s;
}

function exit(device: FakeDevice, sessionId: string, code: number) {
  device.send({
    corrId: sessionId,
    type: 'session.exit',
    direction: 'to_cloud',
    ts: 1,
    payload: { sessionId, code, signal: null },
  });
}

async function connectDevice(name = 'alpha') {
  const paired = await t.pairDevice(name);
  const device = await FakeDevice.connect(t.server, paired.deviceId, paired.token, capabilities());
  cleanups.push(() => device.ws.terminate());
  return device;
}

/** Check a request is a Web Push message signed with this server's VAPID key (RFC 8292) and return its JWT claims. */
async function expectVapid(req: PushRequest, publicKey: string) {
  const auth = String(req.headers.authorization);
  const m = /^vapid t=([\w.-]+), k=([\w-]+)$/.exec(auth);
  expect(m, auth).not.toBeNull();
  expect(m![2]).toBe(publicKey);
  const raw = Buffer.from(publicKey, 'base64url');
  const key = await importJWK(
    {
      kty: 'EC',
      crv: 'P-256',
      x: raw.subarray(1, 33).toString('base64url'),
      y: raw.subarray(33).toString('base64url'),
    },
    'ES256',
  );
  expect(decodeProtectedHeader(m![1]!)).toMatchObject({ alg: 'ES256', typ: 'JWT' });
  const { payload } = await jwtVerify(m![1]!, key, { audience: service.origin, subject: SUBJECT });
  expect(payload.exp! * 1000).toBeGreaterThan(Date.now());
  expect(payload.exp! * 1000).toBeLessThanOrEqual(Date.now() + 24 * 60 * 60 * 1000);
  return payload;
}

describe('web push: keys and subscriptions', () => {
  it('makes the VAPID key pair once and keeps it in the store across restarts', async () => {
    const db = await openSqlite(':memory:');
    cleanups.push(() => db.destroy());
    const first = await startServer({ port: 0, db });
    const owner = await first.ctx.accounts.ensureOwner('ada');
    const { token } = await first.ctx.accounts.signIn({ ...owner, role: 'owner' }, 'cli');
    const key1 = await fetch(`${first.url}/api/push/key`, { headers: { authorization: `Bearer ${token}` } }).then(
      (r) => r.json() as Promise<{ publicKey: string }>,
    );
    expect(Buffer.from(key1.publicKey, 'base64url')).toHaveLength(65);
    expect(Buffer.from(key1.publicKey, 'base64url')[0]).toBe(4);
    await first.close();
    t = await testServer({ db });
    const key2 = await t.api('/api/push/key').then((r) => r.json() as Promise<{ publicKey: string }>);
    expect(key2.publicKey).toBe(key1.publicKey);
    expect(await db.selectFrom('push_vapid').selectAll().execute()).toHaveLength(1);
    expect((await t.api('/api/push/key', { token: null })).status).toBe(401);
  });

  it('stores one subscription per browser, lists it without the endpoint, and forgets it on DELETE', async () => {
    await start();
    const { endpoint, view } = await subscribe('/push/one');
    expect(view).toMatchObject({ service: service.origin });
    // The same browser subscribing again replaces its row.
    await subscribe('/push/one');
    const list = await t.api('/api/push/subscriptions').then((r) => r.json() as Promise<{ subscriptions: unknown[] }>);
    expect(list.subscriptions).toHaveLength(1);
    expect(JSON.stringify(list)).not.toContain('/push/one');
    const del = await t.api('/api/push/subscriptions', { method: 'DELETE', body: { endpoint } });
    expect(await del.json()).toEqual({ removed: true });
    expect(await t.server.ctx.db.selectFrom('push_subscriptions').selectAll().execute()).toEqual([]);
  });

  it('refuses endpoints that are not https push services, and malformed keys', async () => {
    t = await testServer({ push: { subject: SUBJECT } });
    const keys = new PushKeys().toJSON();
    const post = (endpoint: string, k: object = keys) =>
      t
        .api('/api/push/subscriptions', { body: { endpoint, keys: k } })
        .then(async (r) => ({ status: r.status, body: (await r.json()) as { message: string } }));
    expect((await post('http://push.example.com/x')).body.message).toContain('https');
    expect((await post('https://127.0.0.1:9/x')).body.message).toContain('public push service');
    expect((await post('https://localhost/x')).status).toBe(400);
    expect((await post('https://push.example.com/x', { ...keys, auth: 'c2hvcnQ' })).body.message).toContain(
      'keys.auth',
    );
    expect((await post('https://push.example.com/x', { ...keys, p256dh: keys.auth })).body.message).toContain('p256dh');
    expect((await post('https://push.example.com/x')).status).toBe(201);
    expect(
      ['10.1.2.3', '192.168.0.1', '172.20.0.1', '169.254.1.1', '[::1]', '[fd00::1]', 'pi.localhost'].every(
        isPrivateHost,
      ),
    ).toBe(true);
    expect(['push.example.com', '8.8.8.8', '[2001:db8::1]'].some(isPrivateHost)).toBe(false);
  });

  it('answers 410 for /api/push in local mode and runs no notifier there', async () => {
    t = await testServer({ mode: 'local' });
    expect(t.server.push).toBeNull();
    const res = await t.api('/api/push/key');
    expect(res.status).toBe(410);
    expect(await res.json()).toMatchObject({ code: 'cloud_only' });
  });
});

describe('web push: notifications', () => {
  it('sends an encrypted, VAPID-signed push when a session finishes', async () => {
    await start();
    const device = await connectDevice('alpha');
    const { keys } = await subscribe('/push/finish');
    const publicKey = (await t.api('/api/push/key').then((r) => r.json() as Promise<{ publicKey: string }>)).publicKey;
    const s = await runningSession(device);
    exit(device, s.id, 0);

    const req = await service.next((r) => r.path === '/push/finish');
    expect(req.method).toBe('POST');
    expect(req.headers).toMatchObject({
      'content-encoding': 'aes128gcm',
      'content-type': 'application/octet-stream',
      ttl: '86400',
      urgency: 'normal',
    });
    await expectVapid(req, publicKey);
    const { text, recordSize } = keys.decrypt(req.body);
    expect(recordSize).toBeGreaterThanOrEqual(req.body.length - 86);
    expect(JSON.parse(text)).toEqual({
      title: 'session succeeded',
      body: expect.stringMatching(/^shell on alpha · exit 0 · ses_/),
      url: `/sessions/${s.id}`,
      tag: `session-${s.id}`,
    });
    // A wrong key cannot read it.
    expect(() => new PushKeys().decrypt(req.body)).toThrow();
    await until(
      async () =>
        (await t.server.ctx.db.selectFrom('push_subscriptions').select('last_sent_at').executeTakeFirst())
          ?.last_sent_at != null,
    );
  });

  it('sends a high-urgency push when a harness asks for an approval, and one when the session fails', async () => {
    await start();
    const device = await connectDevice('alpha');
    const { keys } = await subscribe('/push/approval');
    const s = await runningSession(device);
    const expiresAt = Date.now() + 120_000;
    device.send({
      corrId: s.id,
      type: 'session.approval_request',
      direction: 'to_cloud',
      ts: 1,
      payload: {
        sessionId: s.id,
        requestId: 'apr_push',
        tool: 'Bash',
        summary: 'Bash: rm -rf build',
        input: { command: 'rm -rf build' },
        expiresAt,
      },
    });
    const asked = await service.next((r) => r.path === '/push/approval');
    expect(asked.headers.urgency).toBe('high');
    expect(Number(asked.headers.ttl)).toBeGreaterThan(100);
    expect(Number(asked.headers.ttl)).toBeLessThanOrEqual(120);
    expect(JSON.parse(keys.decrypt(asked.body).text)).toEqual({
      title: 'approval needed: Bash',
      body: 'shell on alpha · Bash: rm -rf build',
      url: `/sessions/${s.id}`,
      tag: `session-${s.id}`,
    });

    // Answering it sends nothing; the failure does.
    await t.api(`/api/sessions/${s.id}/approvals/apr_push`, { body: { decision: 'deny' } });
    exit(device, s.id, 3);
    await until(async () => service.received.filter((r) => r.path === '/push/approval').length === 2);
    const ended = service.received.filter((r) => r.path === '/push/approval')[1]!;
    expect(JSON.parse(keys.decrypt(ended.body).text)).toMatchObject({
      title: 'session failed',
      body: expect.stringContaining('exit 3'),
    });
    await t.server.push!.notifier.idle();
    expect(service.received.filter((r) => r.path === '/push/approval')).toHaveLength(2);
  });

  it('deletes a subscription the push service says is gone (410), keeps one that failed for now, and logs no endpoint', async () => {
    await start();
    const device = await connectDevice('alpha');
    service.answer('/push/gone', 410);
    service.answer('/push/flaky', 500);
    const gone = await subscribe('/push/gone');
    const flaky = await subscribe('/push/flaky');
    const fine = await subscribe('/push/fine');
    const s = await runningSession(device);
    exit(device, s.id, 0);

    await service.next((r) => r.path === '/push/gone');
    await service.next((r) => r.path === '/push/fine');
    await service.next((r) => r.path === '/push/flaky');
    await t.server.push!.notifier.idle();
    const left = await t.server.ctx.db.selectFrom('push_subscriptions').select('id').execute();
    expect(left.map((r) => r.id).sort()).toEqual([flaky.view.id, fine.view.id].sort());
    expect(logs).toContain(`info push subscription ${gone.view.id} at ${service.origin} is gone (410); removed`);
    expect(logs).toContain(
      `warn push to ${service.origin} for subscription ${flaky.view.id} failed: 500 push service says 500`,
    );
    for (const line of logs) {
      expect(line).not.toContain('/push/');
      expect(line).not.toContain(flaky.keys.toJSON().auth);
    }
  });

  it('tells the session creator and the owners, not other members', async () => {
    await start();
    const device = await connectDevice('alpha');
    const invite = await t.server.ctx.accounts.createInvite(t.owner.id, 'member');
    const member = await t.server.ctx.accounts.redeem(invite.code, 'mo', 'long-enough-password', 'cli');
    await subscribe('/push/owner');
    await subscribe('/push/member', new PushKeys(), member.token);
    const s = await runningSession(device); // started by the owner
    exit(device, s.id, 0);
    await service.next((r) => r.path === '/push/owner');
    await t.server.push!.notifier.idle();
    expect(service.received.some((r) => r.path === '/push/member')).toBe(false);
  });

  it('sends each notice once when two control-plane nodes share the store and the bus', async () => {
    const db = await openSqlite(':memory:');
    const bus = new InProcessBus();
    cleanups.push(() => db.destroy());
    const other = await startServer({
      port: 0,
      db,
      bus,
      push: { subject: SUBJECT, agent: service.agent, allowPrivateEndpoints: true },
    });
    cleanups.push(() => other.close());
    await start({ db, bus });
    const device = await connectDevice('alpha');
    await subscribe('/push/once');
    const s = await runningSession(device);
    exit(device, s.id, 0);
    await service.next((r) => r.path === '/push/once');
    await t.server.push!.notifier.idle();
    await other.push!.notifier.idle();
    expect(service.received.filter((r) => r.path === '/push/once')).toHaveLength(1);
  });
});
