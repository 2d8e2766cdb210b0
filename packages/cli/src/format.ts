import type { DeviceView, SessionView } from '@fabric/protocol';

/**
 * Characters that must never reach a terminal raw from data: C0 controls
 * (ESC starts escape sequences), DEL, C1 controls (0x9b is a one-byte CSI),
 * and the invisible format characters that reorder or hide text (bidi
 * embeddings, overrides and isolates, LRM/RLM/ALM, line and paragraph
 * separators, zero-width characters, BOM).
 */
// eslint-disable-next-line no-control-regex -- these match the control characters they strip
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]/g;
const UNSAFE_BUT_NEWLINE =
  // eslint-disable-next-line no-control-regex -- these match the control characters they strip
  /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]/g;
/** What a program's own output may keep: newlines and tabs lay it out; everything else above is escaped. */
const UNSAFE_IN_OUTPUT =
  // eslint-disable-next-line no-control-regex -- these match the control characters they strip
  /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]/g;
const SHORT: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/**
 * A session's output as it may reach a terminal: newlines and tabs as they
 * are, every other control or invisible formatting character as a visible
 * escape, so a session (perhaps another person's) cannot move the cursor,
 * retitle the window or hide text in the viewer's terminal. `--json` carries
 * the output exactly as it came.
 */
export function printableOutput(s: string): string {
  return s.replace(UNSAFE_IN_OUTPUT, escapeChar);
}

function escapeChar(ch: string): string {
  const code = ch.charCodeAt(0);
  return (
    SHORT[ch] ??
    (code < 0x100 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`)
  );
}

/**
 * `s` as a person may safely see it in a terminal: every control or
 * invisible formatting character becomes a visible escape (ESC as `\x1b`,
 * NUL as `\x00`, a newline as `\n`, U+202E as `\u202e`). Data from the
 * control plane (names, prompts, labels, messages) goes through this before
 * it is printed, since old rows may predate the schema's refusal of such
 * characters. `multiline` keeps newlines for fields printed as blocks.
 * `--json` output does not use it: JSON escapes control characters itself.
 */
export function printable(s: string, multiline = false): string {
  return s.replace(multiline ? UNSAFE_BUT_NEWLINE : UNSAFE, escapeChar);
}

export function bytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${n >= 10 || i === 0 ? Math.round(n) : n.toFixed(1)} ${units[i]}`;
}

/** An epoch-millisecond time as a person reads it: `YYYY-MM-DD HH:MM:SS` in the local time zone. */
export function localTime(ms: number): string {
  const d = new Date(ms);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

/** Seconds as the two largest units: `3d 4h`, `2h 5m`, `42s`. */
export function duration(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  const [d, h, m] = [Math.floor(s / 86400), Math.floor((s % 86400) / 3600), Math.floor((s % 3600) / 60)];
  if (d > 0) return `${d}d ${h}h`;
  if (h > 0) return `${h}h ${m}m`;
  if (m > 0) return `${m}m ${s % 60}s`;
  return `${s}s`;
}

export function ago(ms: number | null, now = Date.now()): string {
  if (ms === null) return 'never';
  const s = Math.max(0, Math.round((now - ms) / 1000));
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.floor(s / 60)}m ago`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ago`;
  return `${Math.floor(s / 86400)}d ago`;
}

/** Left-aligned columns, two spaces apart; every cell is one line, shown {@link printable}. */
export function table(cells: string[][]): string {
  const rows = cells.map((r) => r.map((c) => printable(c)));
  const widths: number[] = [];
  for (const r of rows)
    r.forEach((c, i) => {
      widths[i] = Math.max(widths[i] ?? 0, c.length);
    });
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ')).join('\n');
}

/** `s` on one line of at most `n` characters (whitespace runs become one space), shown {@link printable}. */
export function truncate(s: string, n: number): string {
  const one = s.replace(/\s+/g, ' ');
  return printable(one.length > n ? one.slice(0, n - 1) + '…' : one);
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

/** Epoch milliseconds between 2001 and 2286: a number named like a time in that range is one. */
const isEpochMs = (n: number) => Number.isFinite(n) && n >= 1e12 && n < 1e13;

/**
 * A number as a person reads it, judged by its key: `…Bytes` and `bytes`
 * as KiB/MiB/GiB, `at`, `ts`, `…At` and `…_at` holding epoch milliseconds
 * as local times, `…Seconds` as a duration; other fractions to two decimal
 * places; integers as they are.
 */
export function humanNumber(key: string, n: number): string {
  if (/Bytes$|^bytes$|_bytes$/.test(key) && n >= 0) return bytes(n);
  if (/^(at|ts)$|[a-z]At$|_at$/.test(key) && isEpochMs(n)) return localTime(n);
  if (/Seconds$|_seconds$/.test(key) && n >= 0) return duration(n);
  // A measured fraction (a CPU percentage) to two places: 15.79, not 15.789473684210526.
  return Number.isInteger(n) ? String(n) : String(Math.round(n * 100) / 100);
}

/**
 * A JSON value as an indented outline a person can read: `key: value` lines,
 * lists as `- ` items, nested objects indented, sizes, times and durations
 * made readable (see humanNumber). Used where a command has no table of its
 * own; `--json` gives the exact value.
 */
export function renderPlain(value: unknown, indent = '', key = ''): string {
  if (value === null || value === undefined) return `${indent}-`;
  if (typeof value === 'number') return `${indent}${humanNumber(key, value)}`;
  // eslint-disable-next-line @typescript-eslint/no-base-to-string -- a primitive: string, boolean, bigint or symbol
  if (typeof value !== 'object') return `${indent}${printable(String(value))}`;
  if (Array.isArray(value)) {
    if (value.length === 0) return `${indent}(none)`;
    return value
      .map((item) => {
        const inner = renderPlain(item, `${indent}  `, key);
        return `${indent}- ${inner.slice(indent.length + 2)}`;
      })
      .join('\n');
  }
  const entries = Object.entries(value as Record<string, unknown>);
  if (entries.length === 0) return `${indent}(empty)`;
  return entries
    .map(([k, v]) => {
      if (v !== null && typeof v === 'object' && (Array.isArray(v) ? v.length > 0 : Object.keys(v).length > 0)) {
        return `${indent}${printable(k)}:\n${renderPlain(v, `${indent}  `, k)}`;
      }
      const scalar =
        typeof v === 'string' && v.includes('\n')
          ? `|\n${v
              .split('\n')
              .map((l) => `${indent}  ${printable(l)}`)
              .join('\n')}`
          : renderPlain(v, '', k);
      return `${indent}${printable(k)}: ${scalar}`;
    })
    .join('\n');
}
