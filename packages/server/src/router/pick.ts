import { FabricError, splitCommandLine, type CapabilityDigest, type HarnessName, type Labels } from '@fabric/protocol';

export interface Candidate {
  id: string;
  name: string;
  online: boolean;
  revoked: boolean;
  capabilities: CapabilityDigest | null;
}

export interface Placement {
  harness: HarnessName;
  prompt: string;
  deviceId?: string | undefined;
  labels?: Labels | undefined;
}

/**
 * Why `device` cannot take `placement`, as a FabricError, or null when it can.
 * Checks, in order: revoked, online, harness installed, labels, allowlist.
 */
export function unfit(device: Candidate, p: Placement): FabricError | null {
  if (device.revoked) return new FabricError('device_revoked', `device ${device.name} is revoked`);
  if (!device.online || !device.capabilities) {
    return new FabricError('device_offline', `device ${device.name} is offline; start it with "optimal device"`);
  }
  const caps = device.capabilities;
  if (!caps.harnesses.some((h) => h.name === p.harness)) {
    return new FabricError('harness_unavailable', `harness ${p.harness} is not installed on device ${device.name}`);
  }
  for (const [k, v] of Object.entries(p.labels ?? {})) {
    if (caps.labels[k] !== v) return new FabricError('no_device', `device ${device.name} does not have label ${k}=${v}`);
  }
  if (p.harness === 'shell') {
    const program = shellProgram(p.prompt);
    if (!caps.allowlist.includes(program)) {
      return new FabricError('command_not_allowed', `"${program.slice(0, 64)}" is not on device ${device.name}'s allowlist; restart it with --allow to permit it`);
    }
  }
  return null;
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
 * Choose a device for a session. A pinned device must fit or its reason is
 * thrown. Otherwise the fitting device with the most free RAM wins (ties: the
 * lower load). With none, the most telling reason is thrown: a device that
 * has the harness but forbids the command says so rather than "no device".
 * (Capability-aware scoring and queueing replace this in the routing issue.)
 */
export function pickDevice(devices: readonly Candidate[], p: Placement): Candidate {
  if (p.deviceId) {
    const device = devices.find((d) => d.id === p.deviceId || d.name === p.deviceId);
    if (!device) throw new FabricError('device_not_found', `no device ${p.deviceId}`);
    const why = unfit(device, p);
    if (why) throw why;
    return device;
  }
  if (p.harness === 'shell') shellProgram(p.prompt);
  const reasons: FabricError[] = [];
  const fitting: Candidate[] = [];
  for (const d of devices) {
    const why = unfit(d, p);
    if (why) reasons.push(why);
    else fitting.push(d);
  }
  if (fitting.length === 0) {
    const telling = reasons.find((r) => r.code === 'command_not_allowed')
      ?? reasons.find((r) => r.code === 'harness_unavailable');
    if (telling) throw telling;
    throw new FabricError('no_device', 'no online device can run this session; start one with "optimal device"');
  }
  fitting.sort((a, b) => (b.capabilities!.ramFree - a.capabilities!.ramFree) || (a.capabilities!.load[0] - b.capabilities!.load[0]));
  return fitting[0]!;
}
