import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Envelope, EnvelopeOf, SessionStartPayload } from '@fabric/protocol';
import { APPROVALS_PATH } from '../../agent/protocol.js';
import { AgentSocket, agentSocketPath } from '../../agent/socket.js';
import { defaultAdapters } from '../harness/registry.js';
import { SessionRunner } from '../runner.js';
import { isProjectDir, workDirRefusal } from './paths.js';
import { detectSandbox, Sandbox, type SandboxMode } from './sandbox.js';

/** The runner's "socket": every envelope, and a way to wait for one. */
class Recorder {
  readonly envelopes: Envelope[] = [];
  private waiters: (() => void)[] = [];
  emit = (env: Envelope): void => {
    this.envelopes.push(env);
    for (const w of this.waiters.splice(0)) w();
  };
  async next<T extends Envelope['type']>(type: T, sessionId: string, timeoutMs = 20_000): Promise<EnvelopeOf<T>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.envelopes.find(
        (e) => e.type === type && (e.payload as { sessionId?: string }).sessionId === sessionId,
      );
      if (found) return found as EnvelopeOf<T>;
      if (Date.now() > deadline) throw new Error(`no ${type} for ${sessionId}`);
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 200);
      });
    }
  }
  text(type: 'session.stdout' | 'session.stderr', sessionId: string): string {
    return this.envelopes
      .filter((e) => e.type === type && e.payload.sessionId === sessionId)
      .map((e) => (e.payload as { data: string }).data)
      .join('');
  }
}

const SECRET = 'top-secret-material-4711';
const ALLOWLIST = ['cat', 'ls', 'sh', 'node', 'pwd'];
let dataDir: string;
let agent: AgentSocket;
let counter = 0;
const runners: SessionRunner[] = [];

function makeRunner(opts: { mode?: SandboxMode; bwrapPath?: string; readOnly?: string[] } = {}) {
  const recorder = new Recorder();
  const status = detectSandbox(opts.bwrapPath ? { bwrapPath: opts.bwrapPath } : {});
  const runner = new SessionRunner({
    adapters: defaultAdapters(),
    allowlist: ALLOWLIST,
    workDir: join(dataDir, 'work'),
    dataDir,
    sandbox: new Sandbox({
      status,
      mode: opts.mode ?? 'auto',
      dataDir,
      agentSocket: agent.path,
      readOnly: [join(dataDir, 'openclaw'), ...(opts.readOnly ?? [])],
    }),
    emit: recorder.emit,
    graceMs: 500,
  });
  runners.push(runner);
  return { runner, recorder };
}

/** Run one shell-harness session to its end; its id, exit and output. */
async function run(r: ReturnType<typeof makeRunner>, prompt: string, extra: Partial<SessionStartPayload> = {}) {
  const sessionId = `ses_sandbox${String(++counter).padStart(5, '0')}`;
  r.runner.start({
    sessionId,
    harness: 'shell',
    prompt,
    cwd: null,
    labels: {},
    permissionMode: 'ask',
    resume: null,
    model: null,
    credentials: [],
    byDeviceOwner: false,
    ...extra,
  });
  const exit = await r.recorder.next('session.exit', sessionId);
  return {
    sessionId,
    code: exit.payload.code,
    stdout: r.recorder.text('session.stdout', sessionId),
    stderr: r.recorder.text('session.stderr', sessionId),
  };
}

async function refusal(r: ReturnType<typeof makeRunner>, prompt: string, extra: Partial<SessionStartPayload> = {}) {
  const sessionId = `ses_sandbox${String(++counter).padStart(5, '0')}`;
  r.runner.start({
    sessionId,
    harness: 'shell',
    prompt,
    cwd: null,
    labels: {},
    permissionMode: 'ask',
    resume: null,
    model: null,
    credentials: [],
    byDeviceOwner: false,
    ...extra,
  });
  return (await r.recorder.next('session.refuse', sessionId)).payload;
}

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'fabric-sandbox-'));
  for (const f of ['agent.token', 'vault.key', 'device.json', 'cli.json', 'ledger.db', 'ledger.key'])
    writeFileSync(join(dataDir, f), `${SECRET} in ${f}\n`, { mode: 0o600 });
  mkdirSync(join(dataDir, 'work', 'ses_someoneelse1'), { recursive: true });
  writeFileSync(join(dataDir, 'work', 'ses_someoneelse1', 'notes.txt'), `${SECRET} in another session\n`);
  mkdirSync(join(dataDir, 'openclaw'));
  writeFileSync(join(dataDir, 'openclaw', 'openclaw.json'), '{"mcp":{}}\n');
  agent = new AgentSocket({
    path: agentSocketPath(dataDir),
    approve: (sessionId, req) => {
      const runner = runners.find((r) => r.context(sessionId));
      return runner ? runner.requestApproval(sessionId, req) : Promise.resolve({ decision: 'deny', reason: 'unknown' });
    },
  });
  await agent.listen();
  expect(detectSandbox(), 'this machine must be able to run bubblewrap').toMatchObject({ available: true });
}, 30_000);

