// A real device agent stack in a temp dir, for tests of the agent tools over the
// agent socket and through the MCP server: the daemon's own stores (ledger,
// records, memory), its agent socket with an owner token, and every catalog tool
// mounted on it. What the daemon takes from the session runner (the session
// table and the owner's approvals) and from the machine (systemd) is stood in
// by parts the test controls.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { newId, type CapabilityDigest, type LedgerVerifyReport } from '@fabric/protocol';
import { agentCall, type AgentEndpoint } from '../src/agent/client.js';
import { TOOLS_PATH } from '../src/agent/protocol.js';
import { AgentSocket, agentSocketPath } from '../src/agent/socket.js';
import type { ApprovalDecision, ApprovalRequest } from '../src/sessions/harness/types.js';
import { LedgerKey, ledgerKeyPath } from '../src/audit/ledger/key.js';
import { Ledger } from '../src/audit/ledger/store.js';
import { verifyLedger } from '../src/audit/ledger/verify.js';
import type { Memory } from '../src/modules/memory/memory.js';
import { Kernel } from '../src/kernel/kernel.js';
import { defaultModules } from '../src/modules/index.js';
import type { MemoryModule } from '../src/modules/memory/index.js';
import { Records } from '../src/audit/records/store.js';
import type { SessionContext } from '../src/sessions/runner.js';
import { openSqlite } from '@fabric/node';
import type { SystemdOptions } from '../src/modules/system/systemd.js';
import { installFakeSystemctl } from './fake-systemctl.js';

/** `systemctl list-units --type=service --all --plain --no-legend` as the fake prints it. */
export const FAKE_SERVICES = [
  'cron.service   loaded active running Regular background program processing daemon',
  'nginx.service  loaded failed failed  A high performance web server',
  'broken.service loaded active running A service whose every action fails',
  '',
].join('\n');

export { BROKEN_SERVICE, BROKEN_STDERR } from './fake-systemctl.js';

export interface AgentStackOptions {
  /**
   * `fake`: a probe dir that exists and a `systemctl` script that records its
   * argv; `absent` (default): a probe path that does not exist, so services
   * are `unsupported` whatever the machine running the test has.
   */
  systemd?: 'fake' | 'absent';
}

/** One approval the stack was asked for, with the session it was asked for. */
export interface AskedApproval {
  sessionId: string;
  req: ApprovalRequest;
}

export interface AgentStack {
  /** The daemon's data dir (ledger.db, agent.db, memory/, backups/, agent.sock). */
  dataDir: string;
  /** A directory outside the data dir and every work dir, for "elsewhere on the machine". */
  outsideDir: string;
  /** The owner's default work dir (`<dataDir>/work`, as the daemon has it). */
  defaultWorkDir: string;
  deviceId: string;
  ledgerPublicKey: string;
  socket: AgentSocket;
  ledger: Ledger;
  records: Records;
  memory: Memory;
  /** The socket as `optimal agent` reaches it: the owner's token, no session. */
  owner: AgentEndpoint;
  /** Every approval asked for, by the tools or through `/v1/approvals`, in order. */
  asked: AskedApproval[];
  /** How the owner answers from now on (default: deny, so an ask a test did not expect shows). */
  answer(decide: (ask: AskedApproval) => ApprovalDecision | Promise<ApprovalDecision>): void;
  /**
   * A session running on the device: its own work dir (made under the temp
   * root unless given) and permission mode; answers its endpoint (a fresh token).
   */
  startSession(
    sessionId: string,
    ctx?: Partial<SessionContext>,
  ): AgentEndpoint & { sessionId: string; workDir: string };
  /** The session stopped running (its token still opens the socket: the runner just no longer knows it). */
  endSession(sessionId: string): void;
  /** Call tool `name` with `input` as `endpoint`; throws the daemon's FabricError. */
  call(endpoint: AgentEndpoint, name: string, input?: unknown): Promise<unknown>;
  /** Every argv the fake systemctl was run with, oldest first (empty when systemd is absent). */
  systemctlCalls(): string[][];
  /** The systemd options the tools were given. */
  systemd: SystemdOptions;
  /** The whole ledger checked as `optimal ledger verify` would, without checkpoints. */
  verify(): LedgerVerifyReport;
  /** Events of `kind` (oldest first), payloads parsed. */
  events(kind?: string): { seq: number; actor: string; kind: string; payload: Record<string, unknown> }[];
  close(): Promise<void>;
}

