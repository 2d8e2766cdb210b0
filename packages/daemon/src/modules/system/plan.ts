import {
  FabricError,
  fileDeleteInputSchema,
  fileWriteInputSchema,
  processSignalInputSchema,
  serviceActionInputSchema,
  utf8ByteLength,
  type ProcessSignal,
  type ServiceAction,
} from '@fabric/protocol';
import { inspectTarget } from './files.js';
import { assertSignallable, isProtectedPid, processName } from './mutate.js';
import type { PathClass, PathContext } from './paths.js';
import { serviceUnitName } from './systemd.js';
import { parseInput } from './validate.js';

/** The kinds of system mutation. */
export type MutationKind = 'service_action' | 'process_signal' | 'file_write' | 'file_delete';

/** A mutation as asked for: its kind and the agent's (not yet validated) input. */
export interface MutationRequest {
  kind: MutationKind;
  input: unknown;
}

/**
 * The facts about a mutation that decide whether the owner must approve it
 * and that the approval prompt and the ledger show, gathered before it runs.
 */
export type MutationPlan =
  | { kind: 'service_action'; unit: string; action: ServiceAction }
  | { kind: 'process_signal'; pid: number; signal: ProcessSignal; name: string | null }
  | { kind: 'file_write'; path: string; where: PathClass; exists: boolean; bytes: number }
  | { kind: 'file_delete'; path: string; where: PathClass; bytes: number };

/**
 * Validate a mutation and gather its facts, without changing anything.
 * Throws what the executor would for an input it will refuse anyway
 * (`bad_request`, `forbidden`, `path_not_allowed`, `not_found`), so the owner
 * is never asked about one. Does not check for systemd (the executor says
 * `unsupported`).
 */
export async function planMutation(req: MutationRequest, ctx: PathContext): Promise<MutationPlan> {
  switch (req.kind) {
    case 'service_action': {
      const input = parseInput(serviceActionInputSchema, req.input, 'service action');
      return { kind: 'service_action', unit: serviceUnitName(input.service), action: input.action };
    }
    case 'process_signal': {
      const input = parseInput(processSignalInputSchema, req.input, 'process signal');
      if (isProtectedPid(input.pid))
        throw new FabricError('forbidden', `pid ${input.pid} is init or the daemon itself; it may not be signalled`);
      assertSignallable(input.pid);
      return { kind: 'process_signal', pid: input.pid, signal: input.signal, name: await processName(input.pid) };
    }
    case 'file_write': {
      const input = parseInput(fileWriteInputSchema, req.input, 'file write');
      const t = await inspectTarget(input.path, ctx);
      if (t.kind === 'directory' || t.kind === 'other')
        throw new FabricError('bad_request', `${t.path} is not a regular file; only files can be written`);
      return {
        kind: 'file_write',
        path: t.path,
        where: t.where,
        exists: t.kind === 'file',
        bytes: utf8ByteLength(input.content),
      };
    }
    case 'file_delete': {
      const input = parseInput(fileDeleteInputSchema, req.input, 'file delete');
      const t = await inspectTarget(input.path, ctx);
      if (t.kind === null) throw new FabricError('not_found', `${t.path} does not exist`);
      if (t.kind !== 'file')
        throw new FabricError('bad_request', `${t.path} is not a regular file; only files can be deleted`);
      return { kind: 'file_delete', path: t.path, where: t.where, bytes: t.bytes ?? 0 };
    }
  }
}

/** The facts `isDestructive` needs: a plan, or just its deciding fields. */
export type DestructiveFacts =
  | { kind: 'service_action'; action: ServiceAction }
  | { kind: 'process_signal' }
  | { kind: 'file_write'; exists: boolean }
  | { kind: 'file_delete' };

/**
 * Whether the owner must approve a mutation: every service action, every
 * signal, every delete, and a write that replaces an existing file. Creating
 * a new file is not destructive. Service `start` counts too: starting a
 * unit such as `systemd-reboot.service` or `rescue.service` reboots or
 * isolates the machine.
 */
export function isDestructive(facts: DestructiveFacts): boolean {
  switch (facts.kind) {
    case 'service_action':
    case 'process_signal':
    case 'file_delete':
      return true;
    case 'file_write':
      return facts.exists;
  }
}

const MAX_SHOWN_PATH = 300;

/** A path fit for a one-line prompt: control characters escaped (a file name may hold a newline), long ones cut. */
function shown(path: string): string {
  const safe = path.replace(
    // eslint-disable-next-line no-control-regex -- control characters are what this escapes
    /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
  return safe.length > MAX_SHOWN_PATH ? `…${safe.slice(-MAX_SHOWN_PATH)}` : safe;
}

function size(bytes: number): string {
  return bytes === 1 ? '1 byte' : `${bytes} bytes`;
}

/**
 * One human line for the approval prompt and the ledger: "restart service
 * nginx", "send TERM to pid 4242 (node)", "overwrite /etc/hosts with 120
 * bytes (outside the work dir)".
 */
export function describeMutation(plan: MutationPlan): string {
  switch (plan.kind) {
    case 'service_action':
      return `${plan.action} service ${plan.unit.replace(/\.service$/, '')}`;
    case 'process_signal':
      return `send ${plan.signal} to pid ${plan.pid}${plan.name ? ` (${shown(plan.name)})` : ''}`;
    case 'file_write': {
      const where = plan.where === 'outside' ? ' (outside the work dir)' : '';
      return plan.exists
        ? `overwrite ${shown(plan.path)} with ${size(plan.bytes)}${where}`
        : `create ${shown(plan.path)} with ${size(plan.bytes)}${where}`;
    }
    case 'file_delete':
      return `delete ${shown(plan.path)} (${size(plan.bytes)})${plan.where === 'outside' ? ' (outside the work dir)' : ''}`;
  }
}
