import { join } from 'node:path';
import { FabricError, type Labels } from '@fabric/protocol';
import { AgentSocket, agentSocketPath } from './agent/socket.js';
import { Capabilities } from './capabilities.js';
import { DeviceClient, type DeviceLog } from './client.js';
import { readDeviceFile, writeDeviceFile } from './config.js';
import { defaultAdapters } from './harness/registry.js';
import { DEFAULT_ALLOWLIST } from './harness/shell.js';
import { fabricMcpWiring } from './mcp/wiring.js';
import { SessionRunner } from './runner.js';
import { CredentialCache } from './vault/cache.js';
import { readDeviceKey } from './vault/device-key.js';
import type { BackoffOptions } from './backoff.js';

export interface DeviceOptions {
  dataDir: string;
  allowlist?: readonly string[];
  labels?: Labels;
  log: DeviceLog;
  graceMs?: number;
  backoff?: BackoffOptions;
  onState?: (state: 'connecting' | 'online' | 'offline') => void;
}

export interface RunningDevice {
  client: DeviceClient;
  runner: SessionRunner;
  deviceId: string;
  /** Settles when the client stops: resolves on `stop()`, rejects on a fatal refusal. */
  done: Promise<void>;
  stop(): Promise<void>;
}

/** Start the daemon for a paired data directory. Throws `not_found` when it was never paired. */
export function startDevice(opts: DeviceOptions): RunningDevice {
  const paired = readDeviceFile(opts.dataDir);
  if (!paired) {
    throw new FabricError('not_found', `${opts.dataDir} holds no paired device; run "optimal pair --token <pairing token> --data ${opts.dataDir}" first`);
  }
  const allowlist = opts.allowlist ?? DEFAULT_ALLOWLIST;
  const adapters = defaultAdapters();
  // The runner and client refer to each other: the runner emits through the client.
  let client: DeviceClient | null = null;
  // The agent socket: how a session's harness (through the daemon's MCP server) asks for approvals.
  let agent: AgentSocket | null = null;
  try {
    agent = new AgentSocket({ path: agentSocketPath(opts.dataDir), approve: (sessionId, req) => runner.requestApproval(sessionId, req) });
  } catch (err) {
    opts.log.warn(`agent socket: ${(err as Error).message}; harnesses cannot ask for approvals`);
  }
  const agentUp = agent?.listen().then(() => true, (err: Error) => {
    opts.log.warn(`agent socket ${agent!.path}: ${err.message}; harnesses cannot ask for approvals`);
    return false;
  });
  // Credentials are decrypted with this device's own key, in RAM, for 15 minutes at most.
  const credentialCache = new CredentialCache(() => readDeviceKey(opts.dataDir)?.identity ?? null);
  const runner = new SessionRunner({
    adapters,
    allowlist,
    credentials: (start) => credentialCache.resolve(start.credentials),
    workDir: join(opts.dataDir, 'work'),
    emit: (env) => {
      // A session that ended (or never started) loses its agent-API token.
      if (env.type === 'session.exit' || env.type === 'session.refuse') agent?.revoke(env.payload.sessionId);
      client!.emit(env);
    },
    ...(agent ? { mcp: (sessionId: string) => fabricMcpWiring(agent!.path, sessionId, agent!.issueToken(sessionId)) } : {}),
    ...(opts.graceMs === undefined ? {} : { graceMs: opts.graceMs }),
  });
  const caps = new Capabilities(adapters, opts.labels ?? {}, allowlist, () => runner.size);
  client = new DeviceClient({
    server: paired.server,
    deviceId: paired.deviceId,
    token: paired.token,
    runner,
    capabilities: () => caps.digest(),
    log: opts.log,
    ...(opts.backoff ? { backoff: opts.backoff } : {}),
    ...(opts.onState ? { onState: opts.onState } : {}),
    onToken: (token) => writeDeviceFile(opts.dataDir, { ...paired, token }),
    vaultRecipient: () => readDeviceKey(opts.dataDir)?.recipient ?? null,
  });
  const done = client.run();
  const closeAgent = async () => {
    await agentUp;
    await agent?.close();
  };
  void done.then(closeAgent, closeAgent);
  return {
    client, runner, deviceId: paired.deviceId, done,
    stop: async () => {
      await client!.stop();
      credentialCache.clear();
      await closeAgent();
    },
  };
}
