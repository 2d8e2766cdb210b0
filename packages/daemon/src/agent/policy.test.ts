// Who may call what on the agent socket, as a table: tool × caller (the owner's
// agent.token, a session's token) → allowed, refused or restricted to its own.
// Over the real socket and stores (agent-stack), so the table is what a caller meets.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { backupCreatedSchema, isFabricError, ledgerEventsAnswerSchema, memoryWrittenSchema } from '@fabric/protocol';
import { agentStack, type AgentStack } from '../../test/agent-stack.js';
import { TOOL_CATALOG } from './catalog.js';
import { SESSION_ACCESS } from './policy.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

type Caller = 'owner' | 'session';
const SESSION = 'ses_policy0001';

/**
 * A stack where the owner and another session have left events, a backup
 * exists, and SESSION runs in mode full (so nothing waits for approval).
 */
async function world(): Promise<{
  s: AgentStack;
  as(who: Caller): Parameters<AgentStack['call']>[0];
  backupId: string;
}> {
  const s = await agentStack();
  cleanups.push(() => s.close());
  const session = s.startSession(SESSION, { permissionMode: 'full' });
  const other = s.startSession('ses_other00001');
  await s.call(s.owner, 'incident_create', { title: "the owner's" });
  await s.call(other, 'incident_create', { title: "another session's" });
  await s.call(session, 'incident_create', { title: 'its own' });
  const { backupId } = backupCreatedSchema.parse(await s.call(s.owner, 'backup_create'));
  return { s, as: (who) => (who === 'owner' ? s.owner : session), backupId };
}

/** What a call came to: `ok` with its answer, or the code it was refused with. */
async function attempt(call: Promise<unknown>): Promise<{ code: string; answer?: unknown }> {
  try {
    return { code: 'ok', answer: await call };
  } catch (err) {
    if (isFabricError(err)) return { code: err.code };
    throw err;
  }
}

function memorySource(s: AgentStack, answer: unknown): string | undefined {
  const { file } = memoryWrittenSchema.parse(answer);
  return readFileSync(join(s.dataDir, 'memory', file), 'utf8').match(/^source: "(.*)"$/m)?.[1];
}

type Row = [
  tool: string,
  who: Caller,
  expected: string,
  run: (w: Awaited<ReturnType<typeof world>>) => Promise<string>,
];

const table: Row[] = [
  [
    'backup_create',
    'owner',
    'allowed',
    async ({ s, as }) => (await attempt(s.call(as('owner'), 'backup_create'))).code,
  ],
  [
    'backup_create',
    'session',
    'forbidden',
    async ({ s, as }) => (await attempt(s.call(as('session'), 'backup_create'))).code,
  ],
  [
    'backup_restore',
    'owner',
    'allowed',
    async ({ s, as, backupId }) => (await attempt(s.call(as('owner'), 'backup_restore', { backupId }))).code,
  ],
  [
    'backup_restore',
    'session',
    'forbidden',
    async ({ s, as, backupId }) => (await attempt(s.call(as('session'), 'backup_restore', { backupId }))).code,
  ],
  [
    'backup_list',
    'session',
    'allowed',
    async ({ s, as }) => (await attempt(s.call(as('session'), 'backup_list'))).code,
  ],
  [
    'ledger_events',
    'owner',
    'every actor',
    async ({ s, as }) => actors(await s.call(as('owner'), 'ledger_events', { kind: 'incident.create' })),
  ],
  [
    'ledger_events',
    'session',
    `only session:${SESSION}`,
    async ({ s, as }) => actors(await s.call(as('session'), 'ledger_events', {})),
  ],
  [
    'ledger_events asking for the owner',
    'session',
    'forbidden',
    async ({ s, as }) => (await attempt(s.call(as('session'), 'ledger_events', { actor: 'owner' }))).code,
  ],
  [
    'ledger_events asking for another session',
    'session',
    'forbidden',
    async ({ s, as }) =>
      (await attempt(s.call(as('session'), 'ledger_events', { actor: 'session:ses_other00001' }))).code,
  ],
  [
    'memory_store claiming source owner',
    'owner',
    'source owner',
    async ({ s, as }) =>
      `source ${memorySource(s, await s.call(as('owner'), 'memory_store', { summary: 'x', source: 'owner' }))}`,
  ],
  [
    'memory_store claiming source owner',
    'session',
    `source session:${SESSION}`,
    async ({ s, as }) =>
      `source ${memorySource(s, await s.call(as('session'), 'memory_store', { summary: 'x', source: 'owner' }))}`,
  ],
  [
    'memory_ingest claiming source owner',
    'owner',
    'source owner',
    async ({ s, as }) =>
      `source ${memorySource(s, await s.call(as('owner'), 'memory_ingest', { source: 'owner', text: '# runbook\nreboot on sundays' }))}`,
  ],
  [
    'memory_ingest claiming source owner',
    'session',
    `source session:${SESSION}`,
    async ({ s, as }) =>
      `source ${memorySource(s, await s.call(as('session'), 'memory_ingest', { source: 'owner', text: '# runbook\nopen port 22' }))}`,
  ],
  ['health', 'session', 'allowed', async ({ s, as }) => (await attempt(s.call(as('session'), 'health'))).code],
];

/** 'every actor' when the answer holds the owner's, another session's and SESSION's events; else the actors it holds. */
function actors(answer: unknown): string {
  const seen = [...new Set(ledgerEventsAnswerSchema.parse(answer).events.map((e) => e.actor))].sort();
  if (seen.length === 3 && seen.includes('owner')) return 'every actor';
  return `only ${seen.join(', ')}`;
}

describe('the agent socket: tool × caller', () => {
  it.each(table)('%s by the %s: %s', async (_tool, _who, expected, run) => {
    const w = await world();
    const got = await run(w);
    expect(got === 'ok' ? 'allowed' : got).toBe(expected);
  });

  it('refuses a session before anything is recorded: the ledger does not grow', async () => {
    const { s, as, backupId } = await world();
    const before = s.ledger.count();
    await expect(s.call(as('session'), 'backup_restore', { backupId })).rejects.toMatchObject({ code: 'forbidden' });
    await expect(s.call(as('session'), 'backup_create')).rejects.toMatchObject({ code: 'forbidden' });
    expect(s.ledger.count()).toBe(before);
  });

  it('keeps, in the ledger, the source a session claimed for what it ingested', async () => {
    const { s, as } = await world();
    await s.call(as('session'), 'memory_ingest', { source: '/srv/runbooks/ssh.md', text: 'open port 22' });
    expect(s.events('memory.ingest').at(-1)).toMatchObject({
      actor: `session:${SESSION}`,
      payload: { source: `session:${SESSION}`, claimedSource: '/srv/runbooks/ssh.md' },
    });
  });

  it('names only tools of the catalog', () => {
    const names = TOOL_CATALOG.map((t) => t.name);
    expect(Object.keys(SESSION_ACCESS).filter((n) => !names.includes(n))).toEqual([]);
  });
});
