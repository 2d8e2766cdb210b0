import type { DeviceView, SessionView } from '@fabric/protocol';

export function bytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return `${n >= 10 || i === 0 ? Math.round(n) : n.toFixed(1)} ${units[i]}`;
}

export function ago(ms: number | null, now = Date.now()): string {
  if (ms === null) return 'never';
  const s = Math.max(0, Math.round((now - ms) / 1000));
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.floor(s / 60)}m ago`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ago`;
  return `${Math.floor(s / 86400)}d ago`;
}

/** Left-aligned columns, two spaces apart. */
export function table(rows: string[][]): string {
  const widths: number[] = [];
  for (const r of rows) r.forEach((c, i) => { widths[i] = Math.max(widths[i] ?? 0, c.length); });
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ')).join('\n');
}

export function truncate(s: string, n: number): string {
  const one = s.replace(/\s+/g, ' ');
  return one.length > n ? one.slice(0, n - 1) + '…' : one;
}

export function deviceRows(devices: DeviceView[]): string[][] {
  const rows = [['DEVICE', 'ID', 'STATE', 'RAM FREE/TOTAL', 'LOAD', 'CPUS', 'RUNNING', 'HARNESSES', 'SEEN']];
  for (const d of devices) {
    const c = d.capabilities;
    rows.push([
      d.name,
      d.id,
      d.revoked ? 'revoked' : d.online ? (d.draining ? 'draining' : 'online') : 'offline',
      c ? `${bytes(c.ramFree)}/${bytes(c.ramTotal)}` : '-',
      c ? c.load.map((l) => l.toFixed(2)).join(' ') : '-',
      c ? String(c.cpus) : '-',
      String(d.runningSessions),
      c ? c.harnesses.map((h) => (h.version ? `${h.name}@${h.version}` : h.name)).join(',') : '-',
      ago(d.lastSeenAt),
    ]);
  }
  return rows;
}

export function sessionRows(sessions: SessionView[]): string[][] {
  const rows = [['SESSION', 'STATUS', 'HARNESS', 'DEVICE', 'EXIT', 'CREATED', 'PROMPT']];
  for (const s of sessions) {
    rows.push([
      s.id,
      s.status,
      s.harness,
      s.deviceName ?? s.deviceId ?? '-',
      s.exitCode === null ? (s.signal ?? '-') : String(s.exitCode),
      ago(s.createdAt),
      truncate(s.prompt, 40),
    ]);
  }
  return rows;
}

/**
 * A JSON value as an indented outline a person can read: `key: value` lines,
 * lists as `- ` items, nested objects indented. Used where a command has no
 * table of its own; `--json` gives the exact value.
 */
export function renderPlain(value: unknown, indent = ''): string {
  if (value === null || value === undefined) return `${indent}-`;
  if (typeof value !== 'object') return `${indent}${String(value)}`;
  if (Array.isArray(value)) {
    if (value.length === 0) return `${indent}(none)`;
    return value.map((item) => {
      const inner = renderPlain(item, `${indent}  `);
      return `${indent}- ${inner.slice(indent.length + 2)}`;
    }).join('\n');
  }
  const entries = Object.entries(value as Record<string, unknown>);
  if (entries.length === 0) return `${indent}(empty)`;
  return entries.map(([k, v]) => {
    if (v !== null && typeof v === 'object' && (Array.isArray(v) ? v.length > 0 : Object.keys(v).length > 0)) {
      return `${indent}${k}:\n${renderPlain(v, `${indent}  `)}`;
    }
    const scalar = typeof v === 'string' && v.includes('\n') ? `|\n${v.split('\n').map((l) => `${indent}  ${l}`).join('\n')}` : renderPlain(v, '');
    return `${indent}${k}: ${scalar}`;
  }).join('\n');
}
