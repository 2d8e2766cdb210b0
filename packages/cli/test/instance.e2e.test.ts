import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Proc, optimal, readJson, tempDir, until } from './procs.js';

const D = tempDir('instance');
const procs: Proc[] = [];
let first: Proc;
let url: string;

function start(args: string[]): Proc {
  const p = new Proc(args);
  procs.push(p);
  return p;
}

/**
 * Every name in the data dir, with size and mtime for the files a second
 * instance would write (credentials, keys, the lock): what "changes nothing"
 * is checked against. Databases and folders are the running one's to change.
 */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of readdirSync(dir)) {
    const s = statSync(join(dir, name));
    out[name] = s.isDirectory() || /\.db(-wal|-shm)?$/.test(name) ? 'present' : `${s.size}:${s.mtimeMs}`;
  }
  return out;
}

/** stderr must be exactly one line. */
function oneLine(stderr: string): string {
  expect(stderr.endsWith('\n'), stderr).toBe(true);
  expect(stderr.slice(0, -1).split('\n'), stderr).toHaveLength(1);
  return stderr.slice(0, -1);
}

beforeAll(async () => {
  first = start(['up', '--data', D.path, '--port', '0']);
  url = (await first.waitFor(/fabric is up at (http:\/\/127\.0\.0\.1:\d+)/, 30_000))[1]!;
  await first.waitFor(/device online/, 30_000);
}, 60_000);

afterAll(async () => {
  await Promise.all(procs.map((p) => p.kill('SIGKILL')));
  D.remove();
});

describe('one instance per data dir', () => {
  it('refuses a second up, serve or device on a data dir in use in one line, and changes nothing there', async () => {
    const before = snapshot(D.path);
    const cli = readFileSync(join(D.path, 'cli.json'), 'utf8');
    for (const args of [['up', '--port', '0'], ['serve', '--port', '0'], ['device']]) {
      const second = await optimal([...args, '--data', D.path]);
      expect(second.code, args[0]).toBe(1);
      expect(oneLine(second.stderr)).toBe(
        `optimal: data_dir_in_use: ${D.path} is used by pid ${first.child.pid} (stop it, or use --data)`,
      );
    }
    expect(snapshot(D.path)).toEqual(before);
    expect(readFileSync(join(D.path, 'cli.json'), 'utf8')).toBe(cli);
    expect(existsSync(join(D.path, 'agent.sock'))).toBe(true);

    const health = await fetch(`${url}/healthz`).then(
      (r) => r.json() as Promise<{ ok: boolean; devicesOnline: number }>,
    );
    expect(health).toMatchObject({ ok: true, devicesOnline: 1 });
    const run = await optimal([
      'session',
      'start',
      '--harness',
      'shell',
      '--prompt',
      'echo still here',
      '--follow',
      '--data',
      D.path,
    ]);
    expect(run.stdout).toBe('still here\n');
  }, 60_000);

  it('takes over the lock of a process that was killed (a crash leaves no stale lock)', async () => {
    expect(readJson<{ pid: number }>(join(D.path, 'optimal.lock')).pid).toBe(first.child.pid);
    await first.kill('SIGKILL');
    const again = start(['up', '--data', D.path, '--port', '0']);
    await again.waitFor(/device online/, 30_000);
    expect(readJson<{ pid: number }>(join(D.path, 'optimal.lock')).pid).toBe(again.child.pid);
    expect(await again.kill('SIGTERM')).toBe(0);
    expect(existsSync(join(D.path, 'optimal.lock'))).toBe(false);
  }, 60_000);
});

