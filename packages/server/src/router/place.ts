import { FabricError, splitCommandLine, type CapabilityDigest, type HarnessName, type Labels } from '@fabric/protocol';

/** What the router knows about one device when it places a session. */
export interface DeviceState {
  id: string;
  name: string;
  online: boolean;
  revoked: boolean;
  draining: boolean;
  /** Owner-set preference; each point is worth as much as 2 GiB of free RAM. */
  priority: number;
  capabilities: CapabilityDigest | null;
  /** Sessions the control plane has starting or running there. */
  running: number;
  /** The device's vault recipient (age1…), if it made one at pairing. */
  vaultRecipient?: string | null;
  /** Who paired it, that account's role, and who it is shared with (user ids): the placement policy's inputs. */
  ownerId?: string;
  ownerRole?: 'owner' | 'member' | null;
  sharedWith?: readonly string[];
}

export interface PlacementRequest {
  harness: HarnessName;
  prompt: string;
  /** Pin: a device id or name. */
  deviceId?: string | undefined;
  /** Pin: every label must match. */
  labels?: Labels | undefined;
  /** Devices already tried for this session (they did not acknowledge it). */
  exclude?: ReadonlySet<string>;
  /** The session needs vault credentials: only these recipients can decrypt them. */
  vaultRecipients?: readonly string[] | undefined;
  /** Who asked: a device that cannot sandbox runs only its own owner's sessions. */
  requesterId?: string | undefined;
}

export interface Factor {
  name: 'ram' | 'load' | 'running' | 'priority';
  value: string;
  points: number;
}

/** One device's verdict: fits with a score, or why not and whether waiting could change that. */
export type Verdict =
  | { device: string; fits: true; score: number; factors: Factor[] }
  | { device: string; fits: false; code: FabricError['code']; reason: string; permanent: boolean };

export type Placement =
  | { kind: 'placed'; deviceId: string; score: number; factors: Factor[]; verdicts: Verdict[] }
  | { kind: 'wait'; reason: string; verdicts: Verdict[] }
  | { kind: 'refuse'; error: FabricError; verdicts: Verdict[] };

const GiB = 1024 ** 3;

/**
 * Score a device that passed the hard filters. Higher is better:
 * - ram: 10 points per free GiB, up to 16 GiB (160);
 * - load: up to 100 points, scaled down by the 1-minute load per CPU (0 at load ≥ CPUs);
 * - running: minus 25 points per session already starting or running there;
 * - priority: 20 points per priority step.
 */
export function score(d: DeviceState): { score: number; factors: Factor[] } {
  const caps = d.capabilities!;
  const freeGiB = caps.ramFree / GiB;
  const perCpu = caps.cpus > 0 ? caps.load[0] / caps.cpus : 1;
  const factors: Factor[] = [
    { name: 'ram', value: `${freeGiB.toFixed(1)} GiB free`, points: round(Math.min(freeGiB, 16) * 10) },
    {
      name: 'load',
      value: `${caps.load[0].toFixed(2)} on ${caps.cpus} cpus`,
      points: round(Math.max(0, 1 - perCpu) * 100),
    },
    { name: 'running', value: `${d.running} running`, points: 0 - 25 * d.running },
    { name: 'priority', value: `priority ${d.priority}`, points: 20 * d.priority },
  ];
  return { score: round(factors.reduce((s, f) => s + f.points, 0)), factors };
}

function round(n: number): number {
  return Math.round(n * 10) / 10;
}

/** argv[0] of a shell prompt; throws `bad_request` for an empty or unparseable command. */
export function shellProgram(prompt: string): string {
  let argv: string[];
  try {
    argv = splitCommandLine(prompt);
  } catch (err) {
    throw new FabricError('bad_request', `command: ${(err as Error).message}`);
  }
  if (argv.length === 0 || !argv[0]) throw new FabricError('bad_request', 'command is empty');
  return argv[0];
}

/**
 * The hard filters, in order: revoked, labels, harness installed, vault
 * recipient, a sandbox for anyone but the device's owner, allowlist
 * (permanent: only the owner's reconfiguration changes them), then online,
 * not draining, not already tried (transient: waiting may change them).
 * A device that never reported capabilities is judged transiently.
 */
