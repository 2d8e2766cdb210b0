import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { classifyPath, classifyResolved, isProjectDir, resolveTarget } from './paths.js';

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0).reverse()) c();
});

/** A machine in a temp dir: a data dir, a work dir beside it, and some other place. */
function layout(workInsideData = false) {
  const root = realpathSync(mkdtempSync(join(tmpdir(), 'fabric-paths-test-')));
  cleanups.push(() => rmSync(root, { recursive: true, force: true }));
  const dataDir = join(root, 'data');
  const workDir = workInsideData ? join(dataDir, 'work') : join(root, 'work');
  const elsewhere = join(root, 'elsewhere');
  for (const d of [dataDir, workDir, elsewhere]) mkdirSync(d, { recursive: true });
  writeFileSync(join(dataDir, 'device.json'), '{}');
  return { root, dataDir, workDir, elsewhere, ctx: { workDir, dataDir } };
}

describe('classifyPath', () => {
  it('tells the work dir, the rest of the machine and the data dir apart', async () => {
    const { workDir, dataDir, elsewhere, ctx } = layout();
    expect(await classifyPath(join(workDir, 'notes.txt'), ctx)).toBe('work_dir');
    expect(await classifyPath(join(workDir, 'new/deeper/file.txt'), ctx)).toBe('work_dir');
    expect(await classifyPath(join(elsewhere, 'x.txt'), ctx)).toBe('outside');
    expect(await classifyPath('/etc/hosts', ctx)).toBe('outside');
    expect(await classifyPath(join(dataDir, 'device.json'), ctx)).toBe('forbidden');
    expect(await classifyPath(dataDir, ctx)).toBe('forbidden');
    expect(await classifyPath(join(dataDir, 'not-yet/key'), ctx)).toBe('forbidden');
  });

  it('normalises before judging: .. out of the work dir into the data dir is forbidden, / is forbidden', async () => {
    const { workDir, ctx } = layout();
    expect(await classifyPath(join(workDir, '..', 'data', 'device.json'), ctx)).toBe('forbidden');
    expect(await classifyPath(`${workDir}/../elsewhere/./x`, ctx)).toBe('outside');
    expect(await classifyPath('/', ctx)).toBe('forbidden');
    expect(await classifyPath('/..', ctx)).toBe('forbidden');
  });

  it('counts a symlink inside the work dir that points outside as outside, and into the data dir as forbidden', async () => {
    const { workDir, dataDir, elsewhere, ctx } = layout();
    symlinkSync(elsewhere, join(workDir, 'escape'));
    symlinkSync(dataDir, join(workDir, 'keys'));
    writeFileSync(join(elsewhere, 'target.txt'), 'x');
    symlinkSync(join(elsewhere, 'target.txt'), join(workDir, 'file-link'));
    expect(await classifyPath(join(workDir, 'escape/secret.txt'), ctx)).toBe('outside');
    expect(await resolveTarget(join(workDir, 'escape/secret.txt'), ctx)).toEqual({
      path: join(elsewhere, 'secret.txt'),
      where: 'outside',
    });
    expect(await classifyPath(join(workDir, 'keys/device.json'), ctx)).toBe('forbidden');
    expect(await resolveTarget(join(workDir, 'file-link'), ctx)).toEqual({
      path: join(elsewhere, 'target.txt'),
      where: 'outside',
    });
  });

  it('refuses a symlink to a missing place, since where it leads is unknown', async () => {
    const { workDir, ctx } = layout();
    symlinkSync('/nonexistent/dir', join(workDir, 'dangling'));
    await expect(classifyPath(join(workDir, 'dangling/file'), ctx)).rejects.toMatchObject({ code: 'bad_request' });
  });

  it('refuses a relative path', async () => {
    const { ctx } = layout();
    await expect(classifyPath('notes.txt', ctx)).rejects.toMatchObject({
      code: 'bad_request',
      message: expect.stringContaining('absolute'),
    });
    await expect(classifyPath('../data/device.json', ctx)).rejects.toMatchObject({ code: 'bad_request' });
  });

  it('lets the work dir win when it lies inside the data dir (the default <data>/work), but nothing else there', async () => {
    const { workDir, dataDir, ctx } = layout(true);
    expect(await classifyPath(join(workDir, 'src/main.ts'), ctx)).toBe('work_dir');
    expect(await classifyPath(join(workDir, '..', 'device.json'), ctx)).toBe('forbidden');
    expect(await classifyPath(join(dataDir, 'ledger.sqlite'), ctx)).toBe('forbidden');
  });
});

describe('classifyResolved', () => {
  it('keeps the data dir forbidden when the work dir contains it', () => {
    expect(classifyResolved('/home/me/.fabric/device.json', '/home/me', '/home/me/.fabric')).toBe('forbidden');
    expect(classifyResolved('/home/me/.fabricx/a', '/srv/work', '/home/me/.fabric')).toBe('outside');
    expect(classifyResolved('/srv/work/a.ts', '/srv/work', '/home/me/.fabric')).toBe('work_dir');
  });

  // A session started in such a dir would otherwise change any file under it without asking.
  it.each([
    ['/', '/etc/hosts'],
    ['/home/me', '/home/me/.bashrc'],
    ['/home/someone', '/home/someone/.ssh/authorized_keys'],
    ['/home', '/home/me/project/a.ts'],
    ['/root', '/root/.profile'],
    ['/tmp', '/tmp/x'],
    ['/etc', '/etc/passwd'],
    ['/usr/local/bin', '/usr/local/bin/node'],
    ['/var', '/var/log/syslog'],
    ['/opt/work', '/opt/work/x'],
  ])('counts nothing as inside a work dir of %s (%s is outside)', (workDir, p) => {
    const expected = workDir === '/opt/work' ? 'work_dir' : 'outside';
    expect(classifyResolved(p, workDir, '/home/me/.fabric', '/home/me')).toBe(expected);
  });

  it('counts nothing as inside a work dir that is or holds the data dir', () => {
    expect(classifyResolved('/srv/data/notes.txt', '/srv', '/srv/data/.fabric', '/home/me')).toBe('outside');
    expect(classifyResolved('/home/me/project/a.ts', '/home/me', '/home/me/.fabric', '/home/me')).toBe('outside');
    expect(classifyResolved('/srv/fabric/device.json', '/srv/fabric', '/srv/fabric', '/home/me')).toBe('forbidden');
    expect(classifyResolved('/srv/fabric/work/s1/a.ts', '/srv/fabric/work/s1', '/srv/fabric', '/home/me')).toBe(
      'work_dir',
    );
  });
});

describe('isProjectDir', () => {
  it.each([
    ['/', false],
    ['/home/me', false],
    ['/Users/me', false],
    ['/etc', false],
    ['/etc/nginx', false],
    ['/usr/src/linux', false],
    ['/tmp', false],
    ['/srv', false],
    ['/home/me/.fabric', false],
    ['/home/me/code/app', true],
    ['/tmp/build-1', true],
    ['/home/me/.fabric/work/ses_1', true],
  ])('%s → %s', (dir, expected) => {
    expect(isProjectDir(dir as string, '/home/me/.fabric', '/home/me')).toBe(expected);
  });
});
