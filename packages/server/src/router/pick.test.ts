import { describe, expect, it } from 'vitest';
import { FabricError, type CapabilityDigest, type HarnessName } from '@fabric/protocol';
import { pickDevice, shellProgram, unfit, type Candidate, type Placement } from './pick.js';

const GB = 1024 ** 3;

function caps(over: Partial<CapabilityDigest> & { harnessNames?: HarnessName[] } = {}): CapabilityDigest {
  const { harnessNames = ['shell'], ...rest } = over;
  return {
    hostname: 'host',
    platform: 'linux',
    arch: 'x64',
    cpus: 8,
    ramTotal: 16 * GB,
    ramFree: 8 * GB,
    load: [0.5, 0.5, 0.5],
    harnesses: harnessNames.map((name) => ({ name, version: '1.0.0' })),
    labels: {},
    allowlist: ['echo', 'ls', 'cat'],
    daemonVersion: '0.1.0',
    runningSessions: 0,
    ...rest,
  };
}

function device(name: string, over: Partial<Candidate> = {}, capsOver: Parameters<typeof caps>[0] = {}): Candidate {
  return { id: `dev_${name}0000`, name, online: true, revoked: false, capabilities: caps(capsOver), ...over };
}

const echo: Placement = { harness: 'shell', prompt: 'echo hello' };

/** The FabricError `fn` throws. */
function thrown(fn: () => unknown): FabricError {
  try {
    fn();
  } catch (err) {
    if (err instanceof FabricError) return err;
    throw err;
  }
  throw new Error('expected a FabricError, nothing was thrown');
}

describe('pickDevice with a pinned device', () => {
  const laptop = device('laptop');
  const server = device('server', {}, { ramFree: 32 * GB });

  it('takes the device named by id even when another has more free RAM', () => {
    expect(pickDevice([laptop, server], { ...echo, deviceId: laptop.id })).toBe(laptop);
  });

  it('takes the device named by name', () => {
    expect(pickDevice([laptop, server], { ...echo, deviceId: 'laptop' })).toBe(laptop);
  });

  it('says device_not_found for a device it does not know', () => {
    expect(thrown(() => pickDevice([laptop], { ...echo, deviceId: 'nope' })).code).toBe('device_not_found');
  });

  it('says device_offline when the pinned device is offline, even if another could run it', () => {
    const off = device('laptop', { online: false });
    const err = thrown(() => pickDevice([off, server], { ...echo, deviceId: 'laptop' }));
    expect(err.code).toBe('device_offline');
    expect(err.message).toContain('laptop');
  });

  it('says device_offline for an online device that has not reported capabilities yet', () => {
    const fresh = device('laptop', { capabilities: null });
    expect(thrown(() => pickDevice([fresh], { ...echo, deviceId: 'laptop' })).code).toBe('device_offline');
  });

  it('says device_revoked for a revoked device, even an online one', () => {
    const revoked = device('laptop', { revoked: true });
    expect(thrown(() => pickDevice([revoked], { ...echo, deviceId: 'laptop' })).code).toBe('device_revoked');
  });

  it('says harness_unavailable when the pinned device lacks the harness', () => {
    const err = thrown(() => pickDevice([laptop], { harness: 'claude', prompt: 'fix the bug', deviceId: 'laptop' }));
    expect(err.code).toBe('harness_unavailable');
    expect(err.message).toContain('claude');
  });

  it('says command_not_allowed, naming the command, when the pinned device forbids it', () => {
    const err = thrown(() => pickDevice([laptop], { harness: 'shell', prompt: 'rm -rf /', deviceId: 'laptop' }));
    expect(err.code).toBe('command_not_allowed');
    expect(err.message).toContain('"rm"');
    expect(err.message).toContain('--allow');
  });
});

