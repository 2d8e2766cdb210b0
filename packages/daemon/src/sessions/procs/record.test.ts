import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { endLeftovers, procStartTime, ProcessRecord, type ProcEntry } from './record.js';

const children: ChildProcess[] = [];
const dirs: string[] = [];

afterEach(() => {
  for (const c of children.splice(0)) {
    try {
      process.kill(-c.pid!, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function tempFile(): string {
  const d = mkdtempSync(join(tmpdir(), 'fabric-procs-'));
  dirs.push(d);
  return join(d, 'procs.json');
}

/**
 * A detached process group, as the runner spawns a turn; `script` runs in sh.
 * With `ready`, resolves once the script has printed that line (its traps are set).
 */
function group(
  script: string,
  ready?: string,
): Promise<{ child: ChildProcess; exited: Promise<void>; entry: ProcEntry }> {
  const child = spawn('sh', ['-c', script], { detached: true, stdio: ['ignore', ready ? 'pipe' : 'ignore', 'ignore'] });
  children.push(child);
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const started = new Promise<void>((resolve, reject) => {
    child.once('error', reject);
    if (!ready) {
      child.once('spawn', () => resolve());
      return;
    }
    let seen = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      seen += chunk.toString();
      if (seen.split('\n').includes(ready)) resolve();
    });
  });
  return new Promise((resolve, reject) => {
    started.catch(reject);
    void started.then(() =>
      resolve({
        child,
        exited,
        entry: {
          sessionId: `ses_${child.pid}`,
          pid: child.pid!,
          pgid: child.pid!,
          startTime: procStartTime(child.pid!)!,
          sandboxed: false,
        },
      }),
    );
  });
}

describe('the process record', () => {
  it('keeps running sessions in a 0600 file that the next run takes once', () => {
    const file = tempFile();
    const first = new ProcessRecord(file);
    expect(first.takeLeftovers()).toEqual([]);
    const entry: ProcEntry = { sessionId: 'ses_a', pid: 4242, pgid: 4242, startTime: '123', sandboxed: true };
    first.add(entry);
    first.add({ ...entry, sessionId: 'ses_b', pid: 4343, pgid: 4343 });
    first.remove('ses_b', 4343);
    first.remove('ses_a', 1); // another turn's pid: kept
    expect(statSync(file).mode & 0o777).toBe(0o600);

    const second = new ProcessRecord(file);
    expect(second.takeLeftovers()).toEqual([entry]);
    expect(JSON.parse(readFileSync(file, 'utf8')).sessions).toEqual([]);
    expect(new ProcessRecord(file).takeLeftovers()).toEqual([]);
  });

  it('leaves alone the record of a daemon that is still running', () => {
    const file = tempFile();
    const entry: ProcEntry = { sessionId: 'ses_a', pid: 4242, pgid: 4242, startTime: '123', sandboxed: false };
    // The test runner's parent plays the other daemon: alive, with its own start time.
    writeFileSync(
      file,
      JSON.stringify({ daemonPid: process.ppid, daemonStartTime: procStartTime(process.ppid), sessions: [entry] }),
    );
    expect(new ProcessRecord(file).takeLeftovers()).toEqual([]);
    expect(JSON.parse(readFileSync(file, 'utf8')).sessions).toEqual([entry]);
    // Once that pid names another program (another start time), its sessions are leftovers.
    writeFileSync(file, JSON.stringify({ daemonPid: process.ppid, daemonStartTime: '1', sessions: [entry] }));
    expect(new ProcessRecord(file).takeLeftovers()).toEqual([entry]);
  });

  it('treats a malformed file as nothing recorded', () => {
    const file = tempFile();
    new ProcessRecord(file).add({ sessionId: 'ses_a', pid: 1, pgid: 1, startTime: 'not ticks', sandboxed: false });
    expect(new ProcessRecord(file).takeLeftovers()).toEqual([]);
  });
});

describe('ending leftovers', () => {
  it('ends a recorded process group, children included, with SIGTERM', async () => {
    const { entry, exited } = await group('sleep 300 & sleep 300; wait');
    const [result] = await endLeftovers([entry], 10_000);
    await exited;
    expect(result!.outcome).toBe('terminated');
  }, 30_000);

  it('uses SIGKILL on a group that ignores SIGTERM', async () => {
    const { entry, exited } = await group('trap "" TERM; echo trapped; while :; do sleep 1; done', 'trapped');
    const [result] = await endLeftovers([entry], 300);
    await exited;
    expect(result!.outcome).toBe('killed');
  }, 30_000);

  it("leaves alone a process whose pid was reused (another start time), and says the session's is gone", async () => {
    const { entry, child } = await group('sleep 300');
    const [result] = await endLeftovers([{ ...entry, startTime: String(BigInt(entry.startTime) + 1n) }], 300);
    expect(result!.outcome).toBe('gone');
    expect(child.exitCode).toBeNull();
    expect(child.signalCode).toBeNull();
    expect(procStartTime(child.pid!)).toBe(entry.startTime);
  }, 30_000);
});
