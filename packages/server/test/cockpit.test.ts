import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { afterEach, describe, expect, it } from 'vitest';
import type { BoardCard } from '@fabric/protocol';
import { FakeDevice, capabilities, testServer, until } from './harness.js';

type TestServer = Awaited<ReturnType<typeof testServer>>;
let t: TestServer;
const cleanups: (() => void | Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  await t.server.close();
});

async function browserLogin(): Promise<string> {
  const invite = await t.server.ctx.accounts.createInvite(t.owner.id, 'owner');
  await t.server.ctx.accounts.redeem(invite.code, 'eve', 'long-enough-password', 'cli');
  const res = await fetch(`${t.server.url}/api/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'eve', password: 'long-enough-password', client: 'browser' }),
  });
  const cookie = res.headers.get('set-cookie')!;
  expect(cookie).toMatch(/^fabric_session=[^;]+; Path=\/; HttpOnly; SameSite=Strict; Max-Age=43200$/);
  return cookie.split(';')[0]!;
}

describe('browser sessions', () => {
  it('signs a browser in with an HttpOnly cookie and asks cookie writes for the CSRF header', async () => {
    t = await testServer();
    const cookie = await browserLogin();
    const me = await fetch(`${t.server.url}/api/auth/me`, { headers: { cookie } });
    expect(await me.json()).toMatchObject({ name: 'eve', role: 'owner' });
    const forged = await fetch(`${t.server.url}/api/board/cards`, {
      method: 'POST',
      headers: { cookie, 'content-type': 'application/json' },
      body: JSON.stringify({ title: 't', prompt: 'echo hi' }),
    });
    expect(forged.status).toBe(403);
    expect(await forged.json()).toMatchObject({ code: 'csrf' });
    const ok = await fetch(`${t.server.url}/api/board/cards`, {
      method: 'POST',
      headers: { cookie, 'content-type': 'application/json', 'x-fabric-csrf': '1' },
      body: JSON.stringify({ title: 't', prompt: 'echo hi' }),
    });
    expect(ok.status).toBe(201);
    const out = await fetch(`${t.server.url}/api/auth/logout`, {
      method: 'POST',
      headers: { cookie, 'x-fabric-csrf': '1' },
    });
    expect(out.headers.get('set-cookie')).toContain('Max-Age=0');
  });

  it('opens the browser socket with the cookie only from the same origin', async () => {
    t = await testServer();
    const cookie = await browserLogin();
    const url = t.server.url.replace('http', 'ws') + '/ws/browser';
    const open = (origin: string) =>
      new Promise<number>((resolve) => {
        const ws = new WebSocket(url, ['fabric.v1'], { headers: { cookie, origin } });
        ws.on('open', () => {
          ws.close();
          resolve(101);
        });
        ws.on('unexpected-response', (_r, res) => resolve(res.statusCode ?? 0));
        ws.on('error', () => {});
      });
    expect(await open(t.server.url)).toBe(101);
    expect(await open('https://evil.example')).toBe(403);
  });
});

describe('the board', () => {
  it('launches a card as a session and moves it as the session runs and ends; done stays done', async () => {
    t = await testServer();
    const paired = await t.pairDevice('alpha');
    const device = await FakeDevice.connect(t.server, paired.deviceId, paired.token, capabilities());
    cleanups.push(() => device.ws.terminate());
    const created = await t
      .api('/api/board/cards', { body: { title: 'say hi', prompt: 'echo hi' } })
      .then((r) => r.json() as Promise<BoardCard>);
    expect(created).toMatchObject({ column: 'backlog', sessionId: null, harness: 'shell' });
    const second = await t
      .api('/api/board/cards', { body: { title: 'later', prompt: 'echo later' } })
      .then((r) => r.json() as Promise<BoardCard>);
    expect(second.position).toBeGreaterThan(created.position);

    const moved = await t
      .api(`/api/board/cards/${second.id}`, { method: 'PATCH', body: { position: created.position - 1 } })
      .then((r) => r.json() as Promise<BoardCard>);
    const order = await t.api('/api/board').then((r) => r.json() as Promise<{ cards: BoardCard[] }>);
    expect(order.cards.map((c) => c.id)).toEqual([moved.id, created.id]);

    const launched = await t
      .api(`/api/board/cards/${created.id}/launch`, { body: {} })
      .then((r) => r.json() as Promise<BoardCard>);
    expect(launched).toMatchObject({ column: 'running', sessionStatus: 'starting' });
    const sid = launched.sessionId!;
    await device.next((e) => e.type === 'session.start');
    device.send({
      corrId: sid,
      type: 'session.ack',
      direction: 'to_cloud',
      ts: 1,
      payload: { sessionId: sid, pid: 1 },
    });
    device.send({
      corrId: sid,
      type: 'session.exit',
      direction: 'to_cloud',
      ts: 1,
      payload: { sessionId: sid, code: 0, signal: null },
    });
    const reviewed = await until(async () => {
      const c = await t.api(`/api/board`).then((r) => r.json() as Promise<{ cards: BoardCard[] }>);
      const card = c.cards.find((x) => x.id === created.id)!;
      return card.column === 'review' ? card : null;
    });
    expect(reviewed.sessionStatus).toBe('succeeded');
    await t.api(`/api/board/cards/${created.id}`, { method: 'PATCH', body: { column: 'done' } });
    const relaunch = await t
      .api(`/api/board/cards/${created.id}/launch`, { body: {} })
      .then((r) => r.json() as Promise<BoardCard>);
    expect(relaunch.sessionId).not.toBe(sid);
    expect((await t.api(`/api/board/cards/${created.id}`, { method: 'DELETE' })).status).toBe(204);
    expect((await t.api(`/api/board/cards/${created.id}`, { method: 'PATCH', body: { title: 'x' } })).status).toBe(404);
  });
});

describe('deployment modes and the cockpit', () => {
  it('answers cloud-only routes 410 with a reason in local mode', async () => {
    t = await testServer({ mode: 'local' });
    for (const path of ['/api/vault/set', '/api/fuel', '/api/devices/pairing-tokens']) {
      const res = await t.api(path, path.endsWith('tokens') ? { body: {} } : {});
      expect(res.status, path).toBe(410);
      expect(await res.json()).toMatchObject({ code: 'cloud_only', message: expect.stringContaining('local mode') });
    }
    expect((await t.api('/api/sessions')).status).toBe(200);
    expect(await t.api('/healthz').then((r) => r.json())).toMatchObject({ mode: 'local' });
  });

  it('serves the cockpit build with a strict CSP, immutable assets and client routes', async () => {
    const root = mkdtempSync(join(tmpdir(), 'fabric-web-'));
    cleanups.push(() => rmSync(root, { recursive: true, force: true }));
    mkdirSync(join(root, 'assets'));
    writeFileSync(join(root, 'index.html'), '<!doctype html><title>cockpit</title>');
    writeFileSync(join(root, 'assets', 'app-1a2b3c.js'), 'console.log(1)');
    t = await testServer({ webRoot: root });
    const index = await fetch(`${t.server.url}/`);
    expect(await index.text()).toContain('cockpit');
    expect(index.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(index.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    const asset = await fetch(`${t.server.url}/assets/app-1a2b3c.js`);
    expect(asset.headers.get('cache-control')).toContain('immutable');
    const route = await fetch(`${t.server.url}/sessions/ses_123`, { headers: { accept: 'text/html' } });
    expect(route.status).toBe(200);
    expect(await route.text()).toContain('cockpit');
    expect((await fetch(`${t.server.url}/api/nope`, { headers: { accept: 'text/html' } })).status).toBe(404);
  });
});