afterAll(async () => {
  for (const r of runners) await r.stopAll();
  await agent?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('a sandboxed session', () => {
  it("sees the daemon's install even under /tmp, but never a read-only path that would show the data dir again", async () => {
    const install = mkdtempSync(join(tmpdir(), 'fabric-install-'));
    try {
      writeFileSync(join(install, 'server.js'), 'installed\n');
      // The data dir's parent (here /tmp) would re-expose the data dir if it were bound after the tmpfs that hides it.
      const r = await run(
        makeRunner({ readOnly: [install, dirname(dataDir)] }),
        `sh -c 'cat ${join(install, 'server.js')}; cat ${join(dataDir, 'agent.token')}'`,
      );
      expect(r.stdout).toBe('installed\n');
      expect(r.stdout + r.stderr).not.toContain(SECRET);
    } finally {
      rmSync(install, { recursive: true, force: true });
    }
  });

  for (const file of ['agent.token', 'vault.key', 'device.json', 'cli.json', 'ledger.db', 'ledger.key']) {
    it(`cannot read the daemon's ${file}`, async () => {
      const r = await run(makeRunner(), `cat ${join(dataDir, file)}`);
      expect(r.code).not.toBe(0);
      expect(r.stdout).not.toContain(SECRET);
      expect(r.stderr).toContain('No such file');
    });
  }

  it('sees nothing of the data dir but its own work dir, the agent socket and the OpenClaw config', async () => {
    const r = await run(makeRunner(), `sh -c 'ls -A ${dataDir}; ls -A ${dataDir}/work'`);
    expect(r.code).toBe(0);
    const names = r.stdout.split('\n').filter(Boolean);
    expect(names.sort()).toEqual(['agent.sock', 'openclaw', 'work', r.sessionId].sort());
    expect(readdirSync(dataDir)).toContain('agent.token'); // hidden, not gone
  });

  it("cannot list or read another session's work dir", async () => {
    const r = await run(makeRunner(), `cat ${join(dataDir, 'work', 'ses_someoneelse1', 'notes.txt')}`);
    expect(r.code).not.toBe(0);
    expect(r.stdout).not.toContain(SECRET);
  });

  it('cannot write into the data dir, /usr or its home', async () => {
    const r = await run(
      makeRunner(),
      `sh -c 'echo x > ${dataDir}/planted; echo x > /usr/planted-by-session; echo x > ${homedir()}/planted-by-session; echo x > ${dataDir}/openclaw/planted; echo done'`,
    );
    expect(r.stdout).toBe('done\n');
    expect(r.stderr.match(/Read-only file system|Permission denied|No such file/g)?.length).toBe(4);
    expect(existsSync(join(dataDir, 'planted'))).toBe(false);
    expect(existsSync('/usr/planted-by-session')).toBe(false);
    expect(existsSync(join(homedir(), 'planted-by-session'))).toBe(false);
    expect(existsSync(join(dataDir, 'openclaw', 'planted'))).toBe(false);
  });

  it('writes its work dir (kept) and a private /tmp (gone with it)', async () => {
    const marker = `fabric-sandbox-tmp-${process.pid}-${counter}`;
    const r = await run(
      makeRunner(),
      `sh -c 'echo kept > result.txt && echo private > /tmp/${marker} && cat result.txt /tmp/${marker} && pwd'`,
    );
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`kept\nprivate\n${join(dataDir, 'work', r.sessionId)}\n`);
    expect(readFileSync(join(dataDir, 'work', r.sessionId, 'result.txt'), 'utf8')).toBe('kept\n');
    expect(existsSync(join(tmpdir(), marker))).toBe(false);
  });

  it('leaves no process behind when it ends', async () => {
    const marker = String(900_000 + process.pid);
    const r = await run(makeRunner(), `sh -c 'sleep ${marker} & echo started'`);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('started\n');
    const survivors = readdirSync('/proc')
      .filter((p) => /^\d+$/.test(p))
      .filter((p) => {
        try {
          return readFileSync(`/proc/${p}/cmdline`, 'utf8') === `sleep\0${marker}\0`;
        } catch {
          return false;
        }
      });
    expect(survivors).toEqual([]);
  });

  it('reaches the daemon through the agent socket with its own token', async () => {
    const r = makeRunner();
    const sessionId = `ses_sandbox${String(++counter).padStart(5, '0')}`;
    const token = agent.issueToken(sessionId);
    const body = JSON.stringify({ sessionId, tool: 'Bash', summary: 'Bash: ls', input: { command: 'ls' } });
    const script = `const h=require('http');const b=${JSON.stringify(body)};const q=h.request({socketPath:${JSON.stringify(agent.path)},path:'${APPROVALS_PATH}',method:'POST',headers:{'content-type':'application/json','content-length':Buffer.byteLength(b),authorization:'Bearer ${token}'}},(s)=>{let d='';s.on('data',(c)=>d+=c);s.on('end',()=>console.log(s.statusCode,d))});q.end(b)`;
    r.runner.start({
      sessionId,
      harness: 'shell',
      prompt: `node -e ${JSON.stringify(script)}`,
      cwd: null,
      labels: {},
      permissionMode: 'ask',
      resume: null,
      model: null,
      credentials: [],
      byDeviceOwner: false,
    });
    const request = await r.recorder.next('session.approval_request', sessionId);
    r.runner.approve(sessionId, request.payload.requestId, { decision: 'allow' });
    const exit = await r.recorder.next('session.exit', sessionId);
    expect(exit.payload.code).toBe(0);
    expect(JSON.parse(r.recorder.text('session.stdout', sessionId).slice(4))).toEqual({ decision: 'allow' });
    expect(r.recorder.text('session.stdout', sessionId).slice(0, 3)).toBe('200');
  });
});

describe('where no sandbox can be made', () => {
  const missing = () => join(dataDir, 'no-such-dir', 'bwrap');

  it('says why and how to fix it', () => {
    expect(detectSandbox({ bwrapPath: missing() })).toEqual({
      available: false,
      reason: expect.stringContaining('apt-get install bubblewrap'),
    });
    expect(detectSandbox({ path: join(dataDir, 'empty-path') })).toEqual({
      available: false,
      reason: 'bubblewrap is not installed; install bubblewrap: apt-get install bubblewrap',
    });
  });

  it('refuses a session of anyone but the device owner with sandbox_unavailable', async () => {
    const refused = await refusal(makeRunner({ bwrapPath: missing() }), 'cat /etc/hostname');
    expect(refused.code).toBe('sandbox_unavailable');
    expect(refused.message).toContain('install bubblewrap: apt-get install bubblewrap');
    expect(refused.message).not.toContain('\n');
  });

  it("still runs the owner's own session, unisolated", async () => {
    const r = await run(makeRunner({ bwrapPath: missing() }), `cat ${join(dataDir, 'cli.json')}`, {
      byDeviceOwner: true,
    });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(SECRET);
  });

  it('refuses the owner too when the device requires a sandbox', async () => {
    const runner = makeRunner({ bwrapPath: missing(), mode: 'required' });
    expect((await refusal(runner, 'pwd', { byDeviceOwner: true })).code).toBe('sandbox_unavailable');
    expect((await refusal(runner, 'pwd')).code).toBe('sandbox_unavailable');
  });
});

describe('working directories', () => {
  let project: string;
  beforeAll(() => {
    project = mkdtempSync(join(tmpdir(), 'fabric-project-'));
    symlinkSync(dataDir, join(project, 'looks-harmless'));
  });
  afterAll(() => rmSync(project, { recursive: true, force: true }));

  const refused = () => [
    '/',
    '/root',
    homedir(),
    '/home',
    '/etc',
    '/usr/lib',
    '/var',
    '/tmp',
    dataDir,
    join(dataDir, 'work'),
    join(dataDir, 'openclaw'),
    join(project, 'looks-harmless'),
    tmpdir(),
  ];

  it('refuses /, homes, system directories, the data dir and a symlink to it with path_not_allowed', async () => {
    const r = makeRunner();
    for (const cwd of refused()) {
      const answer = await refusal(r, 'pwd', { cwd });
      expect(answer.code, cwd).toBe('path_not_allowed');
      expect(answer.message, cwd).toContain('is not allowed');
    }
  });

  it('refuses a directory that contains the data dir', () => {
    expect(workDirRefusal(join(dataDir, '..'), dataDir)).toBe("it contains the daemon's data directory");
  });

  it('refuses a NUL byte in the cwd with bad_request', async () => {
    expect((await refusal(makeRunner(), 'pwd', { cwd: `${project}\0/x` })).code).toBe('bad_request');
  });

  it('refuses a hidden directory of a home (~/.ssh, ~/.config) like the home itself', () => {
    expect(workDirRefusal(join(homedir(), '.ssh'), dataDir)).toBe('it is a hidden configuration directory of a home');
    expect(workDirRefusal('/home/someone/.config/autostart', dataDir)).toBe(
      'it is a hidden configuration directory of a home',
    );
  });

  it("lets only the device owner's sessions choose a working directory", async () => {
    const answer = await refusal(makeRunner(), 'pwd', { cwd: project });
    expect(answer.code).toBe('path_not_allowed');
    expect(answer.message).toContain("only the device owner's sessions choose one");
  });

  it("runs in a real project dir, and counts a session's own work dir as one", async () => {
    const r = await run(makeRunner(), 'pwd', { cwd: project, byDeviceOwner: true });
    expect(r.stdout).toBe(`${project}\n`);
    expect(isProjectDir(project, dataDir)).toBe(true);
    expect(isProjectDir(join(dataDir, 'work', 'ses_someoneelse1'), dataDir)).toBe(true);
    for (const cwd of refused()) expect(isProjectDir(cwd, dataDir), cwd).toBe(false);
  });
});
