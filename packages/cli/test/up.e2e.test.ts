import { statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Proc, optimal, tempDir } from './procs.js';

const D = tempDir('up');
const procs: Proc[] = [];

afterAll(async () => {
  await Promise.all(procs.map((p) => p.kill('SIGKILL')));
  D.remove();
});

describe('optimal up (what npm start runs)', () => {
  it('runs a control plane and a local device; session start --follow prints hello and exits 0', async () => {
    const up = new Proc(['up', '--data', D.path, '--port', '0']);
    procs.push(up);
    await up.waitFor(/fabric is up at http:\/\/127\.0\.0\.1:\d+/, 60_000);
    await up.waitFor(/device online/, 60_000);

    for (const f of ['fabric.db', 'cli.json', 'device.json', 'server.json']) {
      expect(statSync(join(D.path, f)).mode & 0o777, f).toBe(0o600);
    }
    expect(statSync(D.path).mode & 0o777).toBe(0o700);

    const r = await optimal(['session', 'start', '--harness', 'shell', '--prompt', 'echo hello', '--follow'], {
      env: { OPTIMAL_DATA: D.path },
    });
    expect(r.stdout).toBe('hello\n');
    expect(r.code).toBe(0);

    const status = await optimal(['status'], { env: { OPTIMAL_DATA: D.path } });
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(/1 device\(s\) online/);
    expect(status.stdout).toMatch(/online\s+\S+ ?\S*\/\S+ ?\S*\s+[\d.]+ [\d.]+ [\d.]+/); // RAM and load columns
    expect(status.stdout).toContain('shell@');
    expect(status.stdout).toMatch(/succeeded\s+shell/);

    expect(await up.kill('SIGTERM')).toBe(0);
  });

  it('comes back up on the same data dir with the same device and credentials', async () => {
    const up = new Proc(['up', '--data', D.path, '--port', '0']);
    procs.push(up);
    await up.waitFor(/device online/, 60_000);
    const r = await optimal(['session', 'ls', '--json', '--data', D.path]);
    expect(JSON.parse(r.stdout)).toHaveLength(1);
    const devices = await optimal(['devices', '--json', '--data', D.path]);
    expect(JSON.parse(devices.stdout)).toHaveLength(1);
    await up.kill('SIGTERM');
  });
});

describe('the command line', () => {
  it('has --help on every command', async () => {
    for (const args of [
      [],
      ['up'],
      ['serve'],
      ['device'],
      ['pair'],
      ['login'],
      ['invite'],
      ['status'],
      ['devices'],
      ['session'],
      ['session', 'start'],
      ['session', 'ls'],
      ['session', 'logs'],
      ['session', 'send'],
      ['session', 'cancel'],
      ['agent'],
      ['agent', 'memory', 'recall'],
      ['agent', 'incident'],
      ['ledger', 'verify'],
    ]) {
      const r = await optimal([...args, '--help']);
      expect(r.code, args.join(' ')).toBe(0);
      expect(r.stdout, args.join(' ')).toMatch(/^Usage: optimal/);
    }
  });

  it('says what to do in one line when it cannot work', async () => {
    const empty = tempDir('empty');
    try {
      const noLogin = await optimal(['status', '--data', empty.path]);
      expect(noLogin.code).toBe(1);
      expect(noLogin.stderr).toMatch(/^optimal: not_logged_in: .*optimal up/);
      expect(noLogin.stderr.trim().split('\n')).toHaveLength(1);

      const unreachable = await optimal([
        'pair',
        '--server',
        'http://127.0.0.1:1',
        '--token',
        'x'.repeat(40),
        '--data',
        empty.path,
      ]);
      expect(unreachable.stderr).toMatch(/^optimal: server_unreachable: cannot reach http:\/\/127\.0\.0\.1:1/);

      const unpaired = await optimal(['device', '--data', empty.path]);
      expect(unpaired.code).toBe(1);
      expect(unpaired.stderr).toMatch(/^optimal: not_found: .*optimal pair/);

      const usage = await optimal(['session', 'start']);
      expect(usage.code).toBe(2);
      expect(usage.stderr).toContain("required option '--prompt <text>' not specified");

      const unknown = await optimal(['teleport']);
      expect(unknown.code).toBe(2);
    } finally {
      empty.remove();
    }
  });
});
