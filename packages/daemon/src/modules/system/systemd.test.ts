import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { servicesAnswerSchema } from '@fabric/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { serviceAction } from './mutate.js';
import { systemQuery } from './query.js';
import { installFakeSystemctl } from '../../../test/fake-systemctl.js';
import { LIST_SERVICES_ARGS, parseListUnits, serviceUnitName, type SystemdOptions } from './systemd.js';

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0).reverse()) c();
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'fabric-systemd-test-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** `systemctl list-units --type=service --all --plain --no-legend` as systemd 252 prints it. */
const LIST_OUTPUT = [
  'cron.service                          loaded    active   running Regular background program processing daemon',
  'dbus.service                          loaded    active   running D-Bus System Message Bus',
  'nginx.service                         loaded    failed   failed  A high performance web server and a reverse proxy server',
  '● ghost.service                       not-found inactive dead    ghost.service',
  'systemd-fsck-root.service             loaded    inactive dead    File System Check on Root Device',
  '',
].join('\n');

/** A machine with systemd; `argv()` is the last systemctl call, or null when there was none. */
function fakeSystemd(): { opts: SystemdOptions; argv: () => string[] | null } {
  const fake = installFakeSystemctl(tempDir(), LIST_OUTPUT);
  return { opts: fake.opts, argv: () => fake.calls().at(-1) ?? null };
}

describe('services on a machine with systemd', () => {
  it('lists services with the fixed argv and parses every line, failed and missing ones too', async () => {
    const fake = fakeSystemd();
    const answer = servicesAnswerSchema.parse(await systemQuery({ query: 'services' }, { systemd: fake.opts }));
    expect(fake.argv()).toEqual([...LIST_SERVICES_ARGS]);
    expect(answer.services.map((s) => s.name)).toEqual([
      'cron.service',
      'dbus.service',
      'nginx.service',
      'ghost.service',
      'systemd-fsck-root.service',
    ]);
    expect(answer.services[2]).toEqual({
      name: 'nginx.service',
      load: 'loaded',
      active: 'failed',
      sub: 'failed',
      description: 'A high performance web server and a reverse proxy server',
    });
  });

  it('filters running and failed services in JS', async () => {
    const fake = fakeSystemd();
    const running = await systemQuery({ query: 'services', state: 'running' }, { systemd: fake.opts });
    expect(running.services.map((s) => s.name)).toEqual(['cron.service', 'dbus.service']);
    const failed = await systemQuery({ query: 'services', state: 'failed' }, { systemd: fake.opts });
    expect(failed.services.map((s) => s.name)).toEqual(['nginx.service']);
    expect(fake.argv()).toEqual([...LIST_SERVICES_ARGS]);
  });

  it('restarts a service with exactly the fixed args, adding .service to a bare name', async () => {
    const fake = fakeSystemd();
    const answer = await serviceAction({ service: 'nginx', action: 'restart' }, fake.opts);
    expect(answer).toEqual({ service: 'nginx.service', action: 'restart', ok: true, stderrTail: '' });
    expect(fake.argv()).toEqual(['--no-ask-password', 'restart', '--', 'nginx.service']);
  });

  it('reports a failing systemctl as ok: false with the end of its stderr', async () => {
    const fake = fakeSystemd();
    const answer = await serviceAction({ service: 'broken.service', action: 'stop' }, fake.opts);
    expect(answer.ok).toBe(false);
    expect(answer.stderrTail).toContain('Job for broken.service failed');
    expect(fake.argv()).toEqual(['--no-ask-password', 'stop', '--', 'broken.service']);
  });

  it.each([['--help'], ['a;rm -rf /'], ['-x'], ['nginx service'], ['$(reboot)'], [''], ['x'.repeat(201)]])(
    'refuses the service name %j before anything runs',
    async (service) => {
      const fake = fakeSystemd();
      await expect(serviceAction({ service, action: 'restart' }, fake.opts)).rejects.toMatchObject({
        code: 'bad_request',
      });
      expect(fake.argv()).toBeNull();
    },
  );

  it('refuses units that are not services, such as reboot.target, before anything runs', async () => {
    const fake = fakeSystemd();
    await expect(serviceAction({ service: 'reboot.target', action: 'start' }, fake.opts)).rejects.toMatchObject({
      code: 'bad_request',
    });
    await expect(serviceAction({ service: 'nginx', action: 'reload' }, fake.opts)).rejects.toMatchObject({
      code: 'bad_request',
    });
    expect(fake.argv()).toBeNull();
  });
});

describe('services on a machine without systemd', () => {
  it('answers unsupported for the list and for an action, running nothing', async () => {
    const fake = fakeSystemd();
    const opts = { ...fake.opts, probePath: join(tempDir(), 'no-such-dir') };
    await expect(systemQuery({ query: 'services' }, { systemd: opts })).rejects.toMatchObject({
      code: 'unsupported',
      message: expect.stringContaining('does not run systemd'),
    });
    await expect(serviceAction({ service: 'nginx', action: 'stop' }, opts)).rejects.toMatchObject({
      code: 'unsupported',
    });
    expect(fake.argv()).toBeNull();
  });

  it('matches what this machine is: a list where /run/systemd/system exists, unsupported where not', async () => {
    const booted = existsSync('/run/systemd/system');
    const result = await systemQuery({ query: 'services' }).then(
      () => 'listed',
      (err: { code: string }) => err.code,
    );
    expect(result).toBe(booted ? 'listed' : 'unsupported');
  });
});

describe('parseListUnits', () => {
  it('skips lines without the four state columns and keeps an empty description', () => {
    expect(parseListUnits('junk\n\nfoo.service loaded active exited\n')).toEqual([
      { name: 'foo.service', load: 'loaded', active: 'active', sub: 'exited', description: '' },
    ]);
  });
});

describe('serviceUnitName', () => {
  it('keeps a .service name, adds .service to others, refuses other unit types', () => {
    expect(serviceUnitName('nginx.service')).toBe('nginx.service');
    expect(serviceUnitName('getty@tty1')).toBe('getty@tty1.service');
    expect(serviceUnitName('php8.2-fpm')).toBe('php8.2-fpm.service');
    expect(() => serviceUnitName('tmp.mount')).toThrow(/only services/);
    expect(() => serviceUnitName('.service')).toThrow(/name the service/);
  });
});
