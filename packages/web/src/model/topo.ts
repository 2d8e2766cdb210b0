import type { DeviceView, SessionStatus, SessionView } from '@fabric/protocol';
import { visible } from './text.js';

/**
 * TOPO's geometry: where planets (devices), ships (sessions) and fuel
 * depots (vault credentials) go on a map of a given pixel size. Pure and
 * deterministic, so the same fleet always draws the same map and the SVG
 * only has to paint it.
 */

const GiB = 1024 ** 3;
/** Height of the strip along the bottom that holds the fuel depots, when there are any. */
export const DEPOT_BAND = 64;
/** Space kept clear at the top for the map's readouts. */
export const HUD_TOP = 28;
/** Ships closer than this (px, along the orbit) would overlap; the next ring takes the rest. */
const SHIP_SPACING = 30;

/** Sessions that fly: they hold a device right now. */
export const FLYING: readonly SessionStatus[] = ['starting', 'running', 'lost'];

export type PlanetState = 'online' | 'offline' | 'draining';

export interface Planet {
  id: string;
  name: string;
  x: number;
  y: number;
  /** Body radius, from the device's RAM. */
  r: number;
  /** 0..1: the 1-minute load per CPU, clamped; drives the glow. */
  glow: number;
  /** 0..1: share of RAM in use, drawn as a gauge ring. */
  ramUsed: number;
  state: PlanetState;
  /** Radii of the orbit rings drawn around it (at least one, even when empty). */
  orbits: number[];
  /** Baseline of the name label, below the outermost ring. */
  labelY: number;
}

export interface Ship {
  id: string;
  deviceId: string;
  status: SessionStatus;
  /** Waiting on a person: a pending permission request. */
  attention: boolean;
  /** Centre of the orbit (the planet). */
  cx: number;
  cy: number;
  orbit: number;
  /** Where on the orbit it is at t = 0, in turns (0..1). */
  phase: number;
  /** Seconds per turn; inner orbits are quicker, as they should be. */
  period: number;
}

export interface Depot {
  name: string;
  x: number;
  y: number;
}

export interface Link {
  depot: string;
  ship: string;
}

export interface TopoLayout {
  width: number;
  height: number;
  planets: Planet[];
  ships: Ship[];
  depots: Depot[];
  links: Link[];
  /** Sessions waiting for a device: they have no planet to orbit yet. */
  queued: number;
  /** Size of ships and depots relative to their drawn size: bigger on roomy maps, never tiny. */
  markScale: number;
}

/** The grid that gives `n` equal cells in a w×h area the largest short side. */
export function gridFor(n: number, w: number, h: number): { cols: number; rows: number; cellW: number; cellH: number } {
  if (n <= 0) return { cols: 0, rows: 0, cellW: w, cellH: h };
  let best = { cols: 1, rows: n, cellW: w, cellH: h / n };
  let bestSide = Math.min(best.cellW, best.cellH);
  for (let cols = 2; cols <= n; cols++) {
    const rows = Math.ceil(n / cols);
    const side = Math.min(w / cols, h / rows);
    if (side > bestSide + 1e-9) {
      best = { cols, rows, cellW: w / cols, cellH: h / rows };
      bestSide = side;
    }
  }
  return best;
}

/** 0..1 on a log scale: 1 GiB or less is small, 128 GiB or more is the largest. */
export function ramScale(ramTotal: number): number {
  if (!(ramTotal > 0)) return 0;
  return clamp(Math.log2(ramTotal / GiB) / 7, 0, 1);
}

/** Planet radius in a cell whose short side is `side`. */
export function planetRadius(ramTotal: number, side: number): number {
  return Math.max(8, side * (0.07 + 0.08 * ramScale(ramTotal)));
}

/** How brightly a device glows: the 1-minute load per CPU, 0..1. Offline devices do not glow. */
export function glowFor(device: DeviceView): number {
  const c = device.capabilities;
  if (!device.online || !c) return 0;
  return clamp(c.load[0] / Math.max(1, c.cpus), 0, 1);
}

/**
 * Lay out the fleet on a `width`×`height` map. Devices sit on a grid in
 * the order they joined (then id), so a new device is appended and the
 * others keep their places when the grid shape allows; revoked devices are
 * left off. Every starting, running or lost session becomes a ship on an
 * orbit of its device, filling rings inside out, evenly spaced on each.
 * Each credential a flying session uses becomes a depot on the bottom strip,
 * linked to those ships.
 */