describe('the lock names its holder by pid and start time', () => {
  /** This test process's start time, as the lock records it (field 22 of /proc/self/stat). */
  const myStart = () => {
    const stat = readFileSync('/proc/self/stat', 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]!;
  };

  it('refuses a data dir whose lock names a live process and its start time', async () => {
    const E = tempDir('held');
    try {
      writeFileSync(join(E.path, 'optimal.lock'), JSON.stringify({ pid: process.pid, start: myStart() }));
      const r = await optimal(['serve', '--port', '0', '--data', E.path]);
      expect(r.code).toBe(1);
      expect(oneLine(r.stderr)).toBe(
        `optimal: data_dir_in_use: ${E.path} is used by pid ${process.pid} (stop it, or use --data)`,
      );
      expect(readdirSync(E.path)).toEqual(['optimal.lock']);
    } finally {
      E.remove();
    }
  });

  it('lets exactly one of two instances started at the same moment on a fresh dir run', async () => {
    const E = tempDir('race');
    try {
      const both = [
        start(['serve', '--port', '0', '--data', E.path]),
        start(['serve', '--port', '0', '--data', E.path]),
      ];
      const loser = await Promise.race(both.map((p) => p.exited.then(() => p)));
      const winner = both.find((p) => p !== loser)!;
      expect(loser.stderr).toMatch(
        new RegExp(`^optimal: data_dir_in_use: .* is used by pid ${winner.child.pid} \\(stop it, or use --data\\)\n$`),
      );
      await winner.waitFor(/control plane listening on/, 30_000);
      expect(readJson<{ pid: number }>(join(E.path, 'optimal.lock')).pid).toBe(winner.child.pid);
      await winner.kill('SIGTERM');
    } finally {
      E.remove();
    }
  }, 40_000);

  it('takes over a lock whose process was killed but not yet reaped (a zombie)', async () => {
    const E = tempDir('zombie');
    // A parent that forks a child which exits at once, and never reaps it (a shell may reap it before
    // its exec, so the parent is one that has no SIGCHLD handler at all).
    const parent = spawn(
      'python3',
      [
        '-c',
        'import os, sys, time\npid = os.fork()\nif pid == 0:\n    os._exit(0)\nprint(pid, flush=True)\ntime.sleep(60)\n',
      ],
      { stdio: ['ignore', 'pipe', 'ignore'] },
    );
    try {
      const zombie = Number(
        await new Promise<string>((resolve) => parent.stdout.once('data', (c: Buffer) => resolve(c.toString().trim()))),
      );
      const stat = await until(
        async () => {
          const text = readFileSync(`/proc/${zombie}/stat`, 'utf8');
          return text.slice(text.lastIndexOf(')') + 2).startsWith('Z ') ? text : null;
        },
        10_000,
        'the child to become a zombie',
      );
      const startTicks = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]!;
      writeFileSync(join(E.path, 'optimal.lock'), JSON.stringify({ pid: zombie, start: startTicks }));
      const serve = start(['serve', '--port', '0', '--data', E.path]);
      await serve.waitFor(/control plane listening on/, 30_000);
      expect(readJson<{ pid: number }>(join(E.path, 'optimal.lock')).pid).toBe(serve.child.pid);
      await serve.kill('SIGTERM');
    } finally {
      parent.kill('SIGKILL');
      E.remove();
    }
  }, 40_000);

  it('takes over a lock whose pid now belongs to another process (a reused pid)', async () => {
    const E = tempDir('reused');
    try {
      writeFileSync(join(E.path, 'optimal.lock'), JSON.stringify({ pid: process.pid, start: '1' }));
      const serve = start(['serve', '--port', '0', '--data', E.path]);
      await serve.waitFor(/control plane listening on/, 30_000);
      expect(readJson<{ pid: number }>(join(E.path, 'optimal.lock')).pid).toBe(serve.child.pid);
      await serve.kill('SIGTERM');
    } finally {
      E.remove();
    }
  }, 40_000);
});

