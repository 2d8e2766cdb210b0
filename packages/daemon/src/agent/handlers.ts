import { FabricError, type AgentCardService, type CapabilityDigest, type SystemQueryInput } from '@fabric/protocol';
import { createBackup, listBackups, restoreBackup } from '../backup/backup.js';
import { agentCard } from '../card/card.js';
import type { Memory } from '../memory/memory.js';
import { loadSkills } from '../skills/load.js';
import { health } from '../system/health.js';
import { deleteFile, serviceAction, signalProcess, writeFile } from '../system/mutate.js';
import { systemQuery } from '../system/query.js';
import type { SystemdOptions } from '../system/systemd.js';
import { DAEMON_VERSION } from '../version.js';
import * as t from './catalog.js';
import type { MutationPlan } from '../system/plan.js';
import { runMutation, type MutationDeps } from './mutations.js';
import { ownLedgerQuery, ownSource } from './policy.js';
import { callerActor, type AgentCaller } from './protocol.js';
import { ToolHost } from './tools.js';

export interface AgentToolDeps extends MutationDeps {
  deviceId: string;
  deviceName: () => string;
  memory: Memory;
  /** What the machine runs (for the agent card). */
  capabilities: () => Promise<CapabilityDigest>;
  /** The device's ledger public key (for the agent card). */
  ledgerPublicKey: string | null;
  /** The agent socket's path (for the agent card). */
  socketPath: string;
  /** Where systemd is looked for (tests point it at a fake). */
  systemd?: SystemdOptions;
}

