import { signal } from '@preact/signals';
import {
  isTerminal,
  routes,
  type BoardCard,
  type DeviceView,
  type MeResponse,
  type SessionView,
} from '@fabric/protocol';
import { api, ApiError, onSignedOut } from './api.js';
import { SESSION_LIMIT, upsertDevice, upsertSession } from './model/fleet.js';
import type { FuelView } from './model/fuel.js';

export type Me = MeResponse;

/** undefined: not known yet; null: signed out. */
export const me = signal<Me | null | undefined>(undefined);
export const devices = signal<DeviceView[]>([]);
export const sessions = signal<SessionView[]>([]);
export const fuel = signal<FuelView | null>(null);
export const board = signal<BoardCard[]>([]);
/** The live feed's state, shown in the header so a stale screen is never mistaken for a live one. */
export const live = signal<'connecting' | 'live' | 'offline'>('connecting');

onSignedOut.add(() => {
  me.value = null;
});

export async function loadMe(): Promise<void> {
  try {
    me.value = await api.me();
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) me.value = null;
    else throw err;
  }
}

export async function refreshDevices(): Promise<void> {
  devices.value = (await api.listDevices()).devices;
}

export async function refreshSessions(): Promise<void> {
  sessions.value = (await api.listSessions({ query: { limit: SESSION_LIMIT } })).sessions;
}

export async function refreshFuel(): Promise<void> {
  try {
    fuel.value = await api.fuel({ query: { tzOffset: new Date().getTimezoneOffset() } });
  } catch (err) {
    if (err instanceof ApiError && err.code === 'cloud_only') fuel.value = null;
    else throw err;
  }
}

export async function refreshBoard(): Promise<void> {
  board.value = (await api.listCards()).cards;
}

export function refreshAll(): Promise<unknown> {
  return Promise.allSettled([refreshDevices(), refreshSessions(), refreshFuel(), refreshBoard()]);
}

/** Coalesce bursts of changes into one refresh per kind. */
function debounced(fn: () => Promise<void>, ms = 150): () => void {
  let timer: ReturnType<typeof setTimeout> | null = null;
  return () => {
    if (timer) return;
    timer = setTimeout(() => {
      timer = null;
      fn().catch(() => {});
    }, ms);
  };
}

/**
 * Fleet changes name what changed; the cockpit fetches only that: the one
 * session (and its device, whose running count moves), the one device, and
 * the fuel report once a session has ended. Changes in one 150 ms burst are
 * fetched once each.
 */
const changed = { sessions: new Set<string>(), devices: new Set<string>(), fuel: false };
let flushing: ReturnType<typeof setTimeout> | null = null;

function schedule(): void {
  flushing ??= setTimeout(() => {
    flushing = null;
    void applyChanges();
  }, 150);
}

async function applyChanges(): Promise<void> {
  const sessionIds = [...changed.sessions];
  const deviceIds = [...changed.devices];
  const fuelToo = changed.fuel;
  changed.sessions.clear();
  changed.devices.clear();
  changed.fuel = false;
  await Promise.allSettled([
    ...sessionIds.map(async (id) => {
      sessions.value = upsertSession(sessions.value, await api.getSession({ params: { id } }));
    }),
    ...deviceIds.map(async (id) => {
      devices.value = upsertDevice(devices.value, id, await deviceOrGone(id));
    }),
    fuelToo ? refreshFuel() : Promise.resolve(),
  ]);
}

/** The device as this person sees it now; null once it is not theirs to see (revoked, unshared). */
async function deviceOrGone(id: string): Promise<DeviceView | null> {
  try {
    return await api.getDevice({ params: { id } });
  } catch (err) {
    if (err instanceof ApiError && (err.status === 404 || err.status === 403)) return null;
    throw err;
  }
}

function onFleet(env: { type: string; payload?: unknown }): void {
  if (env.type === 'fleet.device') {
    changed.devices.add((env.payload as { id: string }).id);
    schedule();
  } else if (env.type === 'fleet.session') {
    const change = env.payload as { id: string; status: string; deviceId: string | null };
    changed.sessions.add(change.id);
    if (change.deviceId !== null) changed.devices.add(change.deviceId);
    if (isTerminal(change.status as SessionView['status'])) changed.fuel = true;
    schedule();
  } else if (env.type === 'fleet.board') {
    onBoard();
  }
}

const onBoard = debounced(refreshBoard);

/**
 * The fleet feed: `/ws/browser` (authenticated by the session cookie) pushes
 * device, session and board changes; each fetches only what it names.
 * Reconnects with backoff and refreshes everything after a gap.
 */
export function connectFleet(): () => void {
  let ws: WebSocket | null = null;
  let attempt = 0;
  let stopped = false;
  let retry: ReturnType<typeof setTimeout> | null = null;
  const open = () => {
    if (stopped) return;
    live.value = 'connecting';
    ws = new WebSocket(
      `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}${routes.browserSocket.path}`,
      ['fabric.v1'],
    );
    ws.onopen = () => {
      attempt = 0;
      live.value = 'live';
      void refreshAll();
    };
    ws.onmessage = (m) => {
      onFleet(JSON.parse(String(m.data)) as { type: string; payload?: unknown });
    };
    ws.onclose = () => {
      live.value = 'offline';
      if (stopped) return;
      const delay = Math.min(15_000, 500 * 2 ** attempt++) * (0.5 + Math.random() / 2);
      retry = setTimeout(open, delay);
    };
  };
  open();
  return () => {
    stopped = true;
    if (retry) clearTimeout(retry);
    ws?.close();
  };
}
