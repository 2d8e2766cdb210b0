import { describe, expect, it } from 'vitest';
import { FabricError, type CapabilityDigest } from '@fabric/protocol';
import {
  describePlacement,
  judge,
  place,
  score,
  shellProgram,
  type DeviceState,
  type PlacementRequest,
  type Placement,
  type Verdict,
} from './place.js';

const GiB = 1024 ** 3;

/** A healthy digest: 4 GiB free (40 points), load 2 on 8 cpus (75 points), shell and claude installed. */
function caps(over: Partial<CapabilityDigest> = {}): CapabilityDigest {
  return {
    hostname: 'host',
    platform: 'linux',
    arch: 'x64',
    cpus: 8,
    ramTotal: 32 * GiB,
    ramFree: 4 * GiB,
    load: [2, 1, 1],
    harnesses: [
      { name: 'shell', version: null },
      { name: 'claude', version: '1.0.0' },
    ],
    labels: {},
    allowlist: ['echo', 'ls'],
    daemonVersion: '0.1.0',
    runningSessions: 0,
    isolation: 'bwrap',
    ...over,
  };
}

/** An online, idle device with id `dev_<name>` that scores 115 with the default digest. */
function device(name: string, over: Partial<DeviceState> = {}, capsOver: Partial<CapabilityDigest> = {}): DeviceState {
  return {
    id: `dev_${name}`,
    name,
    online: true,
    revoked: false,
    draining: false,
    priority: 0,
    capabilities: caps(capsOver),
    running: 0,
    ...over,
  };
}

const echo: PlacementRequest = { harness: 'shell', prompt: 'echo hello' };

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

function points(d: DeviceState): Record<string, number> {
  return Object.fromEntries(score(d).factors.map((f) => [f.name, f.points]));
}

function miss(v: Verdict): Extract<Verdict, { fits: false }> {
  if (v.fits) throw new Error(`expected ${v.device} not to fit, it scored ${v.score}`);
  return v;
}

function placed(p: Placement): Extract<Placement, { kind: 'placed' }> {
  if (p.kind !== 'placed') throw new Error(`expected a placement, got ${p.kind}: ${describePlacement(p, new Map())}`);
  return p;
}

function waited(p: Placement): Extract<Placement, { kind: 'wait' }> {
  if (p.kind !== 'wait') throw new Error(`expected to wait, got ${p.kind}: ${describePlacement(p, new Map())}`);
  return p;
}

function refused(p: Placement): FabricError {
  if (p.kind !== 'refuse') throw new Error(`expected a refusal, got ${p.kind}: ${describePlacement(p, new Map())}`);
  return p.error;
}

describe('score', () => {
  it('gives 10 points per free GiB', () => {
    const d = device('a', {}, { ramFree: 6.5 * GiB });
    expect(points(d).ram).toBe(65);
    expect(score(d).factors.find((f) => f.name === 'ram')!.value).toBe('6.5 GiB free');
  });

  it('stops counting free RAM at 16 GiB', () => {
    expect(points(device('a', {}, { ramFree: 16 * GiB })).ram).toBe(160);
    expect(points(device('a', {}, { ramFree: 64 * GiB })).ram).toBe(160);
  });

  it('gives up to 100 points for load, scaled down by the 1-minute load per cpu', () => {
    expect(points(device('a', {}, { load: [0, 9, 9] })).load).toBe(100);
    expect(points(device('a', {}, { load: [2, 0, 0] })).load).toBe(75);
    expect(points(device('a', {}, { load: [6, 0, 0] })).load).toBe(25);
  });

  it('gives no load points once the load reaches the cpu count, and never negative ones', () => {
    expect(points(device('a', {}, { load: [8, 0, 0] })).load).toBe(0);
    expect(points(device('a', {}, { load: [20, 0, 0] })).load).toBe(0);
  });

  it('gives no load points to a device that reports zero cpus', () => {
    expect(points(device('a', {}, { cpus: 0, load: [0, 0, 0] })).load).toBe(0);
  });

  it('describes the load as the 1-minute figure on the cpu count', () => {
    expect(score(device('a', {}, { load: [1.5, 3, 4] })).factors.find((f) => f.name === 'load')!.value).toBe(
      '1.50 on 8 cpus',
    );
  });

  it('takes 25 points off for each session already running there', () => {
    const d = device('a', { running: 3 });
    expect(points(d).running).toBe(-75);
    expect(score(d).factors.find((f) => f.name === 'running')!.value).toBe('3 running');
  });

  it('gives 20 points per priority step, negative priorities included', () => {
    expect(points(device('a', { priority: 2 })).priority).toBe(40);
    expect(points(device('a', { priority: -1 })).priority).toBe(-20);
  });

  it('makes one priority step worth as much as 2 GiB of free RAM', () => {
    const preferred = score(device('a', { priority: 1 }, { ramFree: 4 * GiB })).score;
    const roomier = score(device('b', {}, { ramFree: 6 * GiB })).score;
    expect(preferred).toBe(roomier);
  });

  it('sums the factors in a fixed order, rounded to one decimal', () => {
    const d = device('a', { running: 1, priority: 1 }, { ramFree: 1.25 * GiB, cpus: 3, load: [1, 0, 0] });
    const { score: total, factors } = score(d);
    expect(factors.map((f) => [f.name, f.points])).toEqual([
      ['ram', 12.5],
      ['load', 66.7],
      ['running', -25],
      ['priority', 20],
    ]);
    expect(total).toBe(74.2);
  });

  it('scores the default healthy device at 115', () => {
    expect(score(device('a')).score).toBe(115);
  });
});

