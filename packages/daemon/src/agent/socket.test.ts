import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { ApprovalDecision, ApprovalRequest } from '../sessions/harness/types.js';
import { agentCall } from './client.js';
import { APPROVALS_PATH } from './protocol.js';
import { AgentSocket, agentSocketPath } from './socket.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'fabric-agent-test-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function socket(
  decide: (sessionId: string, req: ApprovalRequest) => Promise<ApprovalDecision> = async () => ({ decision: 'allow' }),
  opts: { maxBodyBytes?: number } = {},
) {
  const path = join(tempDir(), 'agent.sock');
  const asked: { sessionId: string; req: ApprovalRequest }[] = [];
  const agent = new AgentSocket({
    path,
    approve: (sessionId, req) => {
      asked.push({ sessionId, req });
      return decide(sessionId, req);
    },
    ...opts,
  });
  await agent.listen();
  cleanups.push(() => agent.close());
  return { agent, path, asked };
}

/** A raw POST, for what the typed client never sends. */
function post(
  path: string,
  urlPath: string,
  body: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: unknown }> {
  return new Promise((resolve, reject) => {
    const req = request(
      { socketPath: path, path: urlPath, method: 'POST', headers: { 'content-type': 'application/json', ...headers } },
      (res) => {
        let data = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (data += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(data) }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

describe('the agent socket', () => {
  it('listens on a Unix socket only its user can open (0600)', async () => {
    const { path } = await socket();
    const st = statSync(path);
    expect(st.isSocket()).toBe(true);
    expect(st.mode & 0o777).toBe(0o600);
  });

  it("answers an approval with the handler's decision, for the session the token belongs to", async () => {
    const { agent, path, asked } = await socket(async (_s, req) =>
      req.tool === 'Bash' ? { decision: 'deny', reason: 'not now' } : { decision: 'allow' },
    );
    const token = agent.issueToken('ses_a');
    expect(agent.issueToken('ses_a')).toBe(token); // stable for the session's next turns
    const endpoint = { socket: path, sessionId: 'ses_a', token };
    await expect(
      agentCall(endpoint, APPROVALS_PATH, { tool: 'Edit', summary: 'Edit: a.ts', input: { file_path: 'a.ts' } }),
    ).resolves.toEqual({ decision: 'allow' });
    await expect(
      agentCall(endpoint, APPROVALS_PATH, { tool: 'Bash', summary: 'Bash: rm -rf /', input: { command: 'rm -rf /' } }),
    ).resolves.toEqual({ decision: 'deny', reason: 'not now' });
    expect(asked).toEqual([
      { sessionId: 'ses_a', req: { tool: 'Edit', summary: 'Edit: a.ts', input: { file_path: 'a.ts' } } },
      { sessionId: 'ses_a', req: { tool: 'Bash', summary: 'Bash: rm -rf /', input: { command: 'rm -rf /' } } },
    ]);
  });

  it("refuses a wrong token, another session's token, no token, and a revoked one, without asking anyone", async () => {
    const { agent, path, asked } = await socket();
    const a = agent.issueToken('ses_a');
    const b = agent.issueToken('ses_b');
    const call = (sessionId: string, token: string) =>
      agentCall({ socket: path, sessionId, token }, APPROVALS_PATH, { tool: 'Bash', summary: 'Bash: ls', input: {} });
    await expect(call('ses_a', `${a}x`)).rejects.toMatchObject({ code: 'unauthorized' });
    await expect(call('ses_a', b)).rejects.toMatchObject({ code: 'unauthorized' });
    await expect(call('ses_unknown', a)).rejects.toMatchObject({ code: 'unauthorized' });
    const none = await post(
      path,
      APPROVALS_PATH,
      JSON.stringify({ sessionId: 'ses_a', tool: 'Bash', summary: '', input: {} }),
    );
    expect(none).toEqual({ status: 401, body: { code: 'unauthorized', message: expect.any(String) } });
    agent.revoke('ses_a');
    await expect(call('ses_a', a)).rejects.toMatchObject({ code: 'unauthorized' });
    await expect(call('ses_b', b)).resolves.toEqual({ decision: 'allow' });
    expect(asked).toHaveLength(1);
  });

  it('answers bad requests with protocol error bodies', async () => {
    const { agent, path } = await socket(async () => ({ decision: 'allow' }), { maxBodyBytes: 1024 });
    const auth = { authorization: `Bearer ${agent.issueToken('ses_a')}` };
    expect(await post(path, '/v1/nothing', '{}', auth)).toMatchObject({ status: 404, body: { code: 'not_found' } });
    expect(await post(path, APPROVALS_PATH, 'not json', auth)).toMatchObject({
      status: 400,
      body: { code: 'malformed_json' },
    });
    expect(
      await post(path, APPROVALS_PATH, JSON.stringify({ sessionId: 'ses_a', summary: 'no tool' }), auth),
    ).toMatchObject({ status: 400, body: { code: 'bad_request' } });
    const big = JSON.stringify({
      sessionId: 'ses_a',
      tool: 'Write',
      summary: '',
      input: { content: 'x'.repeat(4096) },
    });
    expect(await post(path, APPROVALS_PATH, big, auth)).toMatchObject({
      status: 413,
      body: { code: 'frame_too_large' },
    });
  });

  it('replaces a stale socket file, refuses to replace anything else, and removes its socket on close', async () => {
    const dir = tempDir();
    const path = join(dir, 'agent.sock');
    // A daemon killed with SIGKILL leaves its socket file behind, with nobody listening.
    const dead = spawn(
      process.execPath,
      ['-e', `require('node:net').createServer().listen(${JSON.stringify(path)}, () => console.log('up'))`],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    await new Promise((resolve) => dead.stdout.once('data', resolve));
    dead.kill('SIGKILL');
    await new Promise((resolve) => dead.once('exit', resolve));
    expect(statSync(path).isSocket()).toBe(true);
    const agent = new AgentSocket({ path, approve: async () => ({ decision: 'allow' }) });
    await agent.listen();
    const token = agent.issueToken('ses_a');
    await expect(
      agentCall({ socket: path, sessionId: 'ses_a', token }, APPROVALS_PATH, { tool: 'Read', summary: '', input: {} }),
    ).resolves.toEqual({ decision: 'allow' });
    await agent.close();
    expect(() => statSync(path)).toThrow();

    const file = join(dir, 'not-a-socket');
    writeFileSync(file, 'keep me');
    await expect(
      new AgentSocket({ path: file, approve: async () => ({ decision: 'allow' }) }).listen(),
    ).rejects.toMatchObject({ code: 'conflict' });
  });

  it('is unreachable once closed: the client says so with a code', async () => {
    const { agent, path } = await socket();
    const token = agent.issueToken('ses_a');
    await agent.close();
    await expect(
      agentCall({ socket: path, sessionId: 'ses_a', token }, APPROVALS_PATH, { tool: 'Bash', summary: '', input: {} }),
    ).rejects.toMatchObject({ code: 'server_unreachable' });
  });

  it('keeps short data-dir paths and moves long ones to a private temp directory', () => {
    expect(agentSocketPath('/var/lib/fabric')).toBe('/var/lib/fabric/agent.sock');
    const long = join(tempDir(), 'x'.repeat(120));
    const path = agentSocketPath(long);
    cleanups.push(() => rmSync(join(path, '..'), { recursive: true, force: true }));
    expect(Buffer.byteLength(path)).toBeLessThanOrEqual(100);
    expect(path.startsWith(tmpdir())).toBe(true);
    expect(statSync(join(path, '..')).mode & 0o777).toBe(0o700);
    expect(agentSocketPath(long)).toBe(path); // the same place on every start
  });
});
