import { FabricError, type SystemQueryInput } from '@fabric/protocol';
import * as t from './tools.js';
import { runMutation, type MutationDeps } from './mutations.js';
import { tool, type DaemonModule, type KernelContext } from '../../kernel/index.js';
import { health } from './health.js';
import { deleteFile, serviceAction, signalProcess, writeFile } from './mutate.js';
import type { MutationPlan } from './plan.js';
import { systemQuery } from './query.js';
import type { SystemdOptions } from './systemd.js';

export interface SystemModuleOptions {
  /** Where the owner's own mutations count as "inside the work dir" (the daemon's default session dir). */
  defaultWorkDir: string;
  /** Where systemd is looked for (tests point it at a fake). */
  systemd?: SystemdOptions | undefined;
}

/** The machine: health and queries (read), services, processes and files (mutate, on the record, approved when destructive). */
export function systemModule(opts: SystemModuleOptions): DaemonModule {
  let deps: MutationDeps | null = null;
  const mutations = (): MutationDeps => {
    if (!deps) throw new Error('the system module has not started');
    return deps;
  };
  const systemd = opts.systemd ? { systemd: opts.systemd } : {};
  return {
    name: 'system',
    start(ctx: KernelContext) {
      deps = {
        dataDir: ctx.dataDir,
        defaultWorkDir: opts.defaultWorkDir,
        ledger: { append: (actor, kind, payload) => ctx.audit(actor, kind, payload) },
        records: ctx.records,
        session: (id) => ctx.session(id),
        approve: (id, req) => ctx.approve(id, req),
      };
    },
    tools: [
      tool(t.healthTool, () => health()),
      tool(t.systemQueryTool, (_caller, input) => systemQuery(toSystemQuery(input), systemd)),
      ...(
        [
          [t.serviceRestartTool, 'restart'],
          [t.serviceStopTool, 'stop'],
          [t.serviceStartTool, 'start'],
        ] as const
      ).map(([spec, action]) =>
        tool(spec, (caller, input) => {
          const request = { service: input.service, action };
          return runMutation(mutations(), caller, spec.name, { kind: 'service_action', input: request }, () =>
            serviceAction(request, opts.systemd),
          );
        }),
      ),
      tool(t.processSignalTool, (caller, input) =>
        runMutation(mutations(), caller, t.processSignalTool.name, { kind: 'process_signal', input }, () =>
          signalProcess(input),
        ),
      ),
      tool(t.fileWriteTool, (caller, input) =>
        runMutation(mutations(), caller, t.fileWriteTool.name, { kind: 'file_write', input }, (paths, plan) =>
          writeFile(input, paths, planned(plan)),
        ),
      ),
      tool(t.fileDeleteTool, (caller, input) =>
        runMutation(mutations(), caller, t.fileDeleteTool.name, { kind: 'file_delete', input }, (paths, plan) =>
          deleteFile(input, paths, planned(plan)),
        ),
      ),
    ],
  };
}

/** The path a file mutation's plan named: its executor acts on no other. */
function planned(plan: MutationPlan): { path: string } | undefined {
  return plan.kind === 'file_write' || plan.kind === 'file_delete' ? { path: plan.path } : undefined;
}

/** The tool's flat input as the protocol's union, refusing options that do not belong to the question asked. */
function toSystemQuery(input: {
  query: string;
  sort?: string | undefined;
  limit?: number | undefined;
  name?: string | undefined;
  state?: string | undefined;
}): SystemQueryInput {
  const { query, ...options } = input;
  const allowed: Record<string, string[]> = { processes: ['sort', 'limit', 'name'], services: ['state'] };
  for (const [key, value] of Object.entries(options)) {
    if (value !== undefined && !(allowed[query] ?? []).includes(key))
      throw new FabricError(
        'bad_request',
        `system_query: ${key} applies to ${key === 'state' ? 'services' : 'processes'} only`,
      );
  }
  return input as SystemQueryInput;
}