describe('shellProgram', () => {
  it('returns argv[0] of the command line', () => {
    expect(shellProgram('ls -la /tmp')).toBe('ls');
    expect(shellProgram('  echo   hi  ')).toBe('echo');
  });

  it('unquotes the program name', () => {
    expect(shellProgram('"my tool" --flag')).toBe('my tool');
  });

  it.each(['', '   ', '""'])('says bad_request for the empty command %j', (prompt) => {
    const err = thrown(() => shellProgram(prompt));
    expect(err.code).toBe('bad_request');
    expect(err.message).toBe('command is empty');
  });

  it('says bad_request for an unterminated quote', () => {
    const err = thrown(() => shellProgram('echo "hello'));
    expect(err.code).toBe('bad_request');
    expect(err.message).toBe('command: unterminated quote');
  });
});

describe('judge', () => {
  it('fits a healthy device, with its score and factors', () => {
    const d = device('laptop');
    expect(judge(d, echo)).toEqual({ device: 'dev_laptop', fits: true, ...score(d) });
  });

  describe('permanent misses (only the owner can change them)', () => {
    it('refuses a revoked device, even one that is online and idle', () => {
      expect(miss(judge(device('laptop', { revoked: true }), echo))).toMatchObject({
        device: 'dev_laptop',
        code: 'device_revoked',
        reason: 'device laptop is revoked',
        permanent: true,
      });
    });

    it('calls a revoked device revoked before it calls it offline', () => {
      expect(miss(judge(device('laptop', { revoked: true, online: false, capabilities: null }), echo))).toMatchObject({
        code: 'device_revoked',
        permanent: true,
      });
    });

    it('refuses a device that lacks a requested label', () => {
      expect(miss(judge(device('laptop'), { ...echo, labels: { gpu: 'a100' } }))).toMatchObject({
        code: 'no_device',
        reason: 'device laptop lacks label gpu=a100',
        permanent: true,
      });
    });

    it('refuses a device whose label has another value', () => {
      const d = device('laptop', {}, { labels: { gpu: 'h100', os: 'linux' } });
      expect(miss(judge(d, { ...echo, labels: { os: 'linux', gpu: 'a100' } }))).toMatchObject({
        code: 'no_device',
        permanent: true,
      });
    });

    it('fits a device that carries every requested label, and others besides', () => {
      const d = device('laptop', {}, { labels: { gpu: 'a100', os: 'linux', zone: 'home' } });
      expect(judge(d, { ...echo, labels: { os: 'linux', gpu: 'a100' } }).fits).toBe(true);
    });

    it('refuses a device without the harness installed', () => {
      expect(miss(judge(device('laptop'), { harness: 'codex', prompt: 'hi' }))).toMatchObject({
        code: 'harness_unavailable',
        reason: 'harness codex is not installed on device laptop',
        permanent: true,
      });
    });

    it("refuses a shell command that is not on the device's allowlist", () => {
      expect(miss(judge(device('laptop'), { harness: 'shell', prompt: 'rm -rf /' }))).toMatchObject({
        code: 'command_not_allowed',
        reason: `"rm" is not on device laptop's allowlist; restart it with --allow to permit it`,
        permanent: true,
      });
    });

    it('quotes at most 64 characters of a long program name', () => {
      const reason = miss(judge(device('laptop'), { harness: 'shell', prompt: `${'x'.repeat(100)} arg` })).reason;
      expect(reason.startsWith(`"${'x'.repeat(64)}" is not`)).toBe(true);
    });

    it('checks the allowlist only for the shell harness', () => {
      expect(judge(device('laptop'), { harness: 'claude', prompt: 'rm -rf /' }).fits).toBe(true);
    });

    it('judges an offline device by the capabilities it last reported', () => {
      expect(miss(judge(device('laptop', { online: false }), { harness: 'codex', prompt: 'hi' }))).toMatchObject({
        code: 'harness_unavailable',
        permanent: true,
      });
    });
  });

  describe('transient misses (waiting may change them)', () => {
    it('waits on an offline device', () => {
      expect(miss(judge(device('laptop', { online: false }), echo))).toMatchObject({
        device: 'dev_laptop',
        code: 'device_offline',
        reason: 'device laptop is offline',
        permanent: false,
      });
    });

    it('waits on an online device that never reported capabilities, whatever was asked of it', () => {
      const fresh = device('laptop', { capabilities: null });
      for (const req of [
        echo,
        { harness: 'codex', prompt: 'hi' },
        { ...echo, prompt: 'rm -rf /', labels: { gpu: 'a100' } },
      ] as PlacementRequest[]) {
        expect(miss(judge(fresh, req))).toMatchObject({
          code: 'device_offline',
          reason: 'device laptop is offline',
          permanent: false,
        });
      }
    });

    it('waits on a draining device', () => {
      expect(miss(judge(device('laptop', { draining: true }), echo))).toMatchObject({
        code: 'device_offline',
        reason: 'device laptop is draining',
        permanent: false,
      });
    });

    it('waits on a device that was already tried for this session', () => {
      expect(miss(judge(device('laptop'), { ...echo, exclude: new Set(['dev_laptop']) }))).toMatchObject({
        code: 'device_timeout',
        reason: 'device laptop did not acknowledge this session',
        permanent: false,
      });
    });

    it('does not hold another device having been tried against this one', () => {
      expect(judge(device('laptop'), { ...echo, exclude: new Set(['dev_desk']) }).fits).toBe(true);
    });

    it('reports a permanent miss before a transient one', () => {
      const d = device('laptop', { draining: true }, { allowlist: [] });
      expect(miss(judge(d, { ...echo, exclude: new Set(['dev_laptop']) }))).toMatchObject({
        code: 'command_not_allowed',
        permanent: true,
      });
    });
  });
});

