import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { BoardCard, DeviceView, Envelope, SessionView } from '@fabric/protocol';
import { FakeDevice, capabilities, testServer, until } from './harness.js';

type TestServer = Awaited<ReturnType<typeof testServer>>;
let t: TestServer;
const sockets: { terminate(): void }[] = [];

afterEach(async () => {
  for (const s of sockets.splice(0)) s.terminate();
  await t.server.close();
});

const GiB = 2 ** 30;

/**
 * A fleet with an owner (ada), two members (bob, carol), a device each for
 * ada and bob, one of ada's shared with bob, and a running session, a
 * pending approval and a board card for ada and for bob.
 */
async function fleet() {
  t = await testServer();
  const { accounts } = t.server.ctx;
  const member = async (name: string) => {
    const invite = await accounts.createInvite(t.owner.id, 'member');
    return accounts.redeem(invite.code, name, 'long-enough-password', 'cli');
  };
  const bob = await member('bob');
  const carol = await member('carol');
  const pair = async (userId: string, name: string, caps = capabilities()) => {
    const pairing = await accounts.createPairingToken(userId);
    const paired = await accounts.pair(pairing.code, name);
    const device = await FakeDevice.connect(t.server, paired.deviceId, paired.token, caps);
    sockets.push(device.ws);
    return { ...paired, device };
  };
  const adaBox = await pair(t.owner.id, 'ada-box');
  const bobBox = await pair(bob.user.id, 'bob-box');
  const sharedBox = await pair(t.owner.id, 'shared-box');
  expect((await t.api('/api/devices/shared-box/shares', { body: { user: 'bob' } })).status).toBe(201);

  const start = async (token: string, deviceName: string, box: FakeDevice) => {
    const res = await t.api('/api/sessions', {
      body: { harness: 'shell', prompt: 'sleep 100', deviceId: deviceName },
      token,
    });
    expect(res.status).toBe(201);
    const view = (await res.json()) as SessionView;
    await box.next((e) => e.type === 'session.start' && e.payload.sessionId === view.id);
    box.send({
      corrId: view.id,
      type: 'session.ack',
      direction: 'to_cloud',
      ts: Date.now(),
      payload: { sessionId: view.id, pid: 1 },
    });
    box.send({
      corrId: view.id,
      type: 'session.approval_request',
      direction: 'to_cloud',
      ts: Date.now(),
      payload: {
        sessionId: view.id,
        requestId: `apr_${deviceName}`,
        tool: 'file_write',
        summary: 'write a file',
        input: {},
        expiresAt: Date.now() + 60_000,
      },
    });
    await until(
      async () =>
        (await t.api(`/api/sessions/${view.id}`).then((r) => r.json() as Promise<SessionView>)).pendingApprovals === 1,
      10_000,
      'the approval',
    );
    return view;
  };
  const adaSession = await start(t.userToken, 'ada-box', adaBox.device);
  const bobSession = await start(bob.token, 'bob-box', bobBox.device);
  const card = async (token: string, title: string) => {
    const res = await t.api('/api/board/cards', {
      body: { title, prompt: 'echo hi', harness: 'shell', column: 'backlog' },
      token,
    });
    expect(res.status).toBe(201);
    return res.json() as Promise<BoardCard>;
  };
  const adaCard = await card(t.userToken, 'ada card');
  const bobCard = await card(bob.token, 'bob card');
  return { bob, carol, adaBox, bobBox, sharedBox, adaSession, bobSession, adaCard, bobCard };
}

