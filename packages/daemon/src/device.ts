import { hostname } from 'node:os';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { FabricError, type Envelope, type Labels, type LedgerEventKind, type LedgerPayload } from '@fabric/protocol';
import { writeOwnerToken } from './agent/owner-token.js';
import { AgentSocket, agentSocketPath } from './agent/socket.js';
import { Capabilities } from './capabilities.js';
import { DeviceClient, type DeviceLog } from './link/client.js';
import { Outbox } from './link/outbox.js';
import { readDeviceFile, writeDeviceFile } from './config.js';
import { createOpenClawHarness } from './sessions/harness/openclaw/adapter.js';
import { defaultAdapters } from './sessions/harness/registry.js';
import { DEFAULT_ALLOWLIST } from './sessions/harness/shell/adapter.js';
import { Checkpointer } from './audit/ledger/checkpoint.js';
import { LedgerKey, ledgerKeyPath } from './audit/ledger/key.js';
import { Ledger } from './audit/ledger/store.js';
import { Kernel } from './kernel/kernel.js';
import { defaultModules } from './modules/index.js';
import { fabricMcpWiring, MCP_SERVER_ENTRY } from './agent/mcp/wiring.js';
import { Records } from './audit/records/store.js';
import { ProcessRecord, procFilePath } from './sessions/procs/record.js';
import { SessionRunner } from './sessions/runner.js';
import { detectSandbox, Sandbox, type SandboxMode, type SandboxStatus } from './sessions/sandbox/sandbox.js';
import { openSqlite } from '@fabric/node';
import type { SystemdOptions } from './modules/system/systemd.js';
import { CredentialCache } from './vault/cache.js';
import { readDeviceKey } from './vault/device-key.js';
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