describe('place', () => {
  describe('among fitting devices', () => {
    const small = device('small', {}, { ramFree: 2 * GiB });
    const big = device('big', {}, { ramFree: 12 * GiB });

    it('takes the best-scoring device', () => {
      const p = placed(place([small, big], echo));
      expect(p.deviceId).toBe('dev_big');
      expect(p.score).toBe(195);
      expect(p.factors).toEqual(score(big).factors);
    });

    it('keeps every verdict, in the order the devices came', () => {
      expect(placed(place([small, big], echo)).verdicts.map((v) => [v.device, v.fits])).toEqual([
        ['dev_small', true],
        ['dev_big', true],
      ]);
    });

    it('breaks a tie by the lower id, whatever order the devices come in', () => {
      const b = device('b');
      const a = device('a');
      expect(placed(place([b, a], echo)).deviceId).toBe('dev_a');
      expect(placed(place([a, b], echo)).deviceId).toBe('dev_a');
    });

    it('passes over a better-scoring device that does not fit', () => {
      const lacking = device('lacking', {}, { ramFree: 64 * GiB, harnesses: [] });
      expect(placed(place([lacking, small], echo)).deviceId).toBe('dev_small');
    });

    it('prefers the idle device over a busier one with more RAM', () => {
      const busy = device('busy', { running: 2 }, { ramFree: 6 * GiB });
      expect(placed(place([busy, small], echo)).deviceId).toBe('dev_small');
    });

    it('does not parse the prompt of a harness other than shell', () => {
      expect(placed(place([small], { harness: 'claude', prompt: "don't stop" })).deviceId).toBe('dev_small');
    });
  });

  describe('with a pinned device', () => {
    const laptop = device('laptop');
    const server = device('server', {}, { ramFree: 32 * GiB });

    it('takes the device named by id, even when another scores higher', () => {
      expect(placed(place([laptop, server], { ...echo, deviceId: 'dev_laptop' })).deviceId).toBe('dev_laptop');
    });

    it('takes the device named by name', () => {
      expect(placed(place([server, laptop], { ...echo, deviceId: 'laptop' })).deviceId).toBe('dev_laptop');
    });

    it('looks the pin up as an id before it looks at names', () => {
      const namedLikeAnId = device('x', { id: 'dev_b', name: 'dev_a' });
      const byId = device('y', { id: 'dev_a', name: 'y' });
      expect(placed(place([namedLikeAnId, byId], { ...echo, deviceId: 'dev_a' })).deviceId).toBe('dev_a');
    });

    it('judges the pinned device alone', () => {
      expect(placed(place([laptop, server], { ...echo, deviceId: 'laptop' })).verdicts.map((v) => v.device)).toEqual([
        'dev_laptop',
      ]);
    });

    it('refuses with device_not_found when no device has that id or name', () => {
      const p = place([laptop, server], { ...echo, deviceId: 'nope' });
      const err = refused(p);
      expect(err.code).toBe('device_not_found');
      expect(err.message).toBe('no device nope');
      expect(p.verdicts).toEqual([]);
    });

    it('waits for a pinned device that is offline, even though another could run it now', () => {
      const p = waited(place([device('laptop', { online: false }), server], { ...echo, deviceId: 'laptop' }));
      expect(p.reason).toBe('device laptop is offline');
    });

    it('waits for a pinned device that was already tried', () => {
      const p = waited(place([laptop, server], { ...echo, deviceId: 'laptop', exclude: new Set(['dev_laptop']) }));
      expect(p.reason).toBe('device laptop did not acknowledge this session');
    });

    it.each([
      ['device_revoked', device('laptop', { revoked: true }), echo, 'device laptop is revoked'],
      [
        'harness_unavailable',
        laptop,
        { harness: 'codex', prompt: 'hi' },
        'harness codex is not installed on device laptop',
      ],
      [
        'command_not_allowed',
        laptop,
        { harness: 'shell', prompt: 'rm -rf /' },
        `"rm" is not on device laptop's allowlist; restart it with --allow to permit it`,
      ],
      ['no_device', laptop, { ...echo, labels: { gpu: 'a100' } }, 'device laptop lacks label gpu=a100'],
    ] as const)('refuses with %s when the pinned device misses permanently', (code, pinned, req, message) => {
      const err = refused(place([pinned, server], { ...req, deviceId: 'laptop' }));
      expect(err.code).toBe(code);
      expect(err.message).toBe(message);
    });
  });

  describe('when nothing fits', () => {
    const offline = device('a', { online: false });
    const draining = device('b', { draining: true });
    const noHarness = device('c', {}, { harnesses: [{ name: 'claude', version: null }] });
    const notAllowed = device('d', {}, { allowlist: ['ls'] });
    const unlabelled = device('e');
    const revoked = device('f', { revoked: true });

    it('waits when any miss is transient, listing only the transient reasons', () => {
      const p = waited(place([noHarness, offline, notAllowed, draining], echo));
      expect(p.reason).toBe('device a is offline; device b is draining');
      expect(p.verdicts).toHaveLength(4);
    });

    it('waits for a device that was already tried when it is the only one', () => {
      expect(waited(place([unlabelled], { ...echo, exclude: new Set(['dev_e']) })).reason).toBe(
        'device e did not acknowledge this session',
      );
    });

    it("waits with 'no device is paired yet' when there are no devices", () => {
      expect(waited(place([], echo))).toEqual({ kind: 'wait', reason: 'no device is paired yet', verdicts: [] });
    });

    describe('and every miss is permanent, it refuses with the most telling code', () => {
      const gpu = { ...echo, labels: { gpu: 'a100' } };
      const lacksLabel = device('x');
      const lacksShell = device('y', {}, { labels: { gpu: 'a100' }, harnesses: [{ name: 'claude', version: null }] });
      const lacksCommand = device('z', {}, { labels: { gpu: 'a100' }, allowlist: ['ls'] });

      it.each([
        [[lacksLabel, lacksShell, lacksCommand]],
        [[lacksCommand, lacksShell, lacksLabel]],
        [[lacksShell, lacksCommand, lacksLabel]],
      ])('command_not_allowed over harness_unavailable and labels (%#)', (devices) => {
        expect(refused(place(devices, gpu)).code).toBe('command_not_allowed');
      });

      it.each([[[lacksLabel, lacksShell]], [[lacksShell, lacksLabel]]])(
        'harness_unavailable over labels (%#)',
        (devices) => {
          expect(refused(place(devices, gpu)).code).toBe('harness_unavailable');
        },
      );
    });

    it('refuses with no_device when only labels are missing', () => {
      expect(refused(place([unlabelled], { ...echo, labels: { gpu: 'a100' } })).code).toBe('no_device');
    });

    it('refuses with no_device, not device_revoked, when the only devices are revoked and none was pinned', () => {
      const err = refused(place([revoked], echo));
      expect(err.code).toBe('no_device');
      expect(err.message).toBe('device f is revoked');
    });

    it('refuses with no_device when revoked devices are listed before a label miss', () => {
      expect(refused(place([revoked, unlabelled], { ...echo, labels: { gpu: 'a100' } })).code).toBe('no_device');
    });

    it('names every reason when several devices miss permanently', () => {
      const err = refused(place([noHarness, notAllowed], echo));
      expect(err.message).toBe(
        `no device can run this: harness shell is not installed on device c; "echo" is not on device d's allowlist; restart it with --allow to permit it`,
      );
    });

    it("gives the single device's reason alone when only one misses", () => {
      expect(refused(place([noHarness], echo)).message).toBe('harness shell is not installed on device c');
    });
  });

  describe('with a bad shell command', () => {
    it.each(['', '   ', "echo 'unterminated"])('throws bad_request for %j before judging any device', (prompt) => {
      expect(thrown(() => place([device('laptop')], { harness: 'shell', prompt })).code).toBe('bad_request');
      expect(thrown(() => place([], { harness: 'shell', prompt })).code).toBe('bad_request');
    });
  });
});

