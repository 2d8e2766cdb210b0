import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { SessionView } from '@fabric/protocol';
import { Proc, optimal, readJson, tempDir, until } from './procs.js';

/**
 * No process outlives its session: a daemon killed with SIGKILL leaves its
 * sessions' processes behind only until it starts again, which ends them and
 * says why. Both paths: a bare spawn (no bubblewrap: an orphan until then)
 * and a sandbox (bubblewrap's --die-with-parent ends it with the daemon).
 */
const dirs: ReturnType<typeof tempDir>[] = [];
const procs: Proc[] = [];
const orphans: number[] = [];

afterAll(async () => {
  await Promise.all(procs.map((p) => p.kill('SIGKILL')));
  for (const pid of orphans) {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  for (const d of dirs) d.remove();
});

/** A live process (a zombie, waiting for init to reap it, has ended). */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

interface Recorded {
  sessions: { sessionId: string; pid: number; sandboxed: boolean }[];
}
interface LedgerAnswer {
  events: { kind: string; payload: unknown; legacy?: true }[];
}

/** The payloads of the ledger events of one kind (the agent tool gives each as an object, checked against its kind). */
async function ledgerPayloads(cli: (a: string[]) => ReturnType<typeof optimal>, kind: string): Promise<unknown[]> {
  const r = await cli(['agent', 'ledger', '--kind', kind, '--json']);
  expect(r.code, r.stderr).toBe(0);
  const { events } = JSON.parse(r.stdout) as LedgerAnswer;
  expect(events.filter((e) => e.legacy)).toEqual([]);
  return events.map((e) => e.payload);
}

/** The session as the control plane sees it, once it has learnt how it ended. */
async function settled(cli: (a: string[]) => ReturnType<typeof optimal>, sessionId: string): Promise<SessionView> {
  return until(
    async () => {
      const r = await cli(['session', 'show', sessionId, '--json']);
      const view = JSON.parse(r.stdout) as SessionView;
      return view.signal !== null ? view : null;
    },
    60_000,
    'the control plane to learn the session ended',
  );
}

async function crashWithLongSession(env: Record<string, string>) {
  const D = tempDir('leftovers');
  dirs.push(D);
  const start = () => {
    const p = new Proc(['up', '--data', D.path, '--port', '0', '--allow', 'sleep'], env);
    procs.push(p);
    return p;
  };
  const cli = (a: string[]) => optimal([...a, '--data', D.path], { timeoutMs: 30_000 });
  const first = start();
  await first.waitFor(/device online/, 30_000);
  const started = await cli(['session', 'start', '--harness', 'shell', '--prompt', 'sleep 300', '--json']);
  expect(started.code, started.stderr).toBe(0);
  const sessionId = (JSON.parse(started.stdout) as SessionView).id;
  const entry = await until(
    async () => readJson<Recorded>(join(D.path, 'procs.json')).sessions.find((s) => s.sessionId === sessionId),
    30_000,
    "the session's process in procs.json",
  );
  orphans.push(entry.pid);
  expect(alive(entry.pid)).toBe(true);
  await first.kill('SIGKILL');
  return { dir: D.path, start, cli, sessionId, entry };
}

describe('a daemon killed with SIGKILL, then started again', () => {
  it('ends the session process it left running unsandboxed, and records why', async () => {
    const c = await crashWithLongSession({ FABRIC_BWRAP: '/nonexistent/bwrap' });
    expect(c.entry.sandboxed).toBe(false);
    // A bare spawn leads its own process group: it survives its daemon as an orphan.
    expect(alive(c.entry.pid)).toBe(true);

    const again = c.start();
    await until(async () => !alive(c.entry.pid), 30_000, 'the orphan to be ended');
    await again.waitFor(
      new RegExp(
        `session ${c.sessionId}: its process ${c.entry.pid}, left by a previous run of the daemon, ended with SIGTERM`,
      ),
      30_000,
    );
    expect(await ledgerPayloads(c.cli, 'session.leftover')).toEqual([
      {
        sessionId: c.sessionId,
        pid: c.entry.pid,
        sandboxed: false,
        outcome: 'terminated',
        reason: 'left running by a previous run of the daemon',
      },
    ]);
    expect(await ledgerPayloads(c.cli, 'session.exit')).toEqual([
      { sessionId: c.sessionId, code: null, signal: 'SIGTERM' },
    ]);
    expect(readJson<Recorded>(join(c.dir, 'procs.json')).sessions).toEqual([]);
    expect(await settled(c.cli, c.sessionId)).toMatchObject({ status: 'failed', signal: 'SIGTERM' });
    expect(await again.kill('SIGTERM')).toBe(0);
  }, 120_000);

  it('finds a sandboxed session already ended with its daemon, and records that', async () => {
    const c = await crashWithLongSession({});
    expect(c.entry.sandboxed).toBe(true);
    // bubblewrap's --die-with-parent ends the sandbox, and its pid namespace every process in it.
    await until(async () => !alive(c.entry.pid), 30_000, 'the sandbox to end with its daemon');

    const again = c.start();
    await again.waitFor(
      new RegExp(
        `session ${c.sessionId}: its process ${c.entry.pid}, left by a previous run of the daemon, was already gone`,
      ),
      30_000,
    );
    expect(await ledgerPayloads(c.cli, 'session.leftover')).toEqual([
      {
        sessionId: c.sessionId,
        pid: c.entry.pid,
        sandboxed: true,
        outcome: 'gone',
        reason: 'left running by a previous run of the daemon',
      },
    ]);
    expect(await ledgerPayloads(c.cli, 'session.exit')).toEqual([
      { sessionId: c.sessionId, code: null, signal: 'SIGKILL' },
    ]);
    expect(await settled(c.cli, c.sessionId)).toMatchObject({ status: 'failed', signal: 'SIGKILL' });
    expect(await again.kill('SIGTERM')).toBe(0);
  }, 120_000);
});