/** Start the daemon for a paired data directory. Throws `not_found` when it was never paired. */
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
  const adapters = defaultAdapters();
  // OpenClaw takes MCP servers from its config file only: the daemon writes one that includes the user's.
  adapters.set('openclaw', createOpenClawHarness({ mcpConfigDir: join(dataDir, 'openclaw') }));

  // The device's audit trail: the ledger (append-only, hash-chained, checkpointed
  // to the control plane), and receipts and incidents.
  const ledger = new Ledger(join(dataDir, 'ledger.db'));
  const ledgerKey = LedgerKey.loadOrCreate(ledgerKeyPath(dataDir));
  const records = new Records(openSqlite(join(dataDir, 'agent.db')));
  // The audit trail must not take sessions down: a failed append is logged, not thrown.
  const record: RecordEvent = (actor, kind, payload) => {
    try {
      ledger.append(actor, kind, payload);
      checkpointer.tick();
    } catch (err) {
      opts.log.warn(`ledger: could not record ${kind}: ${(err as Error).message}`);
    }
  };

  // The runner and client refer to each other: the runner emits through the client.
  let client: DeviceClient | null = null;
  const checkpointer = new Checkpointer({
    deviceId: paired.deviceId,
    key: ledgerKey,
    head: () => ledger.head(),
    send: (cp) =>
      client?.emit({
        corrId: `lcp_${cp.seq}`,
        type: 'ledger.checkpoint',
        direction: 'to_cloud',
        ts: Date.now(),
        payload: cp,
      }),
    now: Date.now,
    ...(opts.checkpointEveryEvents === undefined ? {} : { everyEvents: opts.checkpointEveryEvents }),
    ...(opts.checkpointEveryMs === undefined ? {} : { everyMs: opts.checkpointEveryMs }),
  });
  const checkpointTimer = setInterval(() => checkpointer.tick(), Math.min(opts.checkpointEveryMs ?? 30_000, 30_000));
  checkpointTimer.unref();

  // The agent socket: approvals for harnesses, and the agent tools for sessions (through MCP) and the owner (`optimal agent`).
  let agent: AgentSocket | null = null;
  const socketPath = (() => {
    try {
      return agentSocketPath(dataDir);
    } catch (err) {
      opts.log.warn(`agent socket: ${(err as Error).message}; harnesses cannot ask for approvals`);
      return null;
    }
  })();
  if (socketPath) {
    agent = new AgentSocket({
      path: socketPath,
      approve: (sessionId, req) => runner.requestApproval(sessionId, req),
      ownerToken: writeOwnerToken(dataDir),
    });
  }
  const agentUp = agent?.listen().then(
    () => true,
    (err: unknown) => {
      opts.log.warn(
        `agent socket ${agent.path}: ${err instanceof Error ? err.message : String(err)}; harnesses cannot ask for approvals`,
      );
      return false;
    },
  );
  // Credentials are decrypted with this device's own key, in RAM, for 15 minutes at most.
  // Sessions run in a sandbox that hides this data dir; what they need from it is bound back in.
  const sandboxStatus: SandboxStatus = detectSandbox(opts.bwrapPath ? { bwrapPath: opts.bwrapPath } : {});
  const sandbox = new Sandbox({
    status: sandboxStatus,
    mode: opts.sandbox ?? 'auto',
    dataDir,
    agentSocket: socketPath,
    // The daemon's own install (the MCP server sessions start, its node_modules) and Node itself,
    // in case they live under /tmp, which every sandbox gets a private copy of.
    readOnly: [join(dataDir, 'openclaw'), installRoot(), dirname(process.execPath)],
    writable: opts.sandboxBind ?? (process.env.FABRIC_SANDBOX_BIND ?? '').split(':').filter((p) => p.startsWith('/')),
  });
  if (!sandboxStatus.available) opts.log.warn(`isolation: none — ${sandboxStatus.reason}`);
  const credentialCache = new CredentialCache(() => readDeviceKey(dataDir)?.identity ?? null);
  // What a previous run that crashed left running is read before this run starts anything.
  const procs = new ProcessRecord(procFilePath(dataDir));
  const leftovers = procs.takeLeftovers();
  const runner = new SessionRunner({
    procs,
    adapters,
    allowlist,
    credentials: async (start) => {
      const names = start.credentials.map((c) => c.name);
      try {
        const plain = await credentialCache.resolve(start.credentials);
        record('daemon', 'vault.access', { sessionId: start.sessionId, names, ok: true });
        return plain;
      } catch (err) {
        record('daemon', 'vault.access', {
          sessionId: start.sessionId,
          names,
          ok: false,
          code: (err as { code?: string }).code ?? 'internal',
        });
        throw err;
      }
    },
    workDir: join(dataDir, 'work'),
    dataDir,
    sandbox,
    emit: (env) => {
      // A session that ended (or never started) loses its agent-API token.
      if (env.type === 'session.exit' || env.type === 'session.refuse') agent?.revoke(env.payload.sessionId);
      auditEnvelope(env, runner, record);
      client!.emit(env);
    },
    onApprovalSettled: (sessionId, requestId, d, by) =>
      record(by === 'owner' ? 'owner' : 'daemon', 'approval.decision', {
        sessionId,
        requestId,
        decision: d.decision,
        reason: d.reason ?? null,
        by,
      }),
    ...(agent
      ? { mcp: (sessionId: string) => fabricMcpWiring(agent.path, sessionId, agent.issueToken(sessionId)) }
      : {}),
    ...(opts.graceMs === undefined ? {} : { graceMs: opts.graceMs }),
  });
  const caps = new Capabilities(adapters, opts.labels ?? {}, allowlist, () => runner.size, sandbox.isolation);
  // The capabilities agents call (system, ledger, memory, records, backup, card), served on the agent socket.
  const kernel = new Kernel(
    {
      dataDir,
      clock: { now: Date.now },
      log: opts.log,
      audit: (actor, kind, payload) => {
        const entry = ledger.append(actor, kind, payload);
        checkpointer.tick();
        return entry;
      },
      ledger,
      records,
      session: (id) => runner.context(id),
      approve: (id, req) => runner.requestApproval(id, req),
    },
    defaultModules({
      defaultWorkDir: join(dataDir, 'work'),
      systemd: opts.systemd,
      deviceId: paired.deviceId,
      deviceName: () => readDeviceFile(dataDir)?.name ?? hostname(),
      capabilities: () => caps.digest(),
      ledgerPublicKey: ledgerKey.publicKey,
      socketPath: agent?.path ?? '',
    }),
  );
  const kernelUp = kernel.start().then(
    () => {
      if (agent) kernel.tools.mount(agent);
    },
    (err: unknown) => {
      opts.log.warn(`agent tools: ${err instanceof Error ? err.message : String(err)}; the agent API serves none`);
    },
  );
  record('daemon', 'daemon.start', { deviceId: paired.deviceId, pid: process.pid });
  client = new DeviceClient({
    server: paired.server,
    deviceId: paired.deviceId,
    token: paired.token,
    runner,
    capabilities: () => caps.digest(),
    log: opts.log,
    ...(opts.backoff ? { backoff: opts.backoff } : {}),
    onState: (state) => {
      if (state === 'online') checkpointer.connected();
      opts.onState?.(state);
    },
    onLedgerAck: (seq) => checkpointer.acked(seq),
    onToken: (token) => writeDeviceFile(dataDir, { ...paired, token }),
    vaultRecipient: () => readDeviceKey(dataDir)?.recipient ?? null,
    // What the control plane has not confirmed survives a daemon restart.
    outbox: new Outbox({ file: join(dataDir, 'outbox.jsonl') }),
  });
  const done = client.run();
  // Their sessions are reported ended (session.exit with the signal), in the ledger and the log.
  void runner.endLeftovers(leftovers).then((ended) => {
    for (const l of ended) {
      const what =
        l.outcome === 'gone'
          ? 'was already gone'
          : l.outcome === 'terminated'
            ? 'ended with SIGTERM'
            : 'ended with SIGKILL';
      opts.log.warn(`session ${l.sessionId}: its process ${l.pid}, left by a previous run of the daemon, ${what}`);
      record('daemon', 'session.leftover', {
        sessionId: l.sessionId,
        pid: l.pid,
        sandboxed: l.sandboxed,
        outcome: l.outcome,
        reason: 'left running by a previous run of the daemon',
      });
    }
  });
  let closed = false;
  const closeAll = async () => {
    if (closed) return;
    closed = true;
    clearInterval(checkpointTimer);
    await agentUp;
    await agent?.close();
    await kernelUp;
    await kernel.stop();
    ledger.close();
  };
  void done.then(closeAll, closeAll);
  return {
    client,
    runner,
    deviceId: paired.deviceId,
    ledger,
    done,
    isolation: { kind: sandbox.isolation, mode: sandbox.mode, reason: sandbox.reason },
    stop: async () => {
      await client.stop();
      procs.close();
      credentialCache.clear();
      record('daemon', 'daemon.stop', { deviceId: paired.deviceId });
      await closeAll();
    },
  };
}

