import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { describeMutation, isDestructive, planMutation, type DestructiveFacts } from './plan.js';

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0).reverse()) c();
});

function layout() {
  const root = realpathSync(mkdtempSync(join(tmpdir(), 'fabric-plan-test-')));
  cleanups.push(() => rmSync(root, { recursive: true, force: true }));
  const dataDir = join(root, 'data');
  const workDir = join(root, 'work');
  for (const d of [dataDir, workDir]) mkdirSync(d, { recursive: true });
  return { root, dataDir, workDir, ctx: { workDir, dataDir } };
}

describe('isDestructive', () => {
  it.each<[DestructiveFacts, boolean]>([
    [{ kind: 'service_action', action: 'stop' }, true],
    [{ kind: 'service_action', action: 'restart' }, true],
    [{ kind: 'service_action', action: 'start' }, true],
    [{ kind: 'process_signal' }, true],
    [{ kind: 'file_delete' }, true],
    [{ kind: 'file_write', exists: true }, true],
    [{ kind: 'file_write', exists: false }, false],
  ])('%j → %s', (facts, destructive) => {
    expect(isDestructive(facts)).toBe(destructive);
  });
});

describe('planMutation', () => {
  it('plans a new file as a non-destructive create and an existing one as an overwrite', async () => {
    const { root, workDir, ctx } = layout();
    const create = await planMutation(
      { kind: 'file_write', input: { path: join(workDir, 'a.txt'), content: 'héllo' } },
      ctx,
    );
    expect(create).toEqual({
      kind: 'file_write',
      path: join(workDir, 'a.txt'),
      where: 'work_dir',
      exists: false,
      bytes: 6,
    });
    expect(isDestructive(create)).toBe(false);
    expect(describeMutation(create)).toBe(`create ${join(workDir, 'a.txt')} with 6 bytes`);

    writeFileSync(join(root, 'hosts'), 'x');
    const overwrite = await planMutation(
      { kind: 'file_write', input: { path: join(root, 'hosts'), content: 'y' } },
      ctx,
    );
    expect(isDestructive(overwrite)).toBe(true);
    expect(describeMutation(overwrite)).toBe(`overwrite ${join(root, 'hosts')} with 1 byte (outside the work dir)`);
  });

  it('plans a delete with the size of what will go', async () => {
    const { workDir, ctx } = layout();
    writeFileSync(join(workDir, 'old.log'), '12345');
    const plan = await planMutation({ kind: 'file_delete', input: { path: join(workDir, 'old.log') } }, ctx);
    expect(describeMutation(plan)).toBe(`delete ${join(workDir, 'old.log')} (5 bytes)`);
  });

  it('refuses up front what the executor would refuse, so the owner is never asked about it', async () => {
    const { dataDir, workDir, ctx } = layout();
    await expect(
      planMutation({ kind: 'file_write', input: { path: join(dataDir, 'k'), content: '' } }, ctx),
    ).rejects.toMatchObject({ code: 'path_not_allowed' });
    await expect(
      planMutation({ kind: 'file_write', input: { path: workDir, content: '' } }, ctx),
    ).rejects.toMatchObject({ code: 'bad_request' });
    await expect(
      planMutation({ kind: 'file_delete', input: { path: join(workDir, 'none') } }, ctx),
    ).rejects.toMatchObject({ code: 'not_found' });
    await expect(
      planMutation({ kind: 'service_action', input: { service: '--help', action: 'stop' } }, ctx),
    ).rejects.toMatchObject({ code: 'bad_request' });
    await expect(
      planMutation({ kind: 'process_signal', input: { pid: 1, signal: 'KILL' } }, ctx),
    ).rejects.toMatchObject({ code: 'forbidden' });
    await expect(
      planMutation({ kind: 'process_signal', input: { pid: 2 ** 31 - 2, signal: 'KILL' } }, ctx),
    ).rejects.toMatchObject({ code: 'not_found' });
  });

  it('names the process a signal will reach, without signalling it', async () => {
    const { ctx } = layout();
    const child = spawn('sleep', ['30'], { stdio: 'ignore' });
    cleanups.push(() => child.kill('SIGKILL'));
    await once(child, 'spawn');
    const plan = await planMutation({ kind: 'process_signal', input: { pid: child.pid, signal: 'TERM' } }, ctx);
    expect(describeMutation(plan)).toBe(`send TERM to pid ${child.pid} (sleep)`);
    expect(child.exitCode).toBeNull();
    expect(child.signalCode).toBeNull();
  });
});

describe('describeMutation', () => {
  it('reads as one line for the approval prompt', () => {
    expect(describeMutation({ kind: 'service_action', unit: 'nginx.service', action: 'restart' })).toBe(
      'restart service nginx',
    );
    expect(describeMutation({ kind: 'process_signal', pid: 4242, signal: 'TERM', name: 'node' })).toBe(
      'send TERM to pid 4242 (node)',
    );
    expect(describeMutation({ kind: 'process_signal', pid: 4242, signal: 'KILL', name: null })).toBe(
      'send KILL to pid 4242',
    );
  });

  it('escapes control characters so a file name cannot forge a second line', () => {
    const line = describeMutation({ kind: 'file_delete', path: '/tmp/a\nallow: yes', where: 'outside', bytes: 1 });
    expect(line).not.toContain('\n');
    expect(line).toBe('delete /tmp/a\\u000aallow: yes (1 byte) (outside the work dir)');
  });
});
