import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Envelope, SessionView } from '@fabric/protocol';
import { FakeDevice, testServer } from './harness.js';

type TestServer = Awaited<ReturnType<typeof testServer>>;
const servers: TestServer[] = [];
const devices: FakeDevice[] = [];
const dirs: string[] = [];

afterEach(async () => {
  for (const d of devices.splice(0)) d.ws.terminate();
  for (const s of servers.splice(0)) await s.server.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

async function setup(dataDir?: string) {
  const t = await testServer(dataDir ? { dataDir } : {});
  servers.push(t);
  return t;
}

async function withDevice(t: TestServer) {
  const paired = await t.pairDevice('alpha');
  const device = await FakeDevice.connect(t.server, paired.deviceId, paired.token);
  devices.push(device);
  return device;
}

function create(t: TestServer, body: Record<string, unknown>, key?: string) {
  return t.api('/api/sessions', { body, ...(key ? { headers: { 'idempotency-key': key } } : {}) });
}

async function sessionCount(t: TestServer): Promise<number> {
  const row = await t.server.ctx.db
    .selectFrom('sessions')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .executeTakeFirst();
  return Number(row?.n ?? 0);
}

const starts = (device: FakeDevice) => device.received.filter((e: Envelope) => e.type === 'session.start');

/** Start one more session with a fresh key and wait for the device to get it: every earlier start has arrived by then. */
async function fence(t: TestServer, device: FakeDevice): Promise<void> {
  const res = await create(t, { harness: 'shell', prompt: 'echo fence' }, crypto.randomUUID());
  const fenced = (await res.json()) as SessionView;
  await device.next((e) => e.type === 'session.start' && (e.payload as { sessionId: string }).sessionId === fenced.id);
}

describe('POST /api/sessions with an Idempotency-Key', () => {
  it('answers a retry with the same key with the same session, 201 again, and starts one run', async () => {
    const t = await setup();
    const device = await withDevice(t);
    const key = crypto.randomUUID();
    const body = { harness: 'shell', prompt: 'echo once' };

    const first = await create(t, body, key);
    expect(first.status).toBe(201);
    const view = (await first.json()) as SessionView;
    const retry = await create(t, { prompt: 'echo once', harness: 'shell' }, key); // same body, keys in another order
    expect(retry.status).toBe(201);
    expect(retry.headers.get('idempotent-replayed')).toBe('true');
    expect(((await retry.json()) as SessionView).id).toBe(view.id);

    await fence(t, device);
    expect(starts(device).filter((e) => (e.payload as { sessionId: string }).sessionId === view.id)).toHaveLength(1);
    expect(await sessionCount(t)).toBe(2); // the one, and the fence
  });

  it('makes one session of ten concurrent requests with one key', async () => {
    const t = await setup();
    const device = await withDevice(t);
    const key = crypto.randomUUID();
    const answers = await Promise.all(
      Array.from({ length: 10 }, () => create(t, { harness: 'shell', prompt: 'echo burst' }, key)),
    );
    expect(answers.map((r) => r.status)).toEqual(Array.from({ length: 10 }, () => 201));
    const ids = new Set(await Promise.all(answers.map(async (r) => ((await r.json()) as SessionView).id)));
    expect(ids.size).toBe(1);

    await fence(t, device);
    expect(starts(device)).toHaveLength(2);
    expect(await sessionCount(t)).toBe(2);
  });

  it('refuses the same key with a different body with 409 conflict, and creates nothing', async () => {
    const t = await setup();
    await withDevice(t);
    const key = crypto.randomUUID();
    expect((await create(t, { harness: 'shell', prompt: 'echo a' }, key)).status).toBe(201);
    const other = await create(t, { harness: 'shell', prompt: 'echo b' }, key);
    expect(other.status).toBe(409);
    expect(await other.json()).toMatchObject({
      code: 'conflict',
      message: expect.stringContaining('different request'),
    });
    expect(await sessionCount(t)).toBe(1);
  });

  it("keeps keys per person: another person's same key is theirs, and each retry finds its own session", async () => {
    const t = await setup();
    await withDevice(t);
    const key = crypto.randomUUID();
    const body = { harness: 'shell', prompt: 'echo a' };
    const mine = (await (await create(t, body, key)).json()) as SessionView;
    const invite = await t.server.ctx.accounts.createInvite(t.owner.id, 'member');
    const bob = await t.server.ctx.accounts.redeem(invite.code, 'bob', 'correct horse battery', 'cli');
    const asBob = () => t.api('/api/sessions', { body, token: bob.token, headers: { 'idempotency-key': key } });
    const theirs = await asBob();
    const theirAnswer = (await theirs.json()) as SessionView & { code?: string };
    expect(theirAnswer.id).not.toBe(mine.id);
    expect(theirAnswer.code).not.toBe('conflict');
    expect(((await (await create(t, body, key)).json()) as SessionView).id).toBe(mine.id);
    if (theirs.status === 201) expect(((await (await asBob()).json()) as SessionView).id).toBe(theirAnswer.id);
  });

  it('remembers the key across a control-plane restart', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fabric-idem-'));
    dirs.push(dir);
    const key = crypto.randomUUID();
    const body = { harness: 'shell', prompt: 'echo survive' };
    const a = await setup(dir);
    await withDevice(a);
    const view = (await (await create(a, body, key)).json()) as SessionView;
    for (const d of devices.splice(0)) d.ws.terminate();
    await servers.splice(0)[0]!.server.close();

    const b = await setup(dir);
    const retry = await create(b, body, key);
    expect(retry.status).toBe(201);
    expect(((await retry.json()) as SessionView).id).toBe(view.id);
    expect(await sessionCount(b)).toBe(1);
  });

  it('frees the key of a create that failed: failures are not remembered, the next success is', async () => {
    const t = await setup();
    await withDevice(t);
    const key = crypto.randomUUID();
    const failing = await create(t, { harness: 'shell', prompt: 'echo x', deviceId: 'dev_nosuchdevice00000' }, key);
    expect(failing.status).toBeGreaterThanOrEqual(400);
    const fixed = await create(t, { harness: 'shell', prompt: 'echo x' }, key);
    expect(fixed.status).toBe(201);
    const retry = await create(t, { harness: 'shell', prompt: 'echo x' }, key);
    expect(retry.headers.get('idempotent-replayed')).toBe('true');
    expect(((await retry.json()) as SessionView).id).toBe(((await fixed.json()) as SessionView).id);
  });

  it('refuses a key that is too long or holds spaces, naming the header', async () => {
    const t = await setup();
    for (const key of ['x'.repeat(129), 'two words']) {
      const res = await create(t, { harness: 'shell', prompt: 'echo x' }, key);
      expect(res.status).toBe(400);
      expect(await res.json()).toMatchObject({
        code: 'bad_request',
        message: expect.stringMatching(/^idempotency-key must be/),
      });
    }
    expect(await sessionCount(t)).toBe(0);
  });
});
