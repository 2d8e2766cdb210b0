import { describe, expect, it } from 'vitest';
import type { DeviceView, SessionView } from '@fabric/protocol';
import {
  DEPOT_BAND,
  firstOrbit,
  glowFor,
  gridFor,
  layoutTopo,
  orbitRings,
  planetRadius,
  ramScale,
  shipAt,
  shipKind,
} from './topo.js';

const GiB = 1024 ** 3;

function device(
  id: string,
  createdAt: number,
  extra: Partial<DeviceView> = {},
  caps: { ramTotal?: number; ramFree?: number; load?: number; cpus?: number } = {},
): DeviceView {
  return {
    id,
    name: id.replace('dev_', ''),
    online: true,
    revoked: false,
    createdAt,
    lastSeenAt: createdAt,
    runningSessions: 0,
    draining: false,
    priority: 0,
    vaultRecipient: null,
    capabilities: {
      hostname: id,
      platform: 'linux',
      arch: 'arm64',
      cpus: caps.cpus ?? 4,
      ramTotal: caps.ramTotal ?? 8 * GiB,
      ramFree: caps.ramFree ?? 2 * GiB,
      load: [caps.load ?? 1, 0, 0],
      harnesses: [{ name: 'shell', version: null }],
      labels: {},
      allowlist: ['echo'],
      daemonVersion: '0.1.0',
      runningSessions: 0,
      isolation: 'bwrap',
    },
    ...extra,
  };
}

function session(
  id: string,
  deviceId: string | null,
  status: SessionView['status'],
  createdAt: number,
  credentials: string[] = [],
): SessionView {
  return {
    id,
    harness: 'shell',
    prompt: 'sleep 30',
    status,
    deviceId,
    deviceName: deviceId,
    labels: {},
    cwd: null,
    exitCode: null,
    signal: null,
    errorCode: null,
    errorMessage: null,
    createdBy: 'usr_1',
    createdAt,
    startedAt: createdAt,
    endedAt: null,
    lastSeq: 0,
    permissionMode: 'ask',
    model: null,
    harnessSessionId: null,
    parentId: null,
    placement: null,
    queuedUntil: null,
    pendingApprovals: 0,
    credentials,
  };
}

describe('the planet grid', () => {
  it('picks the grid whose cells have the largest short side', () => {
    expect(gridFor(1, 1440, 800)).toMatchObject({ cols: 1, rows: 1 });
    expect(gridFor(2, 1440, 800)).toMatchObject({ cols: 2, rows: 1 });
    expect(gridFor(2, 375, 600)).toMatchObject({ cols: 1, rows: 2 });
    expect(gridFor(4, 1440, 800)).toMatchObject({ cols: 2, rows: 2 });
    expect(gridFor(6, 1440, 800)).toMatchObject({ cols: 3, rows: 2 });
    expect(gridFor(5, 375, 600)).toMatchObject({ cols: 2, rows: 3 });
    expect(gridFor(0, 100, 100)).toMatchObject({ cols: 0, rows: 0 });
  });

  it('places devices in the order they joined, whatever order they arrive in, and leaves revoked ones off', () => {
    const a = device('dev_zzz', 1);
    const b = device('dev_aaa', 2);
    const gone = device('dev_old', 0, { revoked: true });
    const one = layoutTopo([b, gone, a], [], 1440, 800);
    const two = layoutTopo([a, b, gone], [], 1440, 800);
    expect(one).toEqual(two);
    expect(one.planets.map((p) => p.id)).toEqual(['dev_zzz', 'dev_aaa']);
    expect(one.planets[0]!.x).toBeLessThan(one.planets[1]!.x);
    expect(one.planets[0]!.y).toBe(one.planets[1]!.y);
  });

  it('keeps the first planet where it was when a device joins in the same grid shape', () => {
    const fleet = [device('dev_a', 1), device('dev_b', 2), device('dev_c', 3)];
    const before = layoutTopo(fleet.slice(0, 2), [], 375, 900);
    const after = layoutTopo(fleet, [], 375, 900);
    expect(before.planets[0]!.x).toBe(after.planets[0]!.x);
    expect(after.planets).toHaveLength(3);
  });

  it('centres a short last row', () => {
    const map = layoutTopo([device('dev_a', 1), device('dev_b', 2), device('dev_c', 3)], [], 800, 800);
    const [a, b, c] = map.planets;
    expect(a!.y).toBe(b!.y);
    expect(c!.y).toBeGreaterThan(a!.y);
    expect(c!.x).toBe(400);
  });

  it('keeps every planet and its rings inside the map', () => {
    for (const [w, h] of [
      [375, 520],
      [1100, 760],
    ] as const) {
      const fleet = Array.from({ length: 7 }, (_, i) => device(`dev_${i}`, i, {}, { ramTotal: 2 ** i * GiB }));
      const map = layoutTopo(fleet, [], w, h);
      for (const p of map.planets) {
        const outer = p.orbits[p.orbits.length - 1]!;
        expect(p.x - outer).toBeGreaterThanOrEqual(0);
        expect(p.x + outer).toBeLessThanOrEqual(w);
        expect(p.y - outer).toBeGreaterThanOrEqual(0);
        expect(p.y + outer).toBeLessThanOrEqual(h);
      }
    }
  });
});

