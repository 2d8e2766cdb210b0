import type { DeviceView, SessionView } from '@fabric/protocol';

/** How many sessions the cockpit keeps: the newest, as `GET /api/sessions?limit=100` lists them. */
export const SESSION_LIMIT = 100;

/** The list with `view` in its place: newest first (created, then id, as the server orders), at most `limit`. */
export function upsertSession(list: readonly SessionView[], view: SessionView, limit = SESSION_LIMIT): SessionView[] {
  const next = list.filter((s) => s.id !== view.id);
  next.push(view);
  next.sort((a, b) => b.createdAt - a.createdAt || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0));
  return next.slice(0, limit);
}

/** The list with `view` in its place (or appended: devices are listed oldest first), or without `id` when it is gone. */
export function upsertDevice(list: readonly DeviceView[], id: string, view: DeviceView | null): DeviceView[] {
  if (view === null) return list.filter((d) => d.id !== id);
  const at = list.findIndex((d) => d.id === id);
  if (at === -1) return [...list, view];
  return list.map((d, i) => (i === at ? view : d));
}