export function layoutTopo(
  devices: readonly DeviceView[],
  sessions: readonly SessionView[],
  width: number,
  height: number,
): TopoLayout {
  const fleet = devices
    .filter((d) => !d.revoked)
    .sort((a, b) => a.createdAt - b.createdAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const known = new Set(fleet.map((d) => d.id));
  const flying = sessions
    .filter((s) => FLYING.includes(s.status) && s.deviceId !== null && known.has(s.deviceId))
    .sort((a, b) => a.createdAt - b.createdAt || (a.id < b.id ? -1 : 1));
  const depotNames = [...new Set(flying.flatMap((s) => s.credentials))].sort();
  const queued = sessions.filter((s) => s.status === 'queued').length;

  const top = HUD_TOP;
  const bottom = depotNames.length ? DEPOT_BAND : 8;
  const areaH = Math.max(1, height - top - bottom);
  const grid = gridFor(fleet.length, width, areaH);
  const side = Math.min(grid.cellW, grid.cellH);

  const planets: Planet[] = [];
  const ships: Ship[] = [];
  fleet.forEach((d, i) => {
    const row = Math.floor(i / grid.cols);
    const inRow = row === grid.rows - 1 ? fleet.length - row * grid.cols : grid.cols;
    const rowOffset = ((grid.cols - inRow) * grid.cellW) / 2;
    const x = rowOffset + ((i % grid.cols) + 0.5) * grid.cellW;
    const y = top + (row + 0.5) * grid.cellH - side * 0.04;
    const c = d.capabilities;
    const r = planetRadius(c?.ramTotal ?? 0, side);
    const mine = flying.filter((s) => s.deviceId === d.id);
    const rings = orbitRings(r, side, mine.length);
    let k = 0;
    rings.forEach((ring) => {
      for (let j = 0; j < ring.count; j++, k++) {
        const s = mine[k]!;
        ships.push({
          id: s.id,
          deviceId: d.id,
          status: s.status,
          attention: s.pendingApprovals > 0,
          cx: round(x),
          cy: round(y),
          orbit: ring.radius,
          phase: (j + (ring.index % 2) * 0.5) / ring.count,
          period: round(clamp(9 * (ring.radius / 60) ** 1.5, 6, 60), 2),
        });
      }
    });
    const orbits = rings.length ? rings.map((ring) => ring.radius) : [firstOrbit(r, side)];
    const outer = orbits[orbits.length - 1]!;
    planets.push({
      id: d.id,
      name: visible(d.name),
      x: round(x),
      y: round(y),
      r: round(r, 1),
      glow: round(glowFor(d), 3),
      ramUsed: c && c.ramTotal > 0 ? round(clamp(1 - c.ramFree / c.ramTotal, 0, 1), 3) : 0,
      state: !d.online ? 'offline' : d.draining ? 'draining' : 'online',
      orbits,
      labelY: round(y + outer + 24),
    });
  });

  const depots: Depot[] = depotNames.map((name, i) => ({
    name,
    x: round(((i + 0.5) * width) / depotNames.length),
    y: round(height - DEPOT_BAND / 2 - 10),
  }));
  const links: Link[] = flying.flatMap((s) =>
    s.credentials.filter((n, i, all) => all.indexOf(n) === i).map((depot) => ({ depot, ship: s.id })),
  );
  const markScale = round(clamp(side / 300, 1, 1.5), 2);
  return { width, height, planets, ships, depots, links, queued, markScale };
}

/**
 * Orbit rings for `ships` ships around a planet of radius `r` in a cell of
 * short side `side`: the first ring just outside the planet, each next one
 * further out, each holding as many ships as fit at SHIP_SPACING. Past the
 * room in the cell the last ring takes everyone left, however tight.
 */
export function orbitRings(r: number, side: number, ships: number): { index: number; radius: number; count: number }[] {
  const first = firstOrbit(r, side);
  const step = Math.max(10, side * 0.055);
  const limit = Math.max(first, side * 0.36);
  const rings: { index: number; radius: number; count: number }[] = [];
  let left = ships;
  for (let index = 0; left > 0; index++) {
    const radius = first + index * step;
    const last = radius + step > limit;
    const fits = Math.max(1, Math.floor((2 * Math.PI * radius) / SHIP_SPACING));
    const count = last ? left : Math.min(left, fits);
    rings.push({ index, radius: round(radius, 1), count });
    left -= count;
  }
  return rings;
}

/** The innermost orbit: just clear of the planet. Drawn even with no ship on it. */
export function firstOrbit(r: number, side: number): number {
  return round(r + Math.max(12, side * 0.08), 1);
}

/** Where a ship is at `t` seconds: its point and its heading (degrees, along the orbit). */
export function shipAt(ship: Ship, t: number): { x: number; y: number; heading: number } {
  const turns = ship.phase + t / ship.period;
  const a = 2 * Math.PI * (turns - Math.floor(turns));
  return {
    x: ship.cx + ship.orbit * Math.cos(a),
    y: ship.cy + ship.orbit * Math.sin(a),
    heading: (a * 180) / Math.PI + 90,
  };
}

/** How a ship is drawn: flying normally, just launched, or cut off from its device. */
export function shipKind(status: SessionStatus): 'running' | 'starting' | 'lost' {
  return status === 'starting' ? 'starting' : status === 'lost' ? 'lost' : 'running';
}

function clamp(v: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, v));
}

function round(v: number, places = 1): number {
  const f = 10 ** places;
  return Math.round(v * f) / f;
}