describe("a planet's look", () => {
  it('grows with RAM on a log scale, within bounds', () => {
    expect([0, 0.5, 1, 8, 128, 1024].map((g) => ramScale(g * GiB))).toEqual([0, 0, 0, 3 / 7, 1, 1]);
    expect(planetRadius(16 * GiB, 400)).toBeGreaterThan(planetRadius(2 * GiB, 400));
    expect(planetRadius(0, 50)).toBe(8);
  });

  it('glows by load per CPU, clamped, and not at all when offline', () => {
    expect(glowFor(device('dev_a', 1, {}, { load: 2, cpus: 4 }))).toBe(0.5);
    expect(glowFor(device('dev_a', 1, {}, { load: 9, cpus: 4 }))).toBe(1);
    expect(glowFor(device('dev_a', 1, {}, { load: 0.5, cpus: 0 }))).toBe(0.5);
    expect(glowFor(device('dev_a', 1, { online: false }, { load: 3 }))).toBe(0);
    expect(glowFor(device('dev_a', 1, { capabilities: null }))).toBe(0);
  });

  it('says whether it is online, draining or offline and how much RAM is used', () => {
    const map = layoutTopo(
      [
        device('dev_a', 1, {}, { ramTotal: 8 * GiB, ramFree: 2 * GiB }),
        device('dev_b', 2, { draining: true }),
        device('dev_c', 3, { online: false }),
      ],
      [],
      1440,
      800,
    );
    expect(map.planets.map((p) => p.state)).toEqual(['online', 'draining', 'offline']);
    expect(map.planets[0]!.ramUsed).toBe(0.75);
  });

  it('draws ships and depots larger on a roomy map, never smaller than drawn', () => {
    expect(layoutTopo([device('dev_a', 1)], [], 1200, 900).markScale).toBe(1.5);
    expect(layoutTopo([device('dev_a', 1), device('dev_b', 2)], [], 375, 420).markScale).toBe(1);
  });

  it('has one empty orbit ring even with no ships, and a label below it', () => {
    const [p] = layoutTopo([device('dev_a', 1)], [], 800, 600).planets;
    expect(p!.orbits).toEqual([firstOrbit(p!.r, 600 - 28 - 8)]);
    expect(p!.labelY).toBeGreaterThan(p!.y + p!.orbits[0]!);
  });
});

