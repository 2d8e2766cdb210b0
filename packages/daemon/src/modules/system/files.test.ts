import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  realpathSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileDeleteAnswerSchema, fileWriteAnswerSchema } from '@fabric/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { isFabricError } from '@fabric/protocol';
import { deleteFile, writeFile } from './files.js';

const cleanups: (() => void | Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function layout() {
  const root = realpathSync(mkdtempSync(join(tmpdir(), 'fabric-files-test-')));
  cleanups.push(() => rmSync(root, { recursive: true, force: true }));
  const dataDir = join(root, 'data');
  const workDir = join(root, 'work');
  const elsewhere = join(root, 'elsewhere');
  for (const d of [dataDir, workDir, elsewhere]) mkdirSync(d, { recursive: true });
  return { dataDir, workDir, elsewhere, ctx: { workDir, dataDir } };
}

const sha256 = (s: string | Buffer): string => createHash('sha256').update(s).digest('hex');

describe('writeFile', () => {
  it('creates a new file and reports its size and hash', async () => {
    const { workDir, ctx } = layout();
    const path = join(workDir, 'hello.txt');
    const answer = fileWriteAnswerSchema.parse(await writeFile({ path, content: 'héllo\n' }, ctx));
    expect(answer).toEqual({ path, bytes: 7, created: true, previousSha256: null, sha256: sha256('héllo\n') });
    expect(readFileSync(path, 'utf8')).toBe('héllo\n');
  });

  it('replaces an existing file by rename, reporting the old hash, keeping its mode and leaving no temp file', async () => {
    const { elsewhere, ctx } = layout();
    const path = join(elsewhere, 'config.ini');
    writeFileSync(path, 'old');
    chmodSync(path, 0o640);
    const inodeBefore = statSync(path).ino;
    const answer = await writeFile({ path, content: 'new content' }, ctx);
    expect(answer).toEqual({
      path,
      bytes: 11,
      created: false,
      previousSha256: sha256('old'),
      sha256: sha256('new content'),
    });
    expect(readFileSync(path, 'utf8')).toBe('new content');
    expect(statSync(path).mode & 0o777).toBe(0o640);
    expect(statSync(path).ino).not.toBe(inodeBefore);
    expect(readdirSync(elsewhere)).toEqual(['config.ini']);
  });

  it('sets exactly the mode it is given', async () => {
    const { workDir, ctx } = layout();
    const path = join(workDir, 'script.sh');
    await writeFile({ path, content: '#!/bin/sh\n', mode: '0755' }, ctx);
    expect(statSync(path).mode & 0o777).toBe(0o755);
    await writeFile({ path, content: 'secret', mode: '600' }, ctx);
    expect(statSync(path).mode & 0o777).toBe(0o600);
  });

  it('writes through a symlink to its real target, reporting the real path', async () => {
    const { workDir, elsewhere, ctx } = layout();
    symlinkSync(elsewhere, join(workDir, 'out'));
    const answer = await writeFile({ path: join(workDir, 'out', 'x.txt'), content: 'x' }, ctx);
    expect(answer.path).toBe(join(elsewhere, 'x.txt'));
    expect(readFileSync(join(elsewhere, 'x.txt'), 'utf8')).toBe('x');
  });

  it('refuses the data dir, a directory, a relative path, a missing directory and bad modes', async () => {
    const { dataDir, workDir, ctx } = layout();
    await expect(writeFile({ path: join(dataDir, 'device.json'), content: '{}' }, ctx)).rejects.toMatchObject({
      code: 'path_not_allowed',
    });
    expect(existsSync(join(dataDir, 'device.json'))).toBe(false);
    await expect(writeFile({ path: workDir, content: 'x' }, ctx)).rejects.toMatchObject({ code: 'bad_request' });
    await expect(writeFile({ path: 'rel.txt', content: 'x' }, ctx)).rejects.toMatchObject({ code: 'bad_request' });
    await expect(writeFile({ path: join(workDir, 'no/such/dir/f'), content: 'x' }, ctx)).rejects.toMatchObject({
      code: 'not_found',
    });
    for (const mode of ['4755', '0888', 'rw-r--r--', '644 ']) {
      await expect(writeFile({ path: join(workDir, 'f'), content: 'x', mode }, ctx)).rejects.toMatchObject({
        code: 'bad_request',
      });
    }
    expect(readdirSync(workDir)).toEqual([]);
  });

  it('refuses content over 4 MiB of UTF-8, counted in bytes rather than characters', async () => {
    const { workDir, ctx } = layout();
    const path = join(workDir, 'big.txt');
    await expect(writeFile({ path, content: 'é'.repeat(2 * 1024 * 1024 + 1) }, ctx)).rejects.toMatchObject({
      code: 'bad_request',
    });
    const answer = await writeFile({ path, content: 'a'.repeat(4 * 1024 * 1024) }, ctx);
    expect(answer.bytes).toBe(4 * 1024 * 1024);
  });
});

describe('deleteFile', () => {
  it('deletes a regular file, reporting the size and hash of what it held', async () => {
    const { elsewhere, ctx } = layout();
    const path = join(elsewhere, 'old.log');
    writeFileSync(path, 'log line\n');
    const answer = fileDeleteAnswerSchema.parse(await deleteFile({ path }, ctx));
    expect(answer).toEqual({ path, bytes: 9, sha256: sha256('log line\n') });
    expect(existsSync(path)).toBe(false);
  });

  it('refuses a directory, a missing file and the data dir', async () => {
    const { dataDir, workDir, ctx } = layout();
    mkdirSync(join(workDir, 'sub'));
    writeFileSync(join(dataDir, 'device.json'), '{}');
    await expect(deleteFile({ path: join(workDir, 'sub') }, ctx)).rejects.toMatchObject({
      code: 'bad_request',
      message: expect.stringContaining('directory'),
    });
    await expect(deleteFile({ path: join(workDir, 'nothing') }, ctx)).rejects.toMatchObject({ code: 'not_found' });
    await expect(deleteFile({ path: join(dataDir, 'device.json') }, ctx)).rejects.toMatchObject({
      code: 'path_not_allowed',
    });
    expect(existsSync(join(workDir, 'sub'))).toBe(true);
    expect(existsSync(join(dataDir, 'device.json'))).toBe(true);
  });
});

/**
 * A child process that flips `<work>/flip` between a real directory and a
 * symlink to the data dir, each state held for up to 2 ms, with a
 * `victim` file in the directory each time. It prints one line per 100 flips.
 */
function flipper(flip: string, dataDir: string): ChildProcess {
  const script = `
    const fs = require('node:fs');
    const [flip, data] = process.argv.slice(1);
    const stage = flip + '.stage';
    const hold = () => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, Math.random() * 2);
    for (let n = 1; ; n++) {
      try { fs.mkdirSync(stage); fs.writeFileSync(stage + '/victim', 'work copy'); fs.renameSync(stage, flip); } catch {}
      hold();
      try { fs.rmSync(flip + '.old', { recursive: true, force: true }); fs.renameSync(flip, flip + '.old'); fs.symlinkSync(data, flip); } catch {}
      hold();
      try { fs.unlinkSync(flip); } catch {}
      if (n % 100 === 0) console.log(n);
    }`;
  const child = spawn(process.execPath, ['-e', script, flip, dataDir], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = once(child, 'exit');
  // Stopped (and gone) before the temp dir is removed, so it cannot re-create anything in it.
  cleanups.push(async () => {
    child.kill('SIGKILL');
    await exited;
  });
  return child;
}

async function flipping(child: ChildProcess): Promise<void> {
  await new Promise<void>((resolve) => child.stdout!.once('data', () => resolve()));
}

/** The outcome of one call: ok, or the code of the FabricError it was refused with. */
async function outcome(call: Promise<unknown>): Promise<string> {
  try {
    await call;
    return 'ok';
  } catch (err) {
    if (isFabricError(err)) return err.code;
    throw err;
  }
}

describe('a path swapped between the check and the write', () => {
  it('never lets file_write create a file in the data dir while a work dir path flips to a symlink into it', async () => {
    const { dataDir, workDir, ctx } = layout();
    const flip = join(workDir, 'flip');
    await flipping(flipper(flip, dataDir));
    const outcomes = new Map<string, number>();
    for (let i = 0; i < 200; i++) {
      const o = await outcome(writeFile({ path: join(flip, `planted-${i}.txt`), content: 'x' }, ctx));
      outcomes.set(o, (outcomes.get(o) ?? 0) + 1);
      expect(readdirSync(dataDir)).toEqual([]);
    }
    // Every refusal is one an agent can act on; no write escaped.
    expect([...outcomes.keys()].every((o) => ['ok', 'path_not_allowed', 'not_found', 'bad_request'].includes(o))).toBe(
      true,
    );
    expect(outcomes.get('path_not_allowed') ?? 0).toBeGreaterThan(0);
  }, 60_000);

  it('never lets file_delete remove a file in the data dir while a work dir path flips to a symlink into it', async () => {
    const { dataDir, workDir, ctx } = layout();
    writeFileSync(join(dataDir, 'victim'), 'the real one');
    const flip = join(workDir, 'flip');
    await flipping(flipper(flip, dataDir));
    for (let i = 0; i < 200; i++) {
      const o = await outcome(deleteFile({ path: join(flip, 'victim') }, ctx));
      expect(['ok', 'path_not_allowed', 'not_found', 'bad_request']).toContain(o);
      expect(readFileSync(join(dataDir, 'victim'), 'utf8')).toBe('the real one');
    }
  }, 60_000);

  it('refuses to act on another path than the one its plan named', async () => {
    const { workDir, elsewhere, ctx } = layout();
    const link = join(workDir, 'link');
    symlinkSync(elsewhere, link);
    await expect(
      writeFile({ path: join(link, 'x.txt'), content: 'x' }, ctx, { path: join(workDir, 'link', 'x.txt') }),
    ).rejects.toMatchObject({ code: 'path_not_allowed' });
    expect(existsSync(join(elsewhere, 'x.txt'))).toBe(false);
    writeFileSync(join(elsewhere, 'y.txt'), 'y');
    await expect(
      deleteFile({ path: join(link, 'y.txt') }, ctx, { path: join(workDir, 'link', 'y.txt') }),
    ).rejects.toMatchObject({ code: 'path_not_allowed' });
    expect(existsSync(join(elsewhere, 'y.txt'))).toBe(true);
  });
});
