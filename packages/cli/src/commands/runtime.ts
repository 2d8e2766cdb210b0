import { existsSync, rmSync } from 'node:fs';
import { hostname } from 'node:os';
import { createRequire } from 'node:module';
import { delimiter, dirname, join, sep } from 'node:path';
import { FabricError, type Labels } from '@fabric/protocol';
import type { Accounts, RunningServer } from '@fabric/server';
import {
  DEFAULT_ALLOWLIST,
  ensureDeviceKey,
  readDeviceFile,
  recordPairing,
  startDevice,
  which,
  writeDeviceFile,
  type RunningDevice,
} from '@fabric/daemon';
import { writePrivateJson } from '@fabric/node';
import { readCliFile, writeCliFile } from '../context.js';
import type { Out } from './shared.js';

export interface ServeOptions {
  dir: string;
  host: string;
  port: number;
  mode?: 'local' | 'cloud';
  /** A PostgreSQL URL for the store; default the SQLite file in `dir`. */
  database?: string;
  /** How long a `lost` session waits for its device, and a queued one for any. */
  lostTimeoutMs?: number;
  queueTimeoutMs?: number;
}

/** The cockpit's build, shipped in @fabric/web (built by npm ci / npm run build); FABRIC_WEB_ROOT points elsewhere. */
export function cockpitRoot(): string {
  return (
    process.env.FABRIC_WEB_ROOT ??
    join(dirname(createRequire(import.meta.url).resolve('@fabric/web/package.json')), 'dist')
  );
}

/** Where a store is, for people: a PostgreSQL URL without its password. */
export async function storeLabelOf(database: string): Promise<string> {
  const { storeLabel } = await import('@fabric/server');
  return storeLabel(database);
}

/** Start a control plane on `dir` and record where it listens (`server.json`). */
export async function serve(o: ServeOptions): Promise<RunningServer> {
  // Loaded on demand: client commands never pay for the server's imports.
  const { consoleLogger, startServer } = await import('@fabric/server');
  const server = await startServer({
    dataDir: o.dir,
    host: o.host,
    port: o.port,
    log: consoleLogger('server'),
    webRoot: cockpitRoot(),
    ...(o.mode ? { mode: o.mode } : {}),
    ...(o.database ? { database: o.database } : {}),
    ...(o.lostTimeoutMs ? { lostTimeoutMs: o.lostTimeoutMs } : {}),
    ...(o.queueTimeoutMs ? { queueTimeoutMs: o.queueTimeoutMs } : {}),
  }).catch((err: unknown) => {
    throw listenError(err, o);
  });
  writePrivateJson(join(o.dir, 'server.json'), { url: server.url, pid: process.pid });
  return server;
}

/** A failure to listen as a person can act on it: the port (or address) and the flag to change it. */
function listenError(err: unknown, o: ServeOptions): unknown {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  if (code === 'EADDRINUSE')
    return new FabricError('port_in_use', `port ${o.port} is in use; pick another with --port`);
  if (code === 'EACCES')
    return new FabricError(
      'forbidden',
      `port ${o.port} needs privileges on this machine; pick one above 1023 with --port`,
    );
  if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND')
    return new FabricError('bad_request', `${o.host} is not an address of this machine; pick another with --host`);
  return err;
}

/**
 * What `optimal up` adds on top of `serve`: the owner account and its CLI
 * credentials (0600 in the data directory), and a local device paired to it.
 */
export async function bootstrapLocal(server: RunningServer, dir: string): Promise<void> {
  const { accounts, tokens } = server.ctx;
  const owner = await accounts.ensureOwner();
  const role = 'owner' as const;
  const cli = readCliFile(dir);
  let valid = false;
  if (cli?.server === server.url) {
    valid = await tokens.verify(cli.token, ['cli']).then(
      () => true,
      () => false,
    );
  }
  if (!valid) {
    const auth = await accounts.signIn({ id: owner.id, name: owner.name, role }, 'cli');
    writeCliFile(dir, { server: server.url, token: auth.token, user: auth.user, expiresAt: auth.expiresAt });
  }
  const device = readDeviceFile(dir);
  const known = device
    ? await server.ctx.db
        .selectFrom('devices')
        .select(['revoked_at'])
        .where('id', '=', device.deviceId)
        .executeTakeFirst()
    : undefined;
  if (!device || known?.revoked_at !== null) {
    const key = await ensureDeviceKey(dir);
    const pairing = await accounts.createPairingToken(owner.id);
    const paired = await accounts.pair(pairing.code, hostname().slice(0, 64) || 'local', key.recipient);
    writeDeviceFile(dir, {
      server: server.url,
      deviceId: paired.deviceId,
      name: paired.name,
      token: paired.token,
      pairedAt: Date.now(),
    });
    recordPairing(dir, 'owner', { deviceId: paired.deviceId, name: paired.name, server: server.url });
  } else {
    await ensureDeviceKey(dir);
    if (device.server !== server.url) writeDeviceFile(dir, { ...device, server: server.url });
  }
}

