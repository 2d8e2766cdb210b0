import {
  incidentCloseInputSchema,
  incidentCreateInputSchema,
  incidentGetInputSchema,
  incidentListAnswerSchema,
  incidentListInputSchema,
  incidentSchema,
  incidentStepInputSchema,
  receiptListAnswerSchema,
  receiptListInputSchema,
} from '@fabric/protocol';
import { spec } from '../../kernel/index.js';

/** The records module's tools: name, description, input and answer schemas, effect. */

export const receiptListTool = spec({
  name: 'receipt_list',
  title: 'Receipts',
  effect: 'read',
  input: receiptListInputSchema,
  output: receiptListAnswerSchema,
  description: 'Receipts of what was done through the daemon (mutations, restores), newest first.',
});
export const incidentCreateTool = spec({
  name: 'incident_create',
  title: 'Open an incident',
  effect: 'write',
  input: incidentCreateInputSchema,
  output: incidentSchema,
  description: 'Open an incident workspace to troubleshoot something on the record.',
});
export const incidentStepTool = spec({
  name: 'incident_step',
  title: 'Record an incident step',
  effect: 'write',
  input: incidentStepInputSchema,
  output: incidentSchema,
  description: 'Add a step to an open incident: what was done and what came of it.',
});
export const incidentCloseTool = spec({
  name: 'incident_close',
  title: 'Close an incident',
  effect: 'write',
  input: incidentCloseInputSchema,
  output: incidentSchema,
  description: 'Close an incident with its resolution.',
});
export const incidentGetTool = spec({
  name: 'incident_get',
  title: 'Show an incident',
  effect: 'read',
  input: incidentGetInputSchema,
  output: incidentSchema,
  description: 'One incident with all its steps.',
});
export const incidentListTool = spec({
  name: 'incident_list',
  title: 'List incidents',
  effect: 'read',
  input: incidentListInputSchema,
  output: incidentListAnswerSchema,
  description: 'Incidents, newest first; optionally only open or closed ones.',
});

/** In the order every surface lists them. */
export const recordsTools = [
  receiptListTool,
  incidentCreateTool,
  incidentStepTool,
  incidentCloseTool,
  incidentGetTool,
  incidentListTool,
] as const;
