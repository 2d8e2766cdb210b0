import { afterEach, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '@fabric/server';
import { startDevice, writeDeviceFile, type RunningDevice } from '@fabric/daemon';
import { tempDir, until } from './procs.js';

/** The device daemon in-process against a control plane in-process, with short timers. */
const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function plane(port = 0): Promise<RunningServer> {
  const server = await startServer({ port, gateway: { heartbeatMs: 100 } });
  cleanups.push(() => server.close());
  return server;
}

async function pairedDevice(server: RunningServer, dir: string): Promise<RunningDevice> {
  const owner = await server.ctx.accounts.ensureOwner('ada');
  const pairing = await server.ctx.accounts.createPairingToken(owner.id);
  const paired = await server.ctx.accounts.pair(pairing.code, 'unit');
  writeDeviceFile(dir, { server: server.url, deviceId: paired.deviceId, name: 'unit', token: paired.token, pairedAt: Date.now() });
  const device = startDevice({
    dataDir: dir, allowlist: ['echo'], labels: { room: 'lab' }, log: { info() {}, warn() {} }, backoff: { baseMs: 50, maxMs: 200 },
  });
  cleanups.push(() => device.stop());
  return device;
}

describe('the device daemon', () => {
  it('heartbeats its capability digest at the period the control plane asks for', async () => {
    const server = await plane();
    const dir = tempDir('hb');
    cleanups.push(dir.remove);
    const device = await pairedDevice(server, dir.path);
    const row = () => server.ctx.db.selectFrom('devices').selectAll().where('id', '=', device.deviceId).executeTakeFirstOrThrow();
    const first = await until(async () => { const r = await row(); return r.online === 1 ? r : null; }, 5000, 'online');
    const later = await until(async () => { const r = await row(); return Number(r.last_seen_at) >= Number(first.last_seen_at) + 250 ? r : null; }, 5000, 'heartbeats');
    const caps = JSON.parse(later.capabilities!) as { labels: Record<string, string>; allowlist: string[]; harnesses: Array<{ name: string }>; cpus: number };
    expect(caps).toMatchObject({ labels: { room: 'lab' }, allowlist: ['echo'] });
    expect(caps.harnesses.map((h) => h.name)).toEqual(['shell']);
    expect(caps.cpus).toBeGreaterThan(0);
  });

  it('reconnects by itself after the control plane goes away and comes back', async () => {
    let server = await plane();
    const port = server.port;
    const dir = tempDir('rc');
    cleanups.push(dir.remove);
    const device = await pairedDevice(server, dir.path);
    const online = () => server.ctx.db.selectFrom('devices').select('online').where('id', '=', device.deviceId).executeTakeFirst().then((r) => r?.online === 1);
    await until(online, 5000, 'first connection');
    // Same store, same port: a restart of the control plane.
    const db = server.ctx.db;
    await server.gateway.close();
    await server.app.close();
    server = await startServer({ port, db, gateway: { heartbeatMs: 100 } });
    cleanups.push(() => server.close());
    await until(online, 5000, 'reconnection');
  });
});