export interface DaemonFlags {
  allow?: string[];
  label?: Labels;
  /** `required`: run nothing unisolated (default `auto`: the owner's own sessions may run without a sandbox). */
  sandbox?: 'auto' | 'required';
}

/** One line about session isolation for banners: what sessions run in, or what to do about it. */
export function isolationLine(device: RunningDevice): string {
  const { kind, mode, reason } = device.isolation;
  if (kind === 'bwrap') return 'isolation: bwrap (every session runs in its own sandbox)';
  const what =
    mode === 'required'
      ? 'no session will run (--sandbox required)'
      : 'only your own sessions run, unisolated; others are refused';
  return `isolation: none — install bubblewrap (${what}; ${reason ?? 'no sandbox'})`;
}

/** Run the device daemon for `dir`, logging to stderr. */
export function runDevice(dir: string, flags: DaemonFlags, out: Out): RunningDevice {
  const log = {
    info: (m: string) => out.stderr(`${new Date().toISOString()} device info ${m}\n`),
    warn: (m: string) => out.stderr(`${new Date().toISOString()} device warn ${m}\n`),
  };
  return startDevice({
    dataDir: dir,
    allowlist: flags.allow && flags.allow.length > 0 ? flags.allow : DEFAULT_ALLOWLIST,
    labels: flags.label ?? {},
    ...(flags.sandbox ? { sandbox: flags.sandbox } : {}),
    // FABRIC_BWRAP names bubblewrap elsewhere (or nowhere: tests play a machine without it).
    ...(process.env.FABRIC_BWRAP ? { bwrapPath: process.env.FABRIC_BWRAP } : {}),
    log,
    onState: (s) => {
      if (s === 'online') out.stderr(`device online\n`);
    },
  });
}

/** Open the data directory's store directly (local authority: whoever can read the files owns the server). */
export async function openLocalAccounts(
  dir: string,
  database?: string,
): Promise<{ accounts: Accounts; close: () => Promise<void>; ownerId: string | null }> {
  const { Accounts, KeyRing, Tokens, dbFile, openStore, systemClock } = await import('@fabric/server');
  const file = dbFile(dir);
  if (database === undefined && !existsSync(file)) {
    throw new FabricError(
      'not_found',
      `no control plane data in ${dir}; start one with "optimal serve --data ${dir}" or pass --server`,
    );
  }
  const db = await openStore(database ?? file);
  const keys = new KeyRing(db, systemClock);
  await keys.load();
  const accounts = new Accounts(db, new Tokens(keys, systemClock), systemClock);
  const owner = await db
    .selectFrom('users')
    .select('id')
    .where('role', '=', 'owner')
    .orderBy('created_at')
    .executeTakeFirst();
  return { accounts, ownerId: owner?.id ?? null, close: () => db.destroy() };
}

/**
 * Wait for SIGINT/SIGTERM, then say what is being stopped (`announce`, one
 * line) and run `stop` once. A second signal while stopping exits at once.
 */
export function onShutdown(stop: () => Promise<void>, announce: () => void = () => {}): Promise<void> {
  return new Promise((resolve) => {
    let stopping = false;
    const handler = () => {
      if (stopping) return;
      stopping = true;
      process.once('SIGINT', () => process.exit(130));
      process.once('SIGTERM', () => process.exit(143));
      announce();
      void stop().finally(resolve);
    };
    process.once('SIGINT', handler);
    process.once('SIGTERM', handler);
  });
}

/**
 * How a person runs this CLI from another terminal: `optimal` when it is on
 * their PATH, else `npx optimal` (what works inside the repository). The
 * `node_modules/.bin` dirs that `npm start` adds to this process's PATH do
 * not count: the person's shell has none of them.
 */
export function optimalCommand(path = process.env.PATH ?? ''): string {
  const theirs = path
    .split(delimiter)
    .filter((d) => d !== '' && !d.split(sep).includes('node_modules'))
    .join(delimiter);
  return which('optimal', theirs) ? 'optimal' : 'npx optimal';
}

/** The line a daemon logs when told to stop: `stopping: 2 sessions, the device, the control plane…`. */
export function stoppingLine(sessions: number | null, parts: string[]): string {
  const what = sessions === null ? parts : [`${sessions} session${sessions === 1 ? '' : 's'}`, ...parts];
  return `stopping: ${what.join(', ')}…\n`;
}

export function removeServerFile(dir: string): void {
  rmSync(join(dir, 'server.json'), { force: true });
}