describe('pickDevice choosing among devices', () => {
  it('picks the fitting device with the most free RAM', () => {
    const small = device('small', {}, { ramFree: 2 * GB });
    const big = device('big', {}, { ramFree: 12 * GB });
    const mid = device('mid', {}, { ramFree: 6 * GB });
    expect(pickDevice([small, big, mid], echo).name).toBe('big');
  });

  it('breaks a tie in free RAM with the lower load', () => {
    const busy = device('busy', {}, { load: [3.0, 1, 1] });
    const idle = device('idle', {}, { load: [0.1, 5, 5] });
    expect(pickDevice([busy, idle], echo).name).toBe('idle');
    expect(pickDevice([idle, busy], echo).name).toBe('idle');
  });

  it('prefers free RAM over load', () => {
    const roomy = device('roomy', {}, { ramFree: 10 * GB, load: [8, 8, 8] });
    const idle = device('idle', {}, { ramFree: 4 * GB, load: [0, 0, 0] });
    expect(pickDevice([idle, roomy], echo).name).toBe('roomy');
  });

  it('skips devices that are offline, revoked or lack the harness, however roomy', () => {
    const huge = { ramFree: 64 * GB };
    const devices = [
      device('off', { online: false }, huge),
      device('revoked', { revoked: true }, huge),
      device('nocaps', { capabilities: null }),
      device('noshell', {}, { ...huge, harnessNames: ['claude'] }),
      device('ok', {}, { ramFree: 1 * GB }),
    ];
    expect(pickDevice(devices, echo).name).toBe('ok');
  });

  it('skips devices whose allowlist lacks the command', () => {
    const strict = device('strict', {}, { ramFree: 64 * GB, allowlist: ['ls'] });
    const ok = device('ok', {}, { ramFree: 1 * GB });
    expect(pickDevice([strict, ok], echo).name).toBe('ok');
  });

  it('only considers devices carrying every requested label', () => {
    const gpu = device('gpu', {}, { labels: { gpu: 'a100', zone: 'eu' }, ramFree: 1 * GB });
    const cpu = device('cpu', {}, { labels: { zone: 'eu' }, ramFree: 32 * GB });
    const other = device('other', {}, { labels: { gpu: 'h100', zone: 'eu' }, ramFree: 32 * GB });
    expect(pickDevice([cpu, other, gpu], { ...echo, labels: { gpu: 'a100' } }).name).toBe('gpu');
    expect(pickDevice([cpu, other, gpu], { ...echo, labels: { gpu: 'a100', zone: 'eu' } }).name).toBe('gpu');
    expect(thrown(() => pickDevice([cpu, other, gpu], { ...echo, labels: { gpu: 'a100', zone: 'us' } })).code).toBe('no_device');
  });

  it('does not check the allowlist for agent harnesses', () => {
    const claude = device('claude', {}, { harnessNames: ['shell', 'claude'], allowlist: [] });
    expect(pickDevice([claude], { harness: 'claude', prompt: 'rm everything please' }).name).toBe('claude');
  });

  it('says no_device when there are no devices at all', () => {
    const err = thrown(() => pickDevice([], echo));
    expect(err.code).toBe('no_device');
    expect(err.message).toContain('optimal device');
  });

  it('says no_device when every device is offline or revoked', () => {
    const devices = [device('a', { online: false }), device('b', { revoked: true })];
    expect(thrown(() => pickDevice(devices, echo)).code).toBe('no_device');
  });

  it('says command_not_allowed, not no_device, when a device has the harness but forbids the command', () => {
    const devices = [device('off', { online: false }), device('strict', {}, { allowlist: ['ls'] }), device('claude', {}, { harnessNames: ['claude'] })];
    const err = thrown(() => pickDevice(devices, { harness: 'shell', prompt: 'make deploy' }));
    expect(err.code).toBe('command_not_allowed');
    expect(err.message).toContain('"make"');
  });

  it('says harness_unavailable when only the harness is missing', () => {
    const devices = [device('a'), device('b', { online: false }, { harnessNames: ['codex'] })];
    expect(thrown(() => pickDevice(devices, { harness: 'codex', prompt: 'hi' })).code).toBe('harness_unavailable');
  });

  it('refuses an empty or unparseable shell command before looking at devices', () => {
    expect(thrown(() => pickDevice([], { harness: 'shell', prompt: '   ' })).code).toBe('bad_request');
    expect(thrown(() => pickDevice([device('a')], { harness: 'shell', prompt: 'echo "oops' })).code).toBe('bad_request');
  });
});

describe('unfit', () => {
  it('is null for a device that can run the session', () => {
    expect(unfit(device('a'), echo)).toBeNull();
  });

  it('matches the command exactly, not by prefix or path', () => {
    const d = device('a', {}, { allowlist: ['echo'] });
    expect(unfit(d, { harness: 'shell', prompt: 'echoo hi' })?.code).toBe('command_not_allowed');
    expect(unfit(d, { harness: 'shell', prompt: '/bin/echo hi' })?.code).toBe('command_not_allowed');
    expect(unfit(d, { harness: 'shell', prompt: "'echo' hi" })).toBeNull();
  });

  it('names a missing label', () => {
    const err = unfit(device('a'), { ...echo, labels: { os: 'mac' } });
    expect(err?.code).toBe('no_device');
    expect(err?.message).toContain('os=mac');
  });

  it('reports revocation before being offline', () => {
    expect(unfit(device('a', { revoked: true, online: false }), echo)?.code).toBe('device_revoked');
  });

  it('keeps a very long command name out of the message', () => {
    const long = 'x'.repeat(500);
    const err = unfit(device('a'), { harness: 'shell', prompt: long });
    expect(err?.code).toBe('command_not_allowed');
    expect(err!.message.length).toBeLessThan(200);
  });
});

describe('shellProgram', () => {
  it('is argv[0] of the prompt, unquoted', () => {
    expect(shellProgram('echo hello world')).toBe('echo');
    expect(shellProgram('  "my tool" --flag')).toBe('my tool');
    expect(shellProgram('echo;ls')).toBe('echo;ls');
  });

  it('throws bad_request for an empty command or an unterminated quote', () => {
    expect(thrown(() => shellProgram('')).code).toBe('bad_request');
    expect(thrown(() => shellProgram('""')).code).toBe('bad_request');
    expect(thrown(() => shellProgram("echo 'oops")).code).toBe('bad_request');
  });
});