export function judge(d: DeviceState, req: PlacementRequest): Verdict {
  const no = (code: FabricError['code'], reason: string, permanent: boolean): Verdict => ({
    device: d.id,
    fits: false,
    code,
    reason,
    permanent,
  });
  if (d.revoked) return no('device_revoked', `device ${d.name} is revoked`, true);
  const caps = d.capabilities;
  if (caps) {
    for (const [k, v] of Object.entries(req.labels ?? {})) {
      if (caps.labels[k] !== v) return no('no_device', `device ${d.name} lacks label ${k}=${v}`, true);
    }
    if (!caps.harnesses.some((h) => h.name === req.harness)) {
      return no('harness_unavailable', `harness ${req.harness} is not installed on device ${d.name}`, true);
    }
    if (req.vaultRecipients && !(d.vaultRecipient && req.vaultRecipients.includes(d.vaultRecipient))) {
      return no(
        'credential_unavailable',
        `device ${d.name} is not a vault recipient, so it cannot decrypt credentials; run "optimal vault enrol"`,
        true,
      );
    }
    if (
      caps.isolation === 'none' &&
      req.requesterId !== undefined &&
      d.ownerId !== undefined &&
      d.ownerId !== req.requesterId
    ) {
      return no(
        'sandbox_unavailable',
        `device ${d.name} cannot sandbox sessions (isolation: none — install bubblewrap there), so it runs only its owner's`,
        true,
      );
    }
    if (req.harness === 'shell') {
      const program = shellProgram(req.prompt);
      if (!caps.allowlist.includes(program)) {
        return no(
          'command_not_allowed',
          `"${program.slice(0, 64)}" is not on device ${d.name}'s allowlist; restart it with --allow to permit it`,
          true,
        );
      }
    }
  }
  if (!d.online || !caps) return no('device_offline', `device ${d.name} is offline`, false);
  if (d.draining) return no('device_offline', `device ${d.name} is draining`, false);
  if (req.exclude?.has(d.id)) return no('device_timeout', `device ${d.name} did not acknowledge this session`, false);
  return { device: d.id, fits: true, ...score(d) };
}

/**
 * Place a session. The best-scoring fitting device wins (ties: the lower
 * id, so the choice is stable). Nothing fits: refuse when no device could
 * ever take it as configured (the most telling reason first:
 * `command_not_allowed`, then `harness_unavailable`, then labels), otherwise
 * wait. A pinned device is judged alone; one that does not exist is refused.
 */
export function place(devices: readonly DeviceState[], req: PlacementRequest): Placement {
  if (req.harness === 'shell') shellProgram(req.prompt);
  let pool = devices;
  if (req.deviceId) {
    const pinned =
      devices.find((d) => d.id === req.deviceId) ??
      devices.find((d) => d.name === req.deviceId && !d.revoked) ??
      devices.find((d) => d.name === req.deviceId);
    if (!pinned)
      return { kind: 'refuse', error: new FabricError('device_not_found', `no device ${req.deviceId}`), verdicts: [] };
    pool = [pinned];
  }
  const verdicts = pool.map((d) => judge(d, req));
  const fitting = verdicts
    .filter((v): v is Extract<Verdict, { fits: true }> => v.fits)
    .sort((a, b) => b.score - a.score || (a.device < b.device ? -1 : 1));
  const best = fitting[0];
  if (best) return { kind: 'placed', deviceId: best.device, score: best.score, factors: best.factors, verdicts };

  const misses = verdicts.filter((v): v is Extract<Verdict, { fits: false }> => !v.fits);
  const transient = misses.filter((v) => !v.permanent);
  if (transient.length > 0 || pool.length === 0) {
    const reason = pool.length === 0 ? 'no device is paired yet' : transient.map((v) => v.reason).join('; ');
    return { kind: 'wait', reason, verdicts };
  }
  const telling =
    misses.find((v) => v.code === 'credential_unavailable') ??
    misses.find((v) => v.code === 'sandbox_unavailable') ??
    misses.find((v) => v.code === 'command_not_allowed') ??
    misses.find((v) => v.code === 'harness_unavailable') ??
    misses.find((v) => v.code === 'device_revoked' && req.deviceId) ??
    misses[0]!;
  const code = telling.code === 'device_revoked' && !req.deviceId ? 'no_device' : telling.code;
  const message =
    misses.length === 1 ? telling.reason : `no device can run this: ${misses.map((v) => v.reason).join('; ')}`;
  return { kind: 'refuse', error: new FabricError(code, message), verdicts };
}

/** One line for people: where it went and why, or why it waits. */
export function describePlacement(p: Placement, names: ReadonlyMap<string, string>): string {
  const rejected = p.verdicts.flatMap((v) => (v.fits ? [] : [v.reason]));
  const tail = rejected.length > 0 ? `; not: ${rejected.join('; ')}` : '';
  if (p.kind === 'placed') {
    const others = p.verdicts
      .filter((v) => v.fits && v.device !== p.deviceId)
      .map((v) => (v.fits ? `${names.get(v.device) ?? v.device} ${v.score}` : ''));
    const factors = p.factors.map((f) => `${f.value} ${f.points >= 0 ? '+' : ''}${f.points}`).join(', ');
    return `${names.get(p.deviceId) ?? p.deviceId} scored ${p.score} (${factors})${others.length ? `; others: ${others.join(', ')}` : ''}${tail}`;
  }
  if (p.kind === 'wait') return `waiting: ${p.reason}`;
  return `refused: ${p.error.message}`;
}