describe('describePlacement', () => {
  const names = new Map([
    ['dev_laptop', 'laptop'],
    ['dev_desk', 'desk'],
    ['dev_old', 'old'],
  ]);

  it('says where a session went, its score, each factor, the other fitting devices and why the rest were rejected', () => {
    const laptop = device('laptop', {}, { ramFree: 8 * GiB, load: [0.5, 0, 0] });
    const desk = device('desk', { running: 1 });
    const old = device('old', { online: false });
    const p = place([desk, laptop, old], echo);
    expect(describePlacement(p, names)).toBe(
      'laptop scored 173.8 (8.0 GiB free +80, 0.50 on 8 cpus +93.8, 0 running +0, priority 0 +0); others: desk 90; not: device old is offline',
    );
  });

  it('shows negative factors with their own sign', () => {
    const p = place([device('desk', { running: 2, priority: -1 })], echo);
    expect(describePlacement(p, names)).toBe(
      'desk scored 45 (4.0 GiB free +40, 2.00 on 8 cpus +75, 2 running -50, priority -1 -20)',
    );
  });

  it('leaves out the others and the rejections when there are none', () => {
    expect(describePlacement(place([device('laptop')], echo), names)).toBe(
      'laptop scored 115 (4.0 GiB free +40, 2.00 on 8 cpus +75, 0 running +0, priority 0 +0)',
    );
  });

  it('falls back to the device id when it has no name for it', () => {
    const text = describePlacement(place([device('laptop'), device('stranger', {}, { ramFree: 0 })], echo), new Map());
    expect(text.startsWith('dev_laptop scored 115 ')).toBe(true);
    expect(text.endsWith('; others: dev_stranger 75')).toBe(true);
  });

  it('says why a session waits', () => {
    expect(describePlacement(place([], echo), names)).toBe('waiting: no device is paired yet');
    expect(describePlacement(place([device('old', { online: false })], echo), names)).toBe(
      'waiting: device old is offline',
    );
  });

  it('says why a session was refused', () => {
    expect(describePlacement(place([device('laptop')], { ...echo, deviceId: 'nope' }), names)).toBe(
      'refused: no device nope',
    );
    expect(describePlacement(place([device('laptop')], { ...echo, prompt: 'rm x' }), names)).toBe(
      `refused: "rm" is not on device laptop's allowlist; restart it with --allow to permit it`,
    );
  });
});

describe('devices that cannot sandbox', () => {
  const bare = device('bare', { ownerId: 'usr_ada' }, { isolation: 'none' });

  it("take only their own owner's sessions, and say why to anyone else", () => {
    expect(place([bare], { ...echo, requesterId: 'usr_ada' })).toMatchObject({ kind: 'placed', deviceId: 'dev_bare' });
    const refused = place([bare], { ...echo, requesterId: 'usr_bob' });
    expect(refused.kind).toBe('refuse');
    if (refused.kind === 'refuse') {
      expect(refused.error.code).toBe('sandbox_unavailable');
      expect(refused.error.message).toContain('install bubblewrap');
    }
  });

  it('leave the session to a device that can sandbox it', () => {
    const boxed = device('boxed', { ownerId: 'usr_ada' }, { ramFree: 1 * GiB });
    expect(place([bare, boxed], { ...echo, requesterId: 'usr_bob' })).toMatchObject({
      kind: 'placed',
      deviceId: 'dev_boxed',
    });
  });
});
