import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '@fabric/server';
import type { DeviceView } from '@fabric/protocol';
import { main } from '../src/main.js';
import { tempDir } from './procs.js';

/**
 * Rows written before the schemas refused control characters (or by a
 * device that slipped one past them) must not drive the terminal of the
 * person who lists them: the CLI prints them as visible escapes.
 */
const EVIL_NAME = 'pi\u001b]0;owned\u0007\u001b[2J\u202egnp.exe';
const EVIL_PROMPT = 'echo hi\n\u001b[31mred\u0000\u202e';
// eslint-disable-next-line no-control-regex -- the characters a terminal must never receive
const RAW = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function setup(): Promise<{
  server: RunningServer;
  run: (...args: string[]) => Promise<{ code: number; stdout: string; stderr: string }>;
  deviceId: string;
  sessionId: string;
}> {
  const server = await startServer({ port: 0 });
  cleanups.push(() => server.close());
  const dir = tempDir('printable');
  cleanups.push(dir.remove);
  const owner = await server.ctx.accounts.ensureOwner('ada');
  const auth = await server.ctx.accounts.signIn({ ...owner, role: 'owner' }, 'cli');
  writeFileSync(
    join(dir.path, 'cli.json'),
    JSON.stringify({ server: server.url, token: auth.token, user: auth.user, expiresAt: auth.expiresAt }),
    { mode: 0o600 },
  );

  // An old device row and an old session row, inserted below the HTTP schemas.
  const pairing = await server.ctx.accounts.createPairingToken(owner.id);
  const { deviceId } = await server.ctx.accounts.pair(pairing.code, 'alpha');
  await server.ctx.db.updateTable('devices').set({ name: EVIL_NAME }).where('id', '=', deviceId).execute();
  const res = await fetch(`${server.url}/api/sessions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${auth.token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ harness: 'shell', prompt: 'echo hi', deviceId }),
  });
  const { id: sessionId } = (await res.json()) as { id: string };
  await server.ctx.db
    .updateTable('sessions')
    .set({ prompt: EVIL_PROMPT, error_message: 'bad \u001b[1mthing' })
    .where('id', '=', sessionId)
    .execute();

  const run = async (...args: string[]) => {
    let stdout = '';
    let stderr = '';
    const code = await main(['node', 'optimal', ...args, '--data', dir.path], {
      stdout: (s) => {
        stdout += s;
      },
      stderr: (s) => {
        stderr += s;
      },
    });
    return { code, stdout, stderr };
  };
  return { server, run, deviceId, sessionId };
}

describe('the CLI prints control characters from data as visible escapes', () => {
  it('in optimal status, devices, session ls and session show', async () => {
    const { run, sessionId } = await setup();
    for (const args of [['status'], ['devices'], ['session', 'ls'], ['session', 'show', sessionId]]) {
      const r = await run(...args);
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(0);
      expect(r.stdout, args.join(' ')).not.toMatch(RAW);
    }
    expect((await run('devices')).stdout).toContain('pi\\x1b]0;owned\\x07\\x1b[2J\\u202egnp.exe');
    expect((await run('session', 'ls')).stdout).toContain('echo hi \\x1b[31mred\\x00\\u202e');
    const show = (await run('session', 'show', sessionId)).stdout;
    expect(show).toContain('echo hi\\n\\x1b[31mred\\x00\\u202e');
    expect(show).toContain('pi\\x1b]0;owned');

    // --json stays exact: JSON escapes the control characters itself.
    const json = await run('devices', '--json');
    // eslint-disable-next-line no-control-regex -- control characters, on purpose
    expect(json.stdout).not.toMatch(/[\u0000-\u0009\u000b-\u001f]/);
    expect((JSON.parse(json.stdout) as DeviceView[])[0]?.name).toBe(EVIL_NAME);
  });

  it('escapes a device name in the one-line answers of device commands', async () => {
    const { run, deviceId } = await setup();
    const r = await run('devices', 'drain', deviceId);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).not.toMatch(RAW);
    expect(r.stdout).toContain('\\u202egnp.exe is draining');
  });

  it('escapes what a session printed in session logs, keeping its newlines and tabs, and --json carries it exactly', async () => {
    const { server, run, sessionId } = await setup();
    // Another person's session could print this to retitle the viewer's window and clear the screen.
    const printed = 'ok\tdone\n\u001b]0;PWNED\u0007\u001b[2Jgone\r\n';
    await server.ctx.writer.append({ sessionId, kind: 'stdout', data: printed, meta: null, ts: Date.now() });
    await server.ctx.writer.append({
      sessionId,
      kind: 'stderr',
      data: 'warn \u001b[31m!\n',
      meta: null,
      ts: Date.now(),
    });
    const logs = await run('session', 'logs', sessionId);
    expect(logs.code, logs.stderr).toBe(0);
    expect(logs.stdout).toBe('ok\tdone\n\\x1b]0;PWNED\\x07\\x1b[2Jgone\\r\n');
    expect(logs.stderr).toContain('warn \\x1b[31m!\n');
    const json = await run('session', 'logs', sessionId, '--json');
    const events = json.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { kind: string; data: string | null });
    expect(events.find((e) => e.kind === 'stdout')?.data).toBe(printed);
  });
});