describe('errors a person can act on', () => {
  let blocker: Server;
  beforeAll(async () => {
    blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
  });
  afterAll(() => new Promise<void>((resolve) => blocker.close(() => resolve())));

  it('names a port in use and the flag to change it, in one line', async () => {
    const port = (blocker.address() as { port: number }).port;
    const E = tempDir('port');
    try {
      const r = await optimal(['serve', '--port', String(port), '--data', E.path], { timeoutMs: 30_000 });
      expect(r.code).toBe(1);
      expect(oneLine(r.stderr)).toBe(`optimal: port_in_use: port ${port} is in use; pick another with --port`);
    } finally {
      E.remove();
    }
  }, 40_000);

  it("prints the argument parser's errors as one line, keeping its suggestion", async () => {
    const unknownOption = await optimal(['session', 'start', '--prompt', 'x', '--folow']);
    expect(unknownOption.code).toBe(2);
    expect(oneLine(unknownOption.stderr)).toBe(
      'optimal: usage: unknown option \'--folow\' (did you mean --follow?); see "optimal session start --help"',
    );

    const unknownCommand = await optimal(['session', 'strat']);
    expect(unknownCommand.code).toBe(2);
    expect(oneLine(unknownCommand.stderr)).toMatch(
      /^optimal: usage: unknown command 'strat' \(did you mean start\?\); see "optimal session --help"$/,
    );

    const missing = await optimal(['session', 'logs']);
    expect(missing.code).toBe(2);
    expect(oneLine(missing.stderr)).toBe(
      'optimal: usage: missing required argument \'id\'; see "optimal session logs --help"',
    );

    const noOption = await optimal(['session', 'start']);
    expect(noOption.code).toBe(2);
    expect(oneLine(noOption.stderr)).toMatch(/^optimal: usage: required option '--prompt <text>' not specified; see/);
  });

  it('words a server validation error as the field and what it must be', async () => {
    const up = start(['up', '--data', D.path, '--port', '0']);
    await up.waitFor(/device online/, 30_000);
    const r = await optimal(['status', '--limit', 'abc', '--data', D.path]);
    expect(r.code).toBe(1);
    expect(oneLine(r.stderr)).toBe('optimal: bad_request: limit must be a number');
    await up.kill('SIGTERM');
  }, 60_000);

  it('prints a bug as one line, and its stack only with FABRIC_DEBUG=1', async () => {
    const E = tempDir('bug');
    try {
      writeFileSync(join(E.path, 'fabric.db'), 'this is not a database, and sqlite will say so'.repeat(100));
      const quiet = await optimal(['serve', '--port', '0', '--data', E.path]);
      expect(quiet.code).toBe(70);
      expect(oneLine(quiet.stderr)).toMatch(/^optimal: internal: .*; run again with FABRIC_DEBUG=1 for details$/);
      const loud = await optimal(['serve', '--port', '0', '--data', E.path], { env: { FABRIC_DEBUG: '1' } });
      expect(loud.code).toBe(70);
      expect(loud.stderr).toMatch(/^optimal: internal: .*; stack below\n.*\n\s+at /);
    } finally {
      E.remove();
    }
  }, 40_000);

  it('says in one line that a file to write or ingest is missing or a directory', async () => {
    const E = tempDir('files');
    try {
      mkdirSync(join(E.path, 'adir'));
      const cases: [string[], RegExp][] = [
        [['agent', 'file', 'write', join(E.path, 'out.txt'), join(E.path, 'missing')], /^optimal: not_found: /],
        [['agent', 'memory', 'ingest', join(E.path, 'missing.md')], /^optimal: not_found: /],
        [
          ['agent', 'file', 'write', join(E.path, 'out.txt'), join(E.path, 'adir')],
          /^optimal: bad_request: .*is a directory/,
        ],
        [['agent', 'memory', 'ingest', join(E.path, 'adir')], /^optimal: bad_request: .*is a directory/],
      ];
      for (const [args, want] of cases) {
        const r = await optimal([...args, '--data', E.path]);
        expect(r.code, args.join(' ')).toBe(1);
        expect(oneLine(r.stderr), args.join(' ')).toMatch(want);
      }
    } finally {
      E.remove();
    }
  });
});