/** Append one event to the ledger, logging (never throwing) a failure. */
type RecordEvent = <K extends LedgerEventKind>(actor: string, kind: K, payload: LedgerPayload<K>) => void;

/** The ledger's view of what a session does: starts, refusals, exits, approval requests. */
function auditEnvelope(env: Envelope, runner: SessionRunner, record: RecordEvent): void {
  switch (env.type) {
    case 'session.ack': {
      const ctx = runner.context(env.payload.sessionId);
      record('control-plane', 'session.start', {
        sessionId: env.payload.sessionId,
        pid: env.payload.pid,
        harness: ctx?.harness ?? null,
        workDir: ctx?.workDir ?? null,
        permissionMode: ctx?.permissionMode ?? null,
      });
      return;
    }
    case 'session.refuse':
      record('daemon', 'session.refuse', { sessionId: env.payload.sessionId, code: env.payload.code });
      return;
    case 'session.exit':
      record('daemon', 'session.exit', {
        sessionId: env.payload.sessionId,
        code: env.payload.code,
        signal: env.payload.signal,
      });
      return;
    case 'session.approval_request':
      record(`session:${env.payload.sessionId}`, 'approval.request', {
        sessionId: env.payload.sessionId,
        requestId: env.payload.requestId,
        tool: env.payload.tool,
        summary: env.payload.summary,
      });
      return;
    default:
      return;
  }
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