describe('who may see and steer what, route by route', () => {
  it("answers every route as the policy says for the owner, the resource's member and another member", async () => {
    const f = await fleet();
    const tokens = { owner: t.userToken, bob: f.bob.token, carol: f.carol.token };
    type Who = keyof typeof tokens;
    // route × caller → status; the resources belong to ada (owner) or bob (member).
    const table: [string, string, string, unknown, Who, number][] = [
      // sessions
      ["read ada's session", 'GET', `/api/sessions/${f.adaSession.id}`, undefined, 'bob', 404],
      ["read ada's events", 'GET', `/api/sessions/${f.adaSession.id}/events`, undefined, 'bob', 404],
      ["stream ada's session", 'GET', `/api/sessions/${f.adaSession.id}/stream`, undefined, 'bob', 404],
      ["list ada's approvals", 'GET', `/api/sessions/${f.adaSession.id}/approvals`, undefined, 'bob', 404],
      ["send input to ada's session", 'POST', `/api/sessions/${f.adaSession.id}/input`, { data: 'x' }, 'bob', 404],
      [
        "approve ada's pending file_write",
        'POST',
        `/api/sessions/${f.adaSession.id}/approvals/apr_ada-box`,
        { decision: 'allow' },
        'bob',
        404,
      ],
      [
        "resume ada's session",
        'POST',
        '/api/sessions',
        { harness: 'shell', prompt: 'x', resumeFrom: f.adaSession.id },
        'bob',
        404,
      ],
      ["cancel ada's session", 'POST', `/api/sessions/${f.adaSession.id}/cancel`, {}, 'bob', 404],
      ["read bob's session", 'GET', `/api/sessions/${f.bobSession.id}`, undefined, 'bob', 200],
      ["read bob's session as carol", 'GET', `/api/sessions/${f.bobSession.id}`, undefined, 'carol', 404],
      [
        "approve bob's request as carol",
        'POST',
        `/api/sessions/${f.bobSession.id}/approvals/apr_bob-box`,
        { decision: 'allow' },
        'carol',
        404,
      ],
      ["read bob's session as owner", 'GET', `/api/sessions/${f.bobSession.id}`, undefined, 'owner', 200],
      ["send input to bob's session", 'POST', `/api/sessions/${f.bobSession.id}/input`, { data: 'x' }, 'bob', 202],
      [
        "send input to bob's session as owner",
        'POST',
        `/api/sessions/${f.bobSession.id}/input`,
        { data: 'y' },
        'owner',
        202,
      ],
      [
        "approve bob's request as bob",
        'POST',
        `/api/sessions/${f.bobSession.id}/approvals/apr_bob-box`,
        { decision: 'deny' },
        'bob',
        200,
      ],
      // devices
      ['read ada-box', 'GET', '/api/devices/ada-box', undefined, 'bob', 404],
      ['rename ada-box', 'PATCH', '/api/devices/ada-box', { name: 'mine' }, 'bob', 404],
      ['revoke ada-box', 'POST', '/api/devices/ada-box/revoke', {}, 'bob', 404],
      [
        'pin a session to ada-box',
        'POST',
        '/api/sessions',
        { harness: 'shell', prompt: 'echo hi', deviceId: 'ada-box' },
        'bob',
        404,
      ],
      ['read the shared device', 'GET', '/api/devices/shared-box', undefined, 'bob', 200],
      ['drain the shared device', 'PATCH', '/api/devices/shared-box', { draining: true }, 'bob', 403],
      ['share the shared device on', 'POST', '/api/devices/shared-box/shares', { user: 'carol' }, 'bob', 403],
      ['read the shared device as carol', 'GET', '/api/devices/shared-box', undefined, 'carol', 404],
      ["set bob-box's priority", 'PATCH', '/api/devices/bob-box', { priority: 1 }, 'bob', 200],
      ["share bob-box (sharing is an owner's)", 'POST', '/api/devices/bob-box/shares', { user: 'carol' }, 'bob', 403],
      ['read bob-box as owner', 'GET', '/api/devices/bob-box', undefined, 'owner', 200],
      ["read ada-box's ledger", 'GET', `/api/devices/${f.adaBox.deviceId}/ledger`, undefined, 'bob', 403],
      // board
      ["edit ada's card", 'PATCH', `/api/board/cards/${f.adaCard.id}`, { title: 'pwned' }, 'bob', 404],
      ["launch ada's card", 'POST', `/api/board/cards/${f.adaCard.id}/launch`, {}, 'bob', 404],
      ["delete ada's card", 'DELETE', `/api/board/cards/${f.adaCard.id}`, undefined, 'bob', 404],
      ["edit bob's card", 'PATCH', `/api/board/cards/${f.bobCard.id}`, { title: 'renamed' }, 'bob', 200],
      ["edit bob's card as carol", 'PATCH', `/api/board/cards/${f.bobCard.id}`, { title: 'x' }, 'carol', 404],
      ["edit bob's card as owner", 'PATCH', `/api/board/cards/${f.bobCard.id}`, { column: 'review' }, 'owner', 200],
      // account
      ['invite someone', 'POST', '/api/auth/invites', { role: 'member' }, 'bob', 403],
      // last, as they change state: the owner steers bob's session, bob cancels his own
      ["cancel bob's session as carol", 'POST', `/api/sessions/${f.bobSession.id}/cancel`, {}, 'carol', 404],
      ["cancel bob's session", 'POST', `/api/sessions/${f.bobSession.id}/cancel`, {}, 'bob', 202],
      ["cancel ada's session as owner", 'POST', `/api/sessions/${f.adaSession.id}/cancel`, {}, 'owner', 202],
    ];
    const got: [string, Who, number][] = [];
    for (const [what, method, path, body, who] of table) {
      const res = await t.api(path, { method, body, token: tokens[who] });
      got.push([what, who, res.status]);
      await res.body?.cancel();
    }
    expect(got).toEqual(table.map(([what, , , , who, status]) => [what, who, status]));

    // Nothing the refused calls tried happened.
    const adaApprovals = await t
      .api(`/api/sessions/${f.adaSession.id}/approvals`)
      .then((r) => r.json() as Promise<{ approvals: { status: string }[] }>);
    expect(adaApprovals.approvals.map((a) => a.status)).toEqual(['pending']);
    const adaEvents = await t
      .api(`/api/sessions/${f.adaSession.id}/events`)
      .then((r) => r.json() as Promise<{ events: { kind: string }[] }>);
    expect(adaEvents.events.some((e) => e.kind === 'input')).toBe(false);
    const board = await t.api('/api/board').then((r) => r.json() as Promise<{ cards: BoardCard[] }>);
    expect(board.cards.find((c) => c.id === f.adaCard.id)?.title).toBe('ada card');
    const devices = await t.api('/api/devices').then((r) => r.json() as Promise<{ devices: DeviceView[] }>);
    expect(devices.devices.map((d) => d.name)).toEqual(['ada-box', 'bob-box', 'shared-box']);
    expect(devices.devices.find((d) => d.name === 'shared-box')).toMatchObject({
      draining: false,
      sharedWith: ['bob'],
      ownerName: 'ada',
    });
  });

  it('lists for a member only their own sessions, cards and devices (plus shared ones), and meters only their own fuel', async () => {
    const f = await fleet();
    const sessions = await t
      .api('/api/sessions', { token: f.bob.token })
      .then((r) => r.json() as Promise<{ sessions: SessionView[] }>);
    expect(sessions.sessions.map((s) => s.id)).toEqual([f.bobSession.id]);
    const devices = await t
      .api('/api/devices', { token: f.bob.token })
      .then((r) => r.json() as Promise<{ devices: DeviceView[] }>);
    expect(devices.devices.map((d) => d.name)).toEqual(['bob-box', 'shared-box']);
    const cards = await t
      .api('/api/board', { token: f.bob.token })
      .then((r) => r.json() as Promise<{ cards: BoardCard[] }>);
    expect(cards.cards.map((c) => c.title)).toEqual(['bob card']);
    const carolSees = await t
      .api('/api/sessions', { token: f.carol.token })
      .then((r) => r.json() as Promise<{ sessions: SessionView[] }>);
    expect(carolSees.sessions).toEqual([]);
    const ownerSees = await t.api('/api/sessions').then((r) => r.json() as Promise<{ sessions: SessionView[] }>);
    expect(ownerSees.sessions.map((s) => s.id).sort()).toEqual([f.adaSession.id, f.bobSession.id].sort());

    // Usage on ada's session shows on her meter, not on bob's.
    const usage = (box: FakeDevice, sessionId: string, input: number) =>
      box.send({
        corrId: sessionId,
        type: 'session.meta',
        direction: 'to_cloud',
        ts: Date.now(),
        payload: { sessionId, usage: { input, output: 0, cached: 0 } },
      });
    usage(f.adaBox.device, f.adaSession.id, 1000);
    usage(f.bobBox.device, f.bobSession.id, 7);
    interface Fuel {
      yield: { tokens: number };
      devices: Record<string, string>;
    }
    const ownerFuel = await until(
      async () => {
        const fuel = await t.api('/api/fuel').then((r) => r.json() as Promise<Fuel>);
        return fuel.yield.tokens === 1007 ? fuel : null;
      },
      10_000,
      'both usage reports',
    );
    expect(Object.values(ownerFuel.devices).sort()).toEqual(['ada-box', 'bob-box', 'shared-box']);
    const bobFuel = await t.api('/api/fuel', { token: f.bob.token }).then((r) => r.json() as Promise<Fuel>);
    expect(bobFuel.yield.tokens).toBe(7);
    expect(Object.values(bobFuel.devices)).toEqual(['bob-box']);
  });

  it("sends a member's browser socket only the fleet changes they may see", async () => {
    const f = await fleet();
    const ws = new WebSocket(t.server.url.replace('http', 'ws') + '/ws/browser', [
      'fabric.v1',
      `bearer.${f.bob.token}`,
    ]);
    sockets.push(ws);
    const seen: Envelope[] = [];
    ws.on('message', (raw: Buffer) => seen.push(JSON.parse(raw.toString()) as Envelope));
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    // First ada's session, ada's card and ada's device change; then bob's own session: once his arrives, ada's would have too.
    await t.api(`/api/sessions/${f.adaSession.id}/cancel`, { body: {} });
    await t.api(`/api/board/cards/${f.adaCard.id}`, { method: 'PATCH', body: { title: 'moved' } });
    await t.api('/api/devices/ada-box', { method: 'PATCH', body: { draining: true } });
    f.adaBox.device.ws.terminate();
    await until(
      async () => (await t.api('/api/devices/ada-box').then((r) => r.json() as Promise<DeviceView>)).online === false,
      10_000,
      'ada-box offline',
    );
    await t.api(`/api/board/cards/${f.bobCard.id}`, { method: 'PATCH', body: { title: 'mine' } });
    await t.api(`/api/sessions/${f.bobSession.id}/cancel`, { body: {}, token: f.bob.token });
    f.bobBox.device.send({
      corrId: f.bobSession.id,
      type: 'session.exit',
      direction: 'to_cloud',
      ts: Date.now(),
      payload: { sessionId: f.bobSession.id, code: 0, signal: null },
    });
    await until(
      async () =>
        seen.find(
          (e) => e.type === 'fleet.session' && e.payload.id === f.bobSession.id && e.payload.status === 'cancelled',
        ),
      10_000,
      "bob's own session change",
    );
    const about = seen.map((e) => ('id' in e.payload ? e.payload.id : 'cardId' in e.payload ? e.payload.cardId : null));
    expect(about).toContain(f.bobCard.id);
    expect(about).not.toContain(f.adaSession.id);
    expect(about).not.toContain(f.adaCard.id);
    expect(about).not.toContain(f.adaBox.deviceId);
  });

  it("never places an owner's unpinned session on a member's device, however good it claims to be", async () => {
    t = await testServer();
    const { accounts } = t.server.ctx;
    const invite = await accounts.createInvite(t.owner.id, 'member');
    const mallory = await accounts.redeem(invite.code, 'mallory', 'long-enough-password', 'cli');
    const pairing = await accounts.createPairingToken(mallory.user.id);
    const bait = await accounts.pair(pairing.code, 'bait');
    const baitBox = await FakeDevice.connect(
      t.server,
      bait.deviceId,
      bait.token,
      capabilities({ ramTotal: 128 * GiB, ramFree: 120 * GiB, load: [0, 0, 0] }),
    );
    sockets.push(baitBox.ws);
    const res = await t.api('/api/sessions', { body: { harness: 'shell', prompt: 'echo secret-prompt' } });
    expect(res.status).toBe(201);
    const queued = (await res.json()) as SessionView;
    expect(queued.status).toBe('queued');
    // The owner's own device comes online and gets it; the bait never saw a session.start.
    const own = await t.pairDevice('own');
    const ownBox = await FakeDevice.connect(t.server, own.deviceId, own.token, capabilities({ ramFree: 1 * GiB }));
    sockets.push(ownBox.ws);
    const start = await ownBox.next((e) => e.type === 'session.start');
    expect(start.payload).toMatchObject({ sessionId: queued.id, byDeviceOwner: true });
    expect(baitBox.received.some((e) => e.type === 'session.start')).toBe(false);

    // Mallory's own sessions go to her device, flagged as not the device owner's only when they are not.
    const hers = await t
      .api('/api/sessions', { body: { harness: 'shell', prompt: 'echo hi' }, token: mallory.token })
      .then((r) => r.json() as Promise<SessionView>);
    expect(hers.deviceName).toBe('bait');
    const hersStart = await baitBox.next((e) => e.type === 'session.start');
    expect(hersStart.payload).toMatchObject({ sessionId: hers.id, byDeviceOwner: true });
  });
});

