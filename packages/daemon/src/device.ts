import { hostname } from 'node:os';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { FabricError, type Labels } from '@fabric/protocol';
import { openSqlite } from '@fabric/node';
import { writeOwnerToken } from './agent/owner-token.js';
import { AgentSocket, agentSocketPath } from './agent/socket.js';
import { fabricMcpWiring, MCP_SERVER_ENTRY } from './agent/mcp/wiring.js';
import { checkpointsModule } from './audit/ledger/module.js';
import { LedgerKey, ledgerKeyPath } from './audit/ledger/key.js';
import { Ledger } from './audit/ledger/store.js';
import { Records } from './audit/records/store.js';
import { readDeviceFile, writeDeviceFile } from './config.js';
import { Kernel, type KernelServices } from './kernel/kernel.js';
import { auditOrLog } from './kernel/module.js';
import { DeviceClient, type DeviceLog } from './link/client.js';
import { Outbox } from './link/outbox.js';
import { defaultModules } from './modules/index.js';
import type { SystemdOptions } from './modules/system/systemd.js';
import { sessionsModule } from './sessions/module.js';
import { DEFAULT_ALLOWLIST } from './sessions/harness/shell/adapter.js';
import type { SandboxMode } from './sessions/sandbox/sandbox.js';
import type { SessionRunner } from './sessions/runner.js';
import { vaultModule } from './vault/module.js';
import type { BackoffOptions } from './link/backoff.js';

export interface DeviceOptions {
  dataDir: string;
  allowlist?: readonly string[];
  labels?: Labels;
  log: DeviceLog;
  graceMs?: number;
  backoff?: BackoffOptions;
  onState?: (state: 'connecting' | 'online' | 'offline') => void;
  /** A signed ledger checkpoint goes out after this many new events (default 1000)… */
  checkpointEveryEvents?: number;
  /** …or this long after the last one (default 5 minutes). */
  checkpointEveryMs?: number;
  /** Where systemd is looked for (tests point it at a fake `systemctl`). */
  systemd?: SystemdOptions;
  /**
   * `auto` (default): sessions run in a bubblewrap sandbox; where none can be
   * made, only the device owner's own sessions run, unisolated. `required`:
   * without a sandbox nothing runs.
   */
  sandbox?: SandboxMode;
  /** Where bubblewrap is (default: `bwrap` on PATH); tests name a missing file to play a machine without it. */
  bwrapPath?: string;
  /** Paths every session's sandbox binds read-write besides its work dir (default: `FABRIC_SANDBOX_BIND`, colon-separated absolute paths). */
  sandboxBind?: readonly string[];
}

export interface RunningDevice {
  client: DeviceClient;
  runner: SessionRunner;
  deviceId: string;
  /** The device's hash-chained ledger (`ledger.db`). */
  ledger: Ledger;
  /** Whether sessions run sandboxed, found once at start: `reason` says why not and what to do. */
  isolation: { kind: 'bwrap' | 'none'; mode: SandboxMode; reason: string | null };
  /** Settles when the client stops: resolves on `stop()`, rejects on a fatal refusal. */
  done: Promise<void>;
  stop(): Promise<void>;
}

/**
 * Start the daemon for a paired data directory: the kernel and its modules
 * (vault, sessions, checkpoints, then the agent capabilities of
 * `modules/index.ts`), the agent socket that serves their tools, and the
 * link to the control plane, which connects once every module has started.
 * Throws `not_found` when the directory was never paired; a module that
 * cannot start ends `done` with its error.
 */
