import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SessionView } from '@fabric/protocol';
import { BIN, Proc, optimal, tempDir } from './procs.js';

/**
 * What a new user meets first, tried as they would: the banner, help on
 * readable health and times, hints that name commands, and
 * refusals that leave nothing behind.
 */
const D = tempDir('newcomer');
const dirs = [D];
let up: Proc;
let url = '';
const cli = (args: string[], input?: string) =>
  optimal([...args, '--data', D.path], { timeoutMs: 60_000, ...(input === undefined ? {} : { input }) });

beforeAll(async () => {
  up = new Proc(['up', '--data', D.path, '--port', '0']);
  url = (await up.waitFor(/fabric is up at (http:\/\/127\.0\.0\.1:\d+)/, 60_000))[1]!;
  await up.waitFor(/device online/, 60_000);
}, 120_000);

afterAll(async () => {
  await up.kill('SIGKILL');
  for (const d of dirs) d.remove();
});

describe('optimal up, as a new user meets it', () => {
  it('prints the cockpit as http://localhost:PORT/ (passkeys need a host name)', () => {
    const port = new URL(url).port;
    expect(up.stdout).toContain(`cockpit: http://localhost:${port}/ `);
  });

  it('shows health in GiB/MiB and local times, never raw byte counts or epoch milliseconds', async () => {
    const r = await cli(['agent', 'health']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/totalBytes: [\d.]+ (GiB|MiB)\n/);
    expect(r.stdout).toMatch(/\nat: \d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\n|$)/);
    expect(r.stdout).not.toMatch(/\d{10,}/);
  });

  it('prints the agent card as an outline without --json, and as JSON with it', async () => {
    const plain = await cli(['agent', 'card']);
    expect(plain.code, plain.stderr).toBe(0);
    expect(plain.stdout).not.toMatch(/^\{/);
    expect(plain.stdout).toMatch(/^type: https:\/\/eips\.ethereum\.org\/EIPS\/eip-8004#registration-v1\n/m);
    expect(JSON.parse((await cli(['agent', 'card', '--json'])).stdout)).toHaveProperty('type');
  });

  it('names the command, not the tool, in a hint', async () => {
    const incident = JSON.parse((await cli(['agent', 'incident', 'create', 'disk full', '--json'])).stdout) as {
      id: string;
    };
    expect((await cli(['agent', 'incident', 'close', incident.id, '--resolution', 'cleaned'])).code).toBe(0);
    const r = await cli(['agent', 'incident', 'step', incident.id, 'looked again']);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      `optimal: conflict: incident ${incident.id} is closed: open a new one with "optimal agent incident create"\n`,
    );
  });

  it('refuses to write a file from a terminal with no source, reads piped stdin, and names a missing or directory source in one line', async () => {
    const outside = tempDir('newcomer-files');
    dirs.push(outside);
    const target = join(outside.path, 'from-stdin.txt');
    // `script` gives the command a terminal for stdin, as a person typing would have.
    const tty = spawnSync(
      'script',
      ['-qec', `${process.execPath} ${BIN} agent file write ${target} --data ${D.path}`, '/dev/null'],
      { encoding: 'utf8', timeout: 60_000, input: '' },
    );
    expect(tty.stdout).toContain('optimal: bad_request: no content to write: name a source file, or pipe it in');
    expect(tty.status).toBe(1);
    expect(existsSync(target)).toBe(false);
    const piped = await cli(['agent', 'file', 'write', target], 'piped\n');
    expect(piped.code, piped.stderr).toBe(0);
    expect(readFileSync(target, 'utf8')).toBe('piped\n');
    const missing = await cli(['agent', 'file', 'write', target, join(outside.path, 'no-such-file')]);
    expect(missing.stderr).toBe(
      `optimal: not_found: no content to write: no file ${join(outside.path, 'no-such-file')}\n`,
    );
    const directory = await cli(['agent', 'memory', 'ingest', outside.path]);
    expect(directory.stderr).toBe(
      `optimal: bad_request: nothing to ingest: ${outside.path} is a directory, not a file\n`,
    );
  });

  it('says the vault is not set up, with the command to run, before vault init', async () => {
    const r = await cli(['vault', 'ls']);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('optimal: vault_not_initialized: the vault is not set up yet; run "optimal vault init"\n');
  });

  it('leaves no vault.key (nor the data dir) behind after a refused pairing', async () => {
    const fresh = tempDir('newcomer-pair');
    dirs.push(fresh);
    const target = join(fresh.path, 'device');
    const r = await optimal(['pair', '--server', url, '--token', 'garbage', '--data', target], { timeoutMs: 60_000 });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^optimal: \w+: /);
    expect(readdirSync(fresh.path)).toEqual([]);
  });

  it('does not suggest resuming a finished shell session, which cannot resume', async () => {
    const started = await cli(['session', 'start', '--harness', 'shell', '--prompt', 'echo done', '--follow']);
    expect(started.code, started.stderr).toBe(0);
    const [view] = JSON.parse((await cli(['session', 'ls', '--json', '--limit', '1'])).stdout) as SessionView[];
    const r = await cli(['session', 'send', view!.id, 'more']);
    expect(r.code).toBe(1);
    expect(r.stderr).not.toContain('session resume');
    expect(r.stderr).toBe(
      `optimal: session_finished: session ${view!.id} has already ended (succeeded) and its shell harness cannot resume it; start a new one with "optimal session start --harness shell"\n`,
    );
  });
});