describe('device names', () => {
  it("are unique among live devices, ignoring case, and never look like a device id, so a member cannot stand in for the owner's device", async () => {
    t = await testServer();
    const { accounts } = t.server.ctx;
    const invite = await accounts.createInvite(t.owner.id, 'member');
    const mallory = await accounts.redeem(invite.code, 'mallory', 'long-enough-password', 'cli');
    const build = await t.pairDevice('build');
    const pairAs = async (userId: string, name: string) => {
      const pairing = await accounts.createPairingToken(userId);
      return t.api('/api/devices/pair', { body: { token: pairing.code, name }, token: null });
    };
    for (const name of ['build', 'BUILD', build.deviceId, 'dev_anything']) {
      const res = await pairAs(mallory.user.id, name);
      expect([name, res.status, ((await res.json()) as { code: string }).code]).toEqual([name, 409, 'conflict']);
    }
    const hers = (await (await pairAs(mallory.user.id, 'mallory-box')).json()) as { deviceId: string };
    for (const name of ['build', 'Build', build.deviceId]) {
      const res = await t.api(`/api/devices/${hers.deviceId}`, {
        method: 'PATCH',
        body: { name },
        token: mallory.token,
      });
      expect([name, res.status]).toEqual([name, 409]);
    }
    const devices = await t.api('/api/devices').then((r) => r.json() as Promise<{ devices: DeviceView[] }>);
    expect(devices.devices.map((d) => [d.name, d.ownerName, d.ownerRole])).toEqual([
      ['build', 'ada', 'owner'],
      ['mallory-box', 'mallory', 'member'],
    ]);

    // A revoked device gives its name back: the new one is what the name picks.
    expect((await t.api('/api/devices/build/revoke', { body: {} })).status).toBe(200);
    const again = await t.pairDevice('build');
    const picked = await t.api('/api/devices/build').then((r) => r.json() as Promise<DeviceView>);
    expect(picked.id).toBe(again.deviceId);
  });
});
