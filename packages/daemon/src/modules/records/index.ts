import * as t from './tools.js';
import { callerActor, contextSlot, tool, type DaemonModule } from '../../kernel/index.js';

/** Receipts (what was done, pointing at its ledger event) and incidents (what went wrong, step by step). */
export function recordsModule(): DaemonModule {
  const ctx = contextSlot('records');
  const started = ctx.get;
  return {
    name: 'records',
    start: ctx.set,
    tools: [
      tool(t.receiptListTool, (_caller, input) => ({ receipts: started().records.listReceipts(input) })),
      tool(t.incidentCreateTool, (caller, input) => {
        const c = started();
        const incident = c.records.createIncident(input, callerActor(caller));
        c.audit(callerActor(caller), 'incident.create', { id: incident.id, title: incident.title });
        return incident;
      }),
      tool(t.incidentStepTool, (caller, input) => {
        const c = started();
        const incident = c.records.addStep(input.id, input, callerActor(caller));
        c.audit(callerActor(caller), 'incident.step', {
          id: incident.id,
          step: incident.steps.length,
          action: input.action,
        });
        return incident;
      }),
      tool(t.incidentCloseTool, (caller, input) => {
        const c = started();
        const incident = c.records.closeIncident(input.id, input, callerActor(caller));
        c.audit(callerActor(caller), 'incident.close', { id: incident.id, resolution: input.resolution });
        return incident;
      }),
      tool(t.incidentGetTool, (_caller, input) => started().records.getIncident(input.id)),
      tool(t.incidentListTool, (_caller, input) => ({ incidents: started().records.listIncidents(input) })),
    ],
  };
}
