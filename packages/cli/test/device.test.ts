import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import { join } from 'node:path';
import { openSqlite } from '@fabric/node';
import { afterEach, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '@fabric/server';
import { Ledger, startDevice, writeDeviceFile, type RunningDevice } from '@fabric/daemon';
import { tempDir, until } from './procs.js';

/** The device daemon in-process against a control plane in-process, with short timers. */
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function plane(port = 0): Promise<RunningServer> {
  const server = await startServer({ port, gateway: { heartbeatMs: 100 } });
  cleanups.push(() => server.close());
  return server;
}

/**
 * A TCP relay on a port of its own that forwards to whichever port `target()`
 * names now: a restarted control plane gets a fresh port (no port is released
 * and bound again), and the device keeps dialling the one address it knows.
 */
async function relay(target: () => number): Promise<{ url: string }> {
  const sockets = new Set<Socket>();
  const server = createServer((down) => {
    const up = connect(target(), '127.0.0.1');
    for (const s of [down, up]) {
      sockets.add(s);
      s.on('error', () => {
        /* the other side went away */
      });
      s.on('close', () => {
        sockets.delete(s);
        down.destroy();
        up.destroy();
      });
    }
    down.pipe(up).pipe(down);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  );
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

async function pairedDevice(server: RunningServer, dir: string, url = server.url): Promise<RunningDevice> {
  const owner = await server.ctx.accounts.ensureOwner('ada');
  const pairing = await server.ctx.accounts.createPairingToken(owner.id);
  const paired = await server.ctx.accounts.pair(pairing.code, 'unit');
  writeDeviceFile(dir, {
    server: url,
    deviceId: paired.deviceId,
    name: 'unit',
    token: paired.token,
    pairedAt: Date.now(),
  });
  const device = startDevice({
    dataDir: dir,
    allowlist: ['echo'],
    labels: { room: 'lab' },
    log: { info() {}, warn() {} },
    backoff: { baseMs: 50, maxMs: 200 },
  });
  cleanups.push(() => device.stop());
  return device;
}

/** Whether the control plane ever saw the device: its online flag and when it was last heard from. */
function presence(server: RunningServer, deviceId: string) {
  return server.ctx.db
    .selectFrom('devices')
    .select(['online', 'last_seen_at'])
    .where('id', '=', deviceId)
    .executeTakeFirstOrThrow();
}

describe('the device daemon', () => {
  it('heartbeats its capability digest at the period the control plane asks for', async () => {
    const server = await plane();
    const dir = tempDir('hb');
    cleanups.push(dir.remove);
    const device = await pairedDevice(server, dir.path);
    const row = () =>
      server.ctx.db.selectFrom('devices').selectAll().where('id', '=', device.deviceId).executeTakeFirstOrThrow();
    const first = await until(
      async () => {
        const r = await row();
        return r.online === 1 ? r : null;
      },
      30_000,
      'online',
    );
    const later = await until(
      async () => {
        const r = await row();
        return Number(r.last_seen_at) >= Number(first.last_seen_at) + 250 ? r : null;
      },
      30_000,
      'heartbeats',
    );
    const caps = JSON.parse(later.capabilities!) as {
      labels: Record<string, string>;
      allowlist: string[];
      harnesses: { name: string }[];
      cpus: number;
    };
    expect(caps).toMatchObject({ labels: { room: 'lab' }, allowlist: ['echo'] });
    expect(caps.harnesses.map((h) => h.name)).toEqual(['shell']);
    expect(caps.cpus).toBeGreaterThan(0);
  });

  it('reconnects by itself after the control plane goes away and comes back', async () => {
    let server = await plane();
    const front = await relay(() => server.port);
    const dir = tempDir('rc');
    cleanups.push(dir.remove);
    const device = await pairedDevice(server, dir.path, front.url);
    const online = () =>
      server.ctx.db
        .selectFrom('devices')
        .select('online')
        .where('id', '=', device.deviceId)
        .executeTakeFirst()
        .then((r) => r?.online === 1);
    await until(online, 30_000, 'first connection');
    // Same store, same address for the device: a restart of the control plane.
    const db = server.ctx.db;
    const before = server.port;
    await server.gateway.close();
    await server.app.close();
    // A starting control plane marks every device offline: online again is a new connection.
    server = await startServer({ port: 0, db, gateway: { heartbeatMs: 100 } });
    cleanups.push(() => server.close());
    expect(server.port).not.toBe(before);
    await until(online, 30_000, 'reconnection');
  });

  it('does not connect when one of its modules cannot start, and says which store and what to do', async () => {
    const server = await plane();
    const dir = tempDir('mod');
    cleanups.push(dir.remove);
    // The memory module's index, as a newer daemon would have left it.
    const newer = openSqlite(join(dir.path, 'memory-index.db'));
    newer.pragma('user_version = 99');
    newer.close();
    const device = await pairedDevice(server, dir.path);
    await expect(device.done).rejects.toThrow(/memory-index\.db has schema 99, .*: upgrade fabric/);
    expect(await presence(server, device.deviceId)).toMatchObject({ online: 0, last_seen_at: null });
  });

  it('stops cleanly when stopped while it starts, without ever connecting', async () => {
    const server = await plane();
    const dir = tempDir('early');
    cleanups.push(dir.remove);
    const device = await pairedDevice(server, dir.path);
    await device.stop();
    await device.done;
    expect(await presence(server, device.deviceId)).toMatchObject({ online: 0, last_seen_at: null });
    // Its ledger says it started and stopped.
    const ledger = new Ledger(join(dir.path, 'ledger.db'));
    const kinds = ledger.list({ limit: 10 }).events.map((e) => e.kind);
    ledger.close();
    expect(kinds).toEqual(expect.arrayContaining(['daemon.start', 'daemon.stop']));
  });
});
