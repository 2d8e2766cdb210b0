import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { processName, signalProcess } from './mutate.js';

describe('signalProcess', () => {
  it('sends TERM to a child, which exits, and reports its name read beforehand', async () => {
    const child = spawn('sleep', ['30'], { stdio: 'ignore' });
    await once(child, 'spawn');
    const exited = once(child, 'exit');
    try {
      const answer = await signalProcess({ pid: child.pid, signal: 'TERM' });
      expect(answer).toEqual({ pid: child.pid, name: 'sleep', signal: 'TERM' });
      const [code, signal] = await exited;
      expect(code).toBeNull();
      expect(signal).toBe('SIGTERM');
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('refuses pid 1, its own process and its parent', async () => {
    for (const pid of [1, process.pid, process.ppid]) {
      await expect(signalProcess({ pid, signal: 'TERM' })).rejects.toMatchObject({ code: 'forbidden' });
    }
  });

  it('refuses a signal outside the allowlist and a pid that is not a positive integer', async () => {
    for (const input of [
      { pid: 999_999, signal: 'SEGV' },
      { pid: 999_999, signal: 'SIGTERM' },
      { pid: 999_999, signal: 9 },
      { pid: 0, signal: 'TERM' },
      { pid: -1, signal: 'KILL' },
      { pid: 1.5, signal: 'TERM' },
      { pid: '42', signal: 'TERM' },
    ]) {
      await expect(signalProcess(input)).rejects.toMatchObject({ code: 'bad_request' });
    }
  });

  it('answers not_found for a process that does not exist', async () => {
    await expect(signalProcess({ pid: 2 ** 31 - 2, signal: 'TERM' })).rejects.toMatchObject({ code: 'not_found' });
  });
});

describe('processName', () => {
  it('names a live process and answers null for a missing one', async () => {
    expect(await processName(process.pid)).toBeTruthy();
    expect(await processName(2 ** 31 - 2)).toBeNull();
  });
});