export function startDevice(opts: DeviceOptions): RunningDevice {
  const paired = readDeviceFile(opts.dataDir);
  if (!paired) {
    throw new FabricError(
      'not_found',
      `${opts.dataDir} holds no paired device; run "optimal pair --token <pairing token> --data ${opts.dataDir}" first`,
    );
  }
  const allowlist = opts.allowlist ?? DEFAULT_ALLOWLIST;
  const dataDir = opts.dataDir;

  // The device's audit trail: the ledger (append-only, hash-chained, checkpointed
  // to the control plane), and receipts and incidents.
  const ledger = new Ledger(join(dataDir, 'ledger.db'));
  const ledgerKey = LedgerKey.loadOrCreate(ledgerKeyPath(dataDir));
  const records = new Records(openSqlite(join(dataDir, 'agent.db')));

  // The agent socket: approvals for harnesses, and the agent tools for sessions (through MCP) and the owner (`optimal agent`).
  const agent = openAgentSocket(dataDir, opts.log, (sessionId, req) => sessions.runner.requestApproval(sessionId, req));

  const vault = vaultModule();
  const checkpoints = checkpointsModule({
    deviceId: paired.deviceId,
    key: ledgerKey,
    everyEvents: opts.checkpointEveryEvents,
    everyMs: opts.checkpointEveryMs,
  });
  const sessions = sessionsModule({
    dataDir,
    allowlist,
    labels: opts.labels ?? {},
    graceMs: opts.graceMs,
    sandbox: {
      mode: opts.sandbox ?? 'auto',
      bwrapPath: opts.bwrapPath,
      agentSocket: agent?.path ?? null,
      // The daemon's own install (the MCP server sessions start, its node_modules) and Node itself,
      // in case they live under /tmp, which every sandbox gets a private copy of.
      readOnly: [installRoot(), dirname(process.execPath)],
      writable: opts.sandboxBind ?? (process.env.FABRIC_SANDBOX_BIND ?? '').split(':').filter((p) => p.startsWith('/')),
    },
    credentials: (start) => vault.credentials(start),
    ...(agent
      ? { mcp: (sessionId: string) => fabricMcpWiring(agent.path, sessionId, agent.issueToken(sessionId)) }
      : {}),
    // A session that ended (or never started) loses its agent-API token.
    onEnded: (sessionId) => agent?.revoke(sessionId),
  });

  let client: DeviceClient | null = null;
  const services: KernelServices = {
    dataDir,
    clock: { now: Date.now },
    log: opts.log,
    audit: (actor, kind, payload) => {
      const entry = ledger.append(actor, kind, payload);
      checkpoints.appended();
      return entry;
    },
    emit: (env) => client?.emit(env),
    ledger,
    records,
    session: (id) => sessions.runner.context(id),
    approve: (id, req) => sessions.runner.requestApproval(id, req),
  };
  const kernel = new Kernel(services, [
    vault,
    sessions,
    checkpoints,
    ...defaultModules({
      defaultWorkDir: join(dataDir, 'work'),
      systemd: opts.systemd,
      deviceId: paired.deviceId,
      deviceName: () => readDeviceFile(dataDir)?.name ?? hostname(),
      capabilities: () => sessions.capabilities.digest(),
      ledgerPublicKey: ledgerKey.publicKey,
      socketPath: agent?.path ?? '',
    }),
  ]);
  auditOrLog(services, 'daemon', 'daemon.start', { deviceId: paired.deviceId, pid: process.pid });
  const link = new DeviceClient({
    server: paired.server,
    deviceId: paired.deviceId,
    token: paired.token,
    sessions: sessions.runner,
    deliver: (env) => {
      // Only a stopping kernel handles no session.start: the link answers the throw with a refusal.
      if (!kernel.deliver(env) && env.type === 'session.start') throw new Error('the device is stopping');
    },
    capabilities: () => sessions.capabilities.digest(),
    log: opts.log,
    ...(opts.backoff ? { backoff: opts.backoff } : {}),
    ...(opts.onState ? { onState: opts.onState } : {}),
    onToken: (token) => writeDeviceFile(dataDir, { ...paired, token }),
    vaultRecipient: () => vault.recipient(),
    // What the control plane has not confirmed survives a daemon restart.
    outbox: new Outbox({ file: join(dataDir, 'outbox.jsonl') }),
  });
  client = link;

  // The link connects once every module runs, so each envelope finds its handler.
  const up = (async () => {
    const listening = await agent?.listen().then(
      () => true,
      (err: unknown) => {
        opts.log.warn(`agent socket ${agent.path}: ${message(err)}; harnesses cannot ask for approvals`);
        return false;
      },
    );
    await kernel.start();
    if (agent && listening) kernel.tools.mount(agent);
  })();
  const done = up.then(() => link.run());
  let closed: Promise<void> | null = null;
  // Each step runs whatever the one before it threw: decrypted credentials and open files never outlive the daemon.
  const closeAll = () =>
    (closed ??= (async () => {
      await up.catch(() => undefined);
      await agent?.close().catch((err: unknown) => opts.log.warn(`agent socket: could not close: ${message(err)}`));
      await kernel.stop();
      ledger.close();
    })());
  void done.then(closeAll, closeAll);
  return {
    client: link,
    runner: sessions.runner,
    deviceId: paired.deviceId,
    ledger,
    done,
    isolation: sessions.isolation,
    stop: async () => {
      // What is starting finishes first (a leftover of a previous run is ended and reported), then everything stops.
      await up.catch(() => undefined);
      await link.stop();
      auditOrLog(services, 'daemon', 'daemon.stop', { deviceId: paired.deviceId });
      await closeAll();
    },
  };
}

/** The agent socket in `dataDir`, or null (logged) where none can be made. */
function openAgentSocket(
  dataDir: string,
  log: DeviceLog,
  approve: ConstructorParameters<typeof AgentSocket>[0]['approve'],
): AgentSocket | null {
  try {
    return new AgentSocket({ path: agentSocketPath(dataDir), approve, ownerToken: writeOwnerToken(dataDir) });
  } catch (err) {
    log.warn(`agent socket: ${message(err)}; harnesses cannot ask for approvals`);
    return null;
  }
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * The directory this daemon runs from: the nearest ancestor of its MCP
 * server that holds a `node_modules` (the repository, or the app it is
 * installed in). Sessions need it readable to start the MCP server.
 */
function installRoot(): string {
  let dir = dirname(MCP_SERVER_ENTRY);
  for (;;) {
    if (existsSync(join(dir, 'node_modules'))) return dir;
    const up = dirname(dir);
    if (up === dir) return dirname(MCP_SERVER_ENTRY);
    dir = up;
  }
}
