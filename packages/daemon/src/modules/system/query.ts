import {
  FabricError,
  systemQueryAnswerSchemas,
  systemQueryInputSchema,
  type SystemQuery,
  type SystemQueryAnswer,
  type SystemQueryAnswerFor,
  type SystemQueryInput,
  type SystemQueryKind,
} from '@fabric/protocol';
import { queryDisks, type DisksSources } from './disks.js';
import { queryNetwork, type NetworkSources } from './network.js';
import { queryPorts } from './ports.js';
import { queryProcesses, type ProcessSource } from './processes.js';
import { listServices, type SystemdOptions } from './systemd.js';
import { queryUsers, type UsersSources } from './users.js';
import { parseInput } from './validate.js';

/** Where the queries read; every part defaults to the real machine. */
export interface SystemQueryOptions {
  systemd?: SystemdOptions;
  processes?: ProcessSource;
  network?: NetworkSources;
  procRoot?: string;
  disks?: DisksSources;
  users?: UsersSources;
}

async function answer(q: SystemQuery, opts: SystemQueryOptions): Promise<SystemQueryAnswer> {
  switch (q.query) {
    case 'processes':
      return queryProcesses(q, opts.processes);
    case 'services':
      return { query: 'services', manager: 'systemd', services: await listServices(q.state, opts.systemd) };
    case 'network':
      return queryNetwork(opts.network);
    case 'ports':
      return queryPorts(opts.procRoot ? { procRoot: opts.procRoot } : {});
    case 'disks':
      return queryDisks(opts.disks);
    case 'users':
      return queryUsers(opts.users);
  }
}

/**
 * Answer one read-only question about the device. The input is validated
 * (`bad_request` naming the field); the answer is checked against its
 * query's schema before it is returned (a mismatch is a bug: `internal`).
 * `services` throws `unsupported` where systemd does not run.
 */
export async function systemQuery<Q extends SystemQueryKind>(
  input: SystemQueryInput & { query: Q },
  opts?: SystemQueryOptions,
): Promise<SystemQueryAnswerFor<Q>>;
export async function systemQuery(input: unknown, opts?: SystemQueryOptions): Promise<SystemQueryAnswer>;
export async function systemQuery(input: unknown, opts: SystemQueryOptions = {}): Promise<SystemQueryAnswer> {
  const q = parseInput(systemQueryInputSchema, input, 'system query');
  const raw = await answer(q, opts);
  const checked = systemQueryAnswerSchemas[q.query].safeParse(raw);
  if (!checked.success) {
    const issue = checked.error.issues[0];
    throw new FabricError(
      'internal',
      `the ${q.query} answer did not match its schema (${issue?.path.join('.') ?? ''}: ${issue?.message ?? 'invalid'})`,
    );
  }
  return checked.data;
}
