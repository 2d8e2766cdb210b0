import { access } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { FabricError, type ServiceInfo } from '@fabric/protocol';
import { runCommand, type CommandResult } from './exec.js';

/**
 * Where to look for systemd. Both are injectable so tests can stand in a
 * temp dir and a fake `systemctl` script for the real thing.
 */
export interface SystemdOptions {
  /** Exists exactly when systemd is the running init (sd_booted(3)). Default `/run/systemd/system`. */
  probePath?: string;
  /** The systemctl binary. Default: the first of /usr/bin/systemctl, /bin/systemctl that exists. */
  systemctl?: string;
  /** How long one systemctl call may take. Default 60 s (a restart waits for the service). */
  timeoutMs?: number;
}

const DEFAULT_PROBE = '/run/systemd/system';

/** The fixed argv of the service listing; nothing from a caller is ever added to it. */
export const LIST_SERVICES_ARGS = [
  'list-units',
  '--type=service',
  '--all',
  '--plain',
  '--no-legend',
  '--no-pager',
] as const;

/** Unit types systemd knows; a name ending in one of these names that type. */
const UNIT_SUFFIXES = [
  'service',
  'socket',
  'target',
  'device',
  'mount',
  'automount',
  'swap',
  'timer',
  'path',
  'slice',
  'scope',
];

function systemctlPath(opts: SystemdOptions): string {
  if (opts.systemctl) return opts.systemctl;
  return ['/usr/bin/systemctl', '/bin/systemctl'].find((p) => existsSync(p)) ?? 'systemctl';
}

/** Whether systemd runs this machine. */
export async function hasSystemd(opts: SystemdOptions = {}): Promise<boolean> {
  try {
    await access(opts.probePath ?? DEFAULT_PROBE);
    return true;
  } catch {
    return false;
  }
}

/** Throws `unsupported` unless systemd runs this machine. */
export async function requireSystemd(opts: SystemdOptions = {}): Promise<void> {
  if (await hasSystemd(opts)) return;
  throw new FabricError(
    'unsupported',
    `this machine does not run systemd: services can be listed and managed only where systemd is the init system (${process.platform})`,
  );
}

/**
 * Run systemctl with `args` (fixed strings and already validated unit
 * names only). A systemctl that cannot be started is `unsupported`.
 */
export async function systemctl(args: readonly string[], opts: SystemdOptions = {}): Promise<CommandResult> {
  // No pager, no colours, no password prompt: the daemon has no terminal to answer one.
  const env = { ...process.env, SYSTEMD_COLORS: '0', SYSTEMD_PAGER: '', LC_ALL: 'C' };
  try {
    return await runCommand(systemctlPath(opts), args, { timeoutMs: opts.timeoutMs ?? 60_000, env });
  } catch (err) {
    throw new FabricError(
      'unsupported',
      `systemctl could not be run (${(err as NodeJS.ErrnoException).code ?? 'error'}): is systemd installed?`,
    );
  }
}

/**
 * Parse `systemctl list-units --plain --no-legend` output: one unit a line,
 * `UNIT LOAD ACTIVE SUB DESCRIPTION…`, columns padded with spaces. Some
 * versions still mark failed or missing units with a leading `●` or `*`.
 * Lines that do not have the four state columns are skipped.
 */
export function parseListUnits(stdout: string): ServiceInfo[] {
  const services: ServiceInfo[] = [];
  for (const raw of stdout.split('\n')) {
    const line = raw.trim().replace(/^[●*]\s+/u, '');
    const m = /^(\S+)\s+(\S+)\s+(\S+)\s+(\S+)(?:\s+(.*))?$/.exec(line);
    if (!m) continue;
    services.push({ name: m[1]!, load: m[2]!, active: m[3]!, sub: m[4]!, description: (m[5] ?? '').trim() });
  }
  return services;
}

/** Which services a `services` query wants. */
export type ServiceStateFilter = 'running' | 'failed' | 'all';

/** The services systemd knows, filtered in JS (never by a caller string handed to systemctl). Throws `unsupported` without systemd. */
export async function listServices(state: ServiceStateFilter, opts: SystemdOptions = {}): Promise<ServiceInfo[]> {
  await requireSystemd(opts);
  const run = await systemctl(LIST_SERVICES_ARGS, { ...opts, timeoutMs: opts.timeoutMs ?? 15_000 });
  if (run.code !== 0) throw new FabricError('internal', `systemctl list-units failed (exit ${run.code ?? 'signal'})`);
  const all = parseListUnits(run.stdout);
  if (state === 'running') return all.filter((s) => s.sub === 'running');
  if (state === 'failed') return all.filter((s) => s.active === 'failed');
  return all;
}

/**
 * The full unit name for a validated service name: `nginx` → `nginx.service`.
 * Only services may be acted on: a name ending in another unit type
 * (`reboot.target`, `tmp.mount`) is `bad_request`. As systemctl does, a name
 * whose last dot-part is no unit type gets `.service` added.
 */
export function serviceUnitName(name: string): string {
  const dot = name.lastIndexOf('.');
  const suffix = dot >= 0 ? name.slice(dot + 1) : '';
  if (suffix === 'service') {
    if (dot === 0) throw new FabricError('bad_request', 'name the service, e.g. "nginx" or "nginx.service"');
    return name;
  }
  if (UNIT_SUFFIXES.includes(suffix))
    throw new FabricError('bad_request', `only services can be managed, not a .${suffix} unit`);
  return `${name}.service`;
}