describe('ships', () => {
  const fleet = [device('dev_a', 1), device('dev_b', 2)];

  it('flies one ship per starting, running or lost session, around the device that runs it', () => {
    const map = layoutTopo(
      fleet,
      [
        session('ses_1', 'dev_a', 'running', 10),
        session('ses_2', 'dev_b', 'starting', 11),
        session('ses_3', 'dev_a', 'succeeded', 12),
        session('ses_4', null, 'queued', 13),
        session('ses_5', 'dev_b', 'lost', 14),
        session('ses_6', 'dev_gone', 'running', 15),
      ],
      1440,
      800,
    );
    expect(map.ships.map((s) => [s.id, s.deviceId, s.status])).toEqual([
      ['ses_1', 'dev_a', 'running'],
      ['ses_2', 'dev_b', 'starting'],
      ['ses_5', 'dev_b', 'lost'],
    ]);
    const a = map.planets[0]!;
    expect(map.ships[0]).toMatchObject({ cx: a.x, cy: a.y });
    expect(map.ships[0]!.orbit).toBeGreaterThan(a.r);
    expect(map.queued).toBe(1);
  });

  it('spaces ships on a ring evenly and moves to the next ring when one is full', () => {
    expect(orbitRings(20, 400, 0)).toEqual([]);
    const rings = orbitRings(20, 400, 14);
    expect(rings.map((r) => r.count)).toEqual([10, 4]);
    expect(rings[1]!.radius).toBeGreaterThan(rings[0]!.radius);
    const crowded = orbitRings(20, 120, 40);
    expect(crowded.reduce((n, r) => n + r.count, 0)).toBe(40);
    expect(crowded[crowded.length - 1]!.radius).toBeLessThanOrEqual(Math.max(120 * 0.36, crowded[0]!.radius));

    const sessions = [1, 2, 3].map((i) => session(`ses_${i}`, 'dev_a', 'running', i));
    const map = layoutTopo(fleet, sessions, 1440, 800);
    expect(map.ships.map((s) => s.phase)).toEqual([0, 1 / 3, 2 / 3]);
    expect(new Set(map.ships.map((s) => s.orbit)).size).toBe(1);
    expect(map.planets[0]!.orbits).toEqual([map.ships[0]!.orbit]);
  });

  it('marks a ship that waits on a person', () => {
    const s = { ...session('ses_1', 'dev_a', 'running', 1), pendingApprovals: 1 };
    expect(layoutTopo(fleet, [s], 800, 600).ships[0]!.attention).toBe(true);
  });

  it('moves along its orbit with time, heading along it, a full turn per period', () => {
    const ship = {
      id: 's',
      deviceId: 'd',
      status: 'running' as const,
      attention: false,
      cx: 100,
      cy: 100,
      orbit: 50,
      phase: 0,
      period: 10,
    };
    const at0 = shipAt(ship, 0);
    expect([at0.x, at0.y, at0.heading]).toEqual([150, 100, 90]);
    const quarter = shipAt(ship, 2.5);
    expect(quarter.x).toBeCloseTo(100);
    expect(quarter.y).toBeCloseTo(150);
    expect(quarter.heading).toBeCloseTo(180);
    expect(shipAt(ship, 10).x).toBeCloseTo(150);
    expect(shipAt({ ...ship, phase: 0.5 }, 0).x).toBeCloseTo(50);
  });

  it('turns quicker on inner orbits', () => {
    const map = layoutTopo(
      [device('dev_a', 1)],
      Array.from({ length: 40 }, (_, i) => session(`ses_${i}`, 'dev_a', 'running', i)),
      1440,
      800,
    );
    const inner = map.ships[0]!;
    const outer = map.ships[map.ships.length - 1]!;
    expect(outer.orbit).toBeGreaterThan(inner.orbit);
    expect(outer.period).toBeGreaterThan(inner.period);
  });

  it('draws each status its own way', () => {
    expect(['running', 'starting', 'lost'].map((s) => shipKind(s as never))).toEqual(['running', 'starting', 'lost']);
  });
});

describe('fuel depots', () => {
  const fleet = [device('dev_a', 1), device('dev_b', 2)];

  it('makes one depot per credential a flying session uses, on the bottom strip, linked to each ship using it', () => {
    const map = layoutTopo(
      fleet,
      [
        session('ses_1', 'dev_a', 'running', 1, ['GITHUB_TOKEN', 'ANTHROPIC_API_KEY']),
        session('ses_2', 'dev_b', 'running', 2, ['GITHUB_TOKEN']),
        session('ses_3', 'dev_b', 'succeeded', 3, ['OLD_KEY']),
      ],
      1000,
      700,
    );
    expect(map.depots.map((d) => d.name)).toEqual(['ANTHROPIC_API_KEY', 'GITHUB_TOKEN']);
    expect(map.depots.map((d) => d.x)).toEqual([250, 750]);
    for (const d of map.depots) expect(d.y).toBeGreaterThan(700 - DEPOT_BAND);
    expect(map.links).toEqual([
      { depot: 'GITHUB_TOKEN', ship: 'ses_1' },
      { depot: 'ANTHROPIC_API_KEY', ship: 'ses_1' },
      { depot: 'GITHUB_TOKEN', ship: 'ses_2' },
    ]);
  });

  it('keeps planets clear of the depot strip', () => {
    const map = layoutTopo(fleet, [session('ses_1', 'dev_a', 'running', 1, ['K'])], 375, 520);
    for (const p of map.planets) expect(p.y + p.orbits[p.orbits.length - 1]!).toBeLessThan(520 - DEPOT_BAND);
  });

  it('has no depots or strip when no flying session uses a credential', () => {
    const map = layoutTopo(fleet, [session('ses_1', 'dev_a', 'running', 1)], 375, 520);
    expect(map.depots).toEqual([]);
    expect(map.links).toEqual([]);
  });
});