/** Every tool of the catalog with its handler, over the daemon's stores. */
export function createAgentTools(deps: AgentToolDeps): ToolHost {
  const host = new ToolHost();
  const { ledger, records, memory } = deps;
  const audit = (caller: AgentCaller, kind: string, payload: unknown) =>
    ledger.append(callerActor(caller), kind, payload);

  host.register(t.healthTool, () => health());
  host.register(t.systemQueryTool, (_caller, input) =>
    systemQuery(toSystemQuery(input), deps.systemd ? { systemd: deps.systemd } : {}),
  );
  host.register(t.ledgerEventsTool, async (caller, input) => ledger.list(ownLedgerQuery(caller, input)));

  for (const [tool, action] of [
    [t.serviceRestartTool, 'restart'],
    [t.serviceStopTool, 'stop'],
    [t.serviceStartTool, 'start'],
  ] as const) {
    host.register(tool, (caller, input) => {
      const request = { service: input.service, action };
      return runMutation(deps, caller, tool.name, { kind: 'service_action', input: request }, () =>
        serviceAction(request, deps.systemd),
      );
    });
  }
  host.register(t.processSignalTool, (caller, input) =>
    runMutation(deps, caller, t.processSignalTool.name, { kind: 'process_signal', input }, () => signalProcess(input)),
  );
  host.register(t.fileWriteTool, (caller, input) =>
    runMutation(deps, caller, t.fileWriteTool.name, { kind: 'file_write', input }, (paths, plan) =>
      writeFile(input, paths, planned(plan)),
    ),
  );
  host.register(t.fileDeleteTool, (caller, input) =>
    runMutation(deps, caller, t.fileDeleteTool.name, { kind: 'file_delete', input }, (paths, plan) =>
      deleteFile(input, paths, planned(plan)),
    ),
  );

  host.register(t.memoryStoreTool, async (caller, input) => {
    const source = ownSource(caller, input.source);
    const written = await memory.store({ ...input, source });
    audit(caller, 'memory.store', { id: written.id, file: written.file, category: input.category });
    return written;
  });
  host.register(t.memoryIngestTool, async (caller, input) => {
    // A session's document is recorded as the session's; where it said the text came from stays in the ledger.
    const source = ownSource(caller, input.source);
    const written = await memory.ingest({ ...input, source });
    const claimed = source === input.source ? {} : { claimedSource: input.source };
    audit(caller, 'memory.ingest', {
      id: written.id,
      file: written.file,
      source,
      ...claimed,
      chars: input.text.length,
    });
    return written;
  });
  host.register(t.memoryRecallTool, (_caller, input) => memory.recall(input));
  host.register(t.memoryReindexTool, async (caller) => {
    const answer = await memory.reindex();
    audit(caller, 'memory.reindex', answer);
    return answer;
  });
  host.register(t.memoryHealthTool, () => memory.health());

  host.register(t.receiptListTool, async (_caller, input) => ({ receipts: records.listReceipts(input) }));
  host.register(t.incidentCreateTool, async (caller, input) => {
    const incident = records.createIncident(input, callerActor(caller));
    audit(caller, 'incident.create', { id: incident.id, title: incident.title });
    return incident;
  });
  host.register(t.incidentStepTool, async (caller, input) => {
    const incident = records.addStep(input.id, input, callerActor(caller));
    audit(caller, 'incident.step', { id: incident.id, step: incident.steps.length, action: input.action });
    return incident;
  });
  host.register(t.incidentCloseTool, async (caller, input) => {
    const incident = records.closeIncident(input.id, input, callerActor(caller));
    audit(caller, 'incident.close', { id: incident.id, resolution: input.resolution });
    return incident;
  });
  host.register(t.incidentGetTool, async (_caller, input) => records.getIncident(input.id));
  host.register(t.incidentListTool, async (_caller, input) => ({ incidents: records.listIncidents(input) }));

  host.register(t.backupCreateTool, async (caller) => {
    const created = await createBackup({ dataDir: deps.dataDir });
    audit(caller, 'backup.create', { backupId: created.backupId, sizeBytes: created.sizeBytes });
    return created;
  });
  host.register(t.backupListTool, async () => ({ backups: listBackups(deps.dataDir) }));
  host.register(t.backupRestoreTool, (caller, input) => restore(deps, caller, input.backupId));

  host.register(t.agentCardTool, async () => {
    const caps = await deps.capabilities();
    const endpoints: AgentCardService[] = [
      {
        name: 'MCP',
        endpoint: 'stdio:fabric (wired into every session started on this device)',
        version: '2025-06-18',
      },
      { name: 'agent-socket', endpoint: `unix:${deps.socketPath}`, version: 'v1' },
    ];
    return agentCard({
      deviceId: deps.deviceId,
      name: deps.deviceName(),
      version: DAEMON_VERSION,
      tools: host.list(),
      skills: loadSkills(),
      capabilities: { platform: caps.platform, arch: caps.arch, harnesses: caps.harnesses },
      endpoints,
      ledgerPublicKey: deps.ledgerPublicKey,
    });
  });
  return host;
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

/**
 * A restore replaces receipts, incidents and memory files. It is the
 * owner's alone (`policy.ts` refuses sessions before this runs); it is
 * logged before and after, and the memory index is rebuilt.
 */
async function restore(deps: AgentToolDeps, caller: AgentCaller, backupId: string) {
  const actor = callerActor(caller);
  // A restore that would be refused anyway is refused before it is recorded.
  if (!listBackups(deps.dataDir).some((b) => b.backupId === backupId))
    throw new FabricError('not_found', `no backup ${backupId}: list them with backup_list`);
  const requested = deps.ledger.append(actor, 'backup.restore.requested', { backupId });
  let restored;
  try {
    restored = await restoreBackup(deps.dataDir, backupId, { records: deps.records });
  } catch (err) {
    deps.ledger.append(actor, 'backup.restore.failed', {
      backupId,
      requestedSeq: requested.seq,
      message: (err as Error).message,
    });
    throw err;
  }
  // The restore happened: it is recorded even if rebuilding the index fails (the next reindex retries).
  let reindexError: string | null = null;
  if (restored.reindexNeeded) {
    try {
      await deps.memory.reindex();
    } catch (err) {
      reindexError = (err as Error).message;
    }
  }
  const done = deps.ledger.append(actor, 'backup.restore.done', {
    backupId,
    requestedSeq: requested.seq,
    restored: restored.restored,
    reindexError,
  });
  deps.records.addReceipt(
    { kind: 'backup.restore', summary: `restored ${backupId}`, detail: restored, ledgerSeq: done.seq },
    actor,
  );
  return restored;
}