/** A capability digest of this machine, with one harness, for the agent card. */
function capabilities(): CapabilityDigest {
  return {
    hostname: 'stack-test',
    platform: process.platform,
    arch: process.arch,
    cpus: 2,
    ramTotal: 1,
    ramFree: 1,
    load: [0, 0, 0],
    harnesses: [{ name: 'claude', version: '2.1.197' }],
    labels: {},
    allowlist: [],
    daemonVersion: '0.0.0-test',
    runningSessions: 0,
  };
}

/** Build the stack and start listening. Call `close()` (the temp dir goes with it). */
export async function agentStack(opts: AgentStackOptions = {}): Promise<AgentStack> {
  const root = mkdtempSync(join(tmpdir(), 'fabric-stack-'));
  const dataDir = join(root, 'data');
  const outsideDir = join(root, 'outside');
  const defaultWorkDir = join(dataDir, 'work');
  mkdirSync(defaultWorkDir, { recursive: true, mode: 0o700 });
  mkdirSync(outsideDir);

  const fake = opts.systemd === 'fake' ? installFakeSystemctl(root, FAKE_SERVICES) : null;
  const systemd: SystemdOptions = fake ? fake.opts : { probePath: join(root, 'no-systemd-here') };

  const deviceId = newId('dev');
  const ledgerKey = LedgerKey.loadOrCreate(ledgerKeyPath(dataDir));
  const ledger = new Ledger(join(dataDir, 'ledger.db'));
  const recordsDb = openSqlite(join(dataDir, 'agent.db'));
  const records = new Records(recordsDb);

  const sessions = new Map<string, SessionContext>();
  const asked: AskedApproval[] = [];
  let decide: (ask: AskedApproval) => ApprovalDecision | Promise<ApprovalDecision> = () => ({
    decision: 'deny',
    reason: 'the test set no answer',
  });
  const approve = async (sessionId: string, req: ApprovalRequest): Promise<ApprovalDecision> => {
    const ask = { sessionId, req };
    asked.push(ask);
    return decide(ask);
  };

  const ownerToken = 'owner-token-'.padEnd(43, 'x');
  const socket = new AgentSocket({ path: agentSocketPath(dataDir), approve, ownerToken });
  // The daemon's own composition of modules, on this stack's stores.
  const modules = defaultModules({
    defaultWorkDir,
    systemd,
    deviceId,
    deviceName: () => 'stack-test',
    capabilities: async () => capabilities(),
    ledgerPublicKey: ledgerKey.publicKey,
    socketPath: socket.path,
  });
  const kernel = new Kernel(
    {
      dataDir,
      clock: { now: Date.now },
      log: { info: () => undefined, warn: () => undefined },
      audit: (actor, kind, payload) => ledger.append(actor, kind, payload),
      // No control plane here: the agent capabilities send it nothing.
      emit: () => undefined,
      ledger,
      records,
      session: (id) => sessions.get(id) ?? null,
      approve,
    },
    modules,
  );
  await kernel.start();
  kernel.tools.mount(socket);
  const memory = (modules.find((m) => m.name === 'memory') as MemoryModule).memory();
  await socket.listen();

  const owner: AgentEndpoint = { socket: socket.path, token: ownerToken };
  let closed = false;
  return {
    dataDir,
    outsideDir,
    defaultWorkDir,
    deviceId,
    ledgerPublicKey: ledgerKey.publicKey,
    socket,
    ledger,
    records,
    memory,
    owner,
    asked,
    systemd,
    answer(d) {
      decide = d;
    },
    startSession(sessionId, ctx = {}) {
      const workDir = ctx.workDir ?? join(root, `work-${sessionId}`);
      mkdirSync(workDir, { recursive: true });
      sessions.set(sessionId, {
        harness: ctx.harness ?? 'claude',
        workDir,
        permissionMode: ctx.permissionMode ?? 'ask',
      });
      return { socket: socket.path, sessionId, token: socket.issueToken(sessionId), workDir };
    },
    endSession(sessionId) {
      sessions.delete(sessionId);
    },
    call: (endpoint, name, input = {}) => agentCall(endpoint, `${TOOLS_PATH}/${name}`, { input }),
    systemctlCalls: () => fake?.calls() ?? [],
    verify: () => verifyLedger(ledger.iterate(), { deviceId, checkpoints: [], pinnedKey: null }),
    events(kind) {
      const all = [...ledger.iterate()].filter((e) => kind === undefined || e.kind === kind);
      return all.map((e) => ({
        seq: e.seq,
        actor: e.actor,
        kind: e.kind,
        payload: JSON.parse(e.payload) as Record<string, unknown>,
      }));
    },
    async close() {
      if (closed) return;
      closed = true;
      await socket.close();
      await kernel.stop();
      recordsDb.close();
      ledger.close();
      rmSync(root, { recursive: true, force: true });
    },
  };
}
