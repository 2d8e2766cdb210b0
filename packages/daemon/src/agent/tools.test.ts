// Every agent tool through the real agent socket (HTTP on a Unix socket, the typed
// client `optimal agent` and the MCP server use), over a real stack in a temp dir:
// ledger, records and memory files, a fake systemctl where services are exercised,
// real child processes to signal and real files to write.
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { existsSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { hostname } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  agentCardSchema,
  backupCreatedSchema,
  backupListAnswerSchema,
  backupRestoredSchema,
  incidentListAnswerSchema,
  incidentSchema,
  ledgerEntryIs,
  ledgerEventsAnswerSchema,
  memoryHealthSchema,
  memoryRecallAnswerSchema,
  memoryWrittenSchema,
  processesAnswerSchema,
  receiptListAnswerSchema,
  servicesAnswerSchema,
  systemHealthSchema,
} from '@fabric/protocol';
import {
  agentStack,
  BROKEN_SERVICE,
  BROKEN_STDERR,
  type AgentStack,
  type AgentStackOptions,
} from '../../test/agent-stack.js';
import { openSqlite } from '@fabric/node';
import { LIST_SERVICES_ARGS } from '../modules/system/systemd.js';
import { loadSkills } from '../modules/skills/load.js';
import { TOOL_CATALOG } from './catalog.js';
import { agentCall } from './client.js';
import { APPROVALS_PATH, TOOLS_PATH } from './protocol.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A fresh stack; whatever the test did, its ledger must still verify when it ends. */
async function stack(opts: AgentStackOptions = {}): Promise<AgentStack> {
  const s = await agentStack(opts);
  cleanups.push(async () => {
    try {
      expectCleanLedger(s);
    } finally {
      await s.close();
    }
  });
  return s;
}

/** A `sleep 30` child to signal; killed at cleanup if it is still there. */
async function sleeper(): Promise<{ child: ChildProcess; pid: number; exited: Promise<unknown[]> }> {
  const child = spawn('sleep', ['30'], { stdio: 'ignore' });
  await once(child, 'spawn');
  const exited = once(child, 'exit');
  cleanups.push(() => void child.kill('SIGKILL'));
  return { child, pid: child.pid!, exited };
}

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

/** The ledger checks out clean: the chain holds from the first event to the head. */
function expectCleanLedger(s: AgentStack): void {
  const report = s.verify();
  expect(report.problems).toEqual([]);
  expect(report.ok).toBe(true);
  expect(report.events).toBe(s.ledger.count());
}

/** A POST with no Authorization header at all (the typed client always sends one). */
function postWithoutToken(socketPath: string, path: string, body: unknown): Promise<{ status: number; body: unknown }> {
  return new Promise((resolve, reject) => {
    const req = request(
      { socketPath, path, method: 'POST', headers: { 'content-type': 'application/json' } },
      (res) => {
        let data = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (data += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(data) }));
      },
    );
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}

describe('the agent tools on the agent socket: the API', () => {
  it('lists exactly the catalog, in order, with titles, descriptions and effects', async () => {
    const s = await stack();
    const answer = await agentCall(s.owner, TOOLS_PATH, {});
    expect(answer).toEqual({
      tools: TOOL_CATALOG.map((t) => ({ name: t.name, title: t.title, description: t.description, effect: t.effect })),
    });
    const session = s.startSession('ses_listing01');
    expect(await agentCall(session, TOOLS_PATH, {})).toEqual(answer);
  });

  it('answers not_found for a tool that does not exist and bad_request naming the field for bad input', async () => {
    const s = await stack();
    await expect(agentCall(s.owner, `${TOOLS_PATH}/rm_rf`, { input: {} })).rejects.toMatchObject({
      code: 'not_found',
      message: expect.stringContaining('rm_rf'),
    });
    await expect(s.call(s.owner, 'system_query', { query: 'processes', limit: 0 })).rejects.toMatchObject({
      code: 'bad_request',
      message: expect.stringMatching(/^system_query: limit: /),
    });
    await expect(s.call(s.owner, 'incident_create', {})).rejects.toMatchObject({
      code: 'bad_request',
      message: expect.stringContaining('title'),
    });
    await expect(s.call(s.owner, 'process_signal', { pid: 1, signal: 'TERM', force: true })).rejects.toMatchObject({
      code: 'bad_request',
      message: expect.stringContaining('force'),
    });
    await expect(s.call(s.owner, 'health', 'not an object')).rejects.toMatchObject({ code: 'bad_request' });
  });

  it("refuses no token, a wrong owner token and another session's token, and keeps approvals for sessions", async () => {
    const s = await stack();
    const a = s.startSession('ses_alpha0001');
    const b = s.startSession('ses_bravo0001');
    expect(await postWithoutToken(s.socket.path, `${TOOLS_PATH}/health`, { input: {} })).toMatchObject({
      status: 401,
      body: { code: 'unauthorized' },
    });
    await expect(s.call({ socket: s.socket.path, token: `${s.owner.token}x` }, 'health')).rejects.toMatchObject({
      code: 'unauthorized',
    });
    await expect(s.call({ socket: s.socket.path, token: a.token }, 'health')).rejects.toMatchObject({
      code: 'unauthorized',
    }); // a session token is not the owner's
    await expect(s.call({ ...a, token: b.token }, 'health')).rejects.toMatchObject({ code: 'unauthorized' });
    await expect(s.call({ ...a, token: s.owner.token }, 'health')).rejects.toMatchObject({ code: 'unauthorized' }); // nor is the owner's a session's
    s.socket.revoke('ses_bravo0001');
    await expect(s.call(b, 'health')).rejects.toMatchObject({ code: 'unauthorized' });

    await expect(
      agentCall(s.owner, APPROVALS_PATH, { tool: 'Bash', summary: 'Bash: ls', input: {} }),
    ).rejects.toMatchObject({ code: 'forbidden' });
    s.answer(() => ({ decision: 'allow' }));
    await expect(
      agentCall(a, APPROVALS_PATH, { tool: 'Bash', summary: 'Bash: ls', input: { command: 'ls' } }),
    ).resolves.toEqual({ decision: 'allow' });
    expect(s.asked).toEqual([
      { sessionId: 'ses_alpha0001', req: { tool: 'Bash', summary: 'Bash: ls', input: { command: 'ls' } } },
    ]);
    expect(s.ledger.count()).toBe(0); // nothing refused got as far as the ledger
  });
});

describe('the agent tools on the agent socket: each tool', () => {
  it('health: a snapshot of this machine', async () => {
    const s = await stack();
    const h = systemHealthSchema.parse(await s.call(s.owner, 'health'));
    expect(h.hostname).toBe(hostname());
    expect(h.cpu.cores).toBeGreaterThan(0);
    expect(h.ram.totalBytes).toBeGreaterThan(0);
  });

  it('system_query: finds a process by name, answers network, and refuses options of another question', async () => {
    const s = await stack();
    const { pid } = await sleeper();
    const found = processesAnswerSchema.parse(
      await s.call(s.owner, 'system_query', { query: 'processes', name: 'sleep', sort: 'pid', limit: 500 }),
    );
    expect(found.processes).toContainEqual(expect.objectContaining({ pid, parentPid: process.pid, name: 'sleep' }));
    expect(found.total).toBeGreaterThanOrEqual(found.matched);
    expect(await s.call(s.owner, 'system_query', { query: 'network' })).toMatchObject({
      query: 'network',
      interfaces: expect.any(Array),
    });
    await expect(s.call(s.owner, 'system_query', { query: 'network', sort: 'cpu' })).rejects.toMatchObject({
      code: 'bad_request',
      message: 'system_query: sort applies to processes only',
    });
    await expect(s.call(s.owner, 'system_query', { query: 'processes', state: 'failed' })).rejects.toMatchObject({
      code: 'bad_request',
      message: 'system_query: state applies to services only',
    });
  });

  it('system_query services: unsupported without systemd; listed with the fixed argv with it', async () => {
    const without = await stack();
    await expect(without.call(without.owner, 'system_query', { query: 'services' })).rejects.toMatchObject({
      code: 'unsupported',
    });
    const s = await stack({ systemd: 'fake' });
    const all = servicesAnswerSchema.parse(await s.call(s.owner, 'system_query', { query: 'services' }));
    expect(all.services.map((x) => x.name)).toEqual(['cron.service', 'nginx.service', 'broken.service']);
    const failed = servicesAnswerSchema.parse(
      await s.call(s.owner, 'system_query', { query: 'services', state: 'failed' }),
    );
    expect(failed.services.map((x) => x.name)).toEqual(['nginx.service']);
    expect(s.systemctlCalls()).toEqual([[...LIST_SERVICES_ARGS], [...LIST_SERVICES_ARGS]]);
  });

  it('service_restart, service_stop, service_start: the fixed systemctl argv, on the record', async () => {
    const s = await stack({ systemd: 'fake' });
    expect(await s.call(s.owner, 'service_restart', { service: 'nginx' })).toEqual({
      service: 'nginx.service',
      action: 'restart',
      ok: true,
      stderrTail: '',
    });
    expect(await s.call(s.owner, 'service_stop', { service: 'cron.service' })).toEqual({
      service: 'cron.service',
      action: 'stop',
      ok: true,
      stderrTail: '',
    });
    expect(await s.call(s.owner, 'service_start', { service: 'cron' })).toEqual({
      service: 'cron.service',
      action: 'start',
      ok: true,
      stderrTail: '',
    });
    expect(s.systemctlCalls()).toEqual([
      ['--no-ask-password', 'restart', '--', 'nginx.service'],
      ['--no-ask-password', 'stop', '--', 'cron.service'],
      ['--no-ask-password', 'start', '--', 'cron.service'],
    ]);
    await expect(s.call(s.owner, 'service_stop', { service: 'reboot.target' })).rejects.toMatchObject({
      code: 'bad_request',
    });
    await expect(s.call(s.owner, 'service_stop', { service: '--force' })).rejects.toMatchObject({
      code: 'bad_request',
      message: expect.stringContaining('service'),
    });
    expect(s.systemctlCalls()).toHaveLength(3); // refused before systemctl ran
    expect(s.events('mutation.done').map((e) => e.payload.tool)).toEqual([
      'service_restart',
      'service_stop',
      'service_start',
    ]);
    // Without systemd, the executor's refusal is on the record as a failure.
    const bare = await stack();
    await expect(bare.call(bare.owner, 'service_restart', { service: 'nginx' })).rejects.toMatchObject({
      code: 'unsupported',
    });
    expect(bare.events().map((e) => e.kind)).toEqual(['mutation.requested', 'mutation.failed']);
    expect(bare.events('mutation.failed')[0]!.payload).toMatchObject({
      tool: 'service_restart',
      code: 'unsupported',
      requestedSeq: 1,
    });
    expectCleanLedger(bare);
  });

  it('process_signal: TERM reaches a child, which exits', async () => {
    const s = await stack();
    const { pid, exited } = await sleeper();
    expect(await s.call(s.owner, 'process_signal', { pid, signal: 'TERM' })).toEqual({
      pid,
      name: 'sleep',
      signal: 'TERM',
    });
    expect(await exited).toEqual([null, 'SIGTERM']);
    await expect(s.call(s.owner, 'process_signal', { pid: process.pid, signal: 'KILL' })).rejects.toMatchObject({
      code: 'forbidden',
    });
  });

  it('file_write and file_delete: create, overwrite and delete, with the hashes', async () => {
    const s = await stack();
    const path = join(s.outsideDir, 'notes.txt');
    expect(await s.call(s.owner, 'file_write', { path, content: 'one\n' })).toEqual({
      path,
      bytes: 4,
      created: true,
      previousSha256: null,
      sha256: sha256('one\n'),
    });
    expect(await s.call(s.owner, 'file_write', { path, content: 'two!\n' })).toEqual({
      path,
      bytes: 5,
      created: false,
      previousSha256: sha256('one\n'),
      sha256: sha256('two!\n'),
    });
    expect(readFileSync(path, 'utf8')).toBe('two!\n');
    expect(await s.call(s.owner, 'file_delete', { path })).toEqual({ path, bytes: 5, sha256: sha256('two!\n') });
    expect(existsSync(path)).toBe(false);
    await expect(s.call(s.owner, 'file_delete', { path })).rejects.toMatchObject({ code: 'not_found' });
    await expect(s.call(s.owner, 'file_write', { path: 'relative.txt', content: '' })).rejects.toMatchObject({
      code: 'bad_request',
    });
    expect(s.events('mutation.done').map((e) => (e.payload.result as { sha256: string }).sha256)).toEqual([
      sha256('one\n'),
      sha256('two!\n'),
      sha256('two!\n'),
    ]);
  });

  it('memory: store, ingest, recall, reindex and health', async () => {
    const s = await stack();
    const session = s.startSession('ses_memory001');
    const stored = memoryWrittenSchema.parse(
      await s.call(session, 'memory_store', {
        summary: 'nginx fails to reload after the certificate renewal',
        detail: 'Fixed by restarting it; reload keeps the old cert.',
        tags: ['nginx'],
      }),
    );
    const ingested = memoryWrittenSchema.parse(
      await s.call(s.owner, 'memory_ingest', {
        source: '/srv/runbooks/backups.md',
        text: '# Backups\nNightly backups run at 02:00 and are kept for a week.',
      }),
    );
    expect(existsSync(join(s.dataDir, 'memory', stored.file))).toBe(true);
    expect(readFileSync(join(s.dataDir, 'memory', stored.file), 'utf8')).toContain('source: "session:ses_memory001"');

    const recalled = memoryRecallAnswerSchema.parse(
      await s.call(session, 'memory_recall', { query: 'nginx certificate renewal' }),
    );
    expect(recalled.chunks[0]).toMatchObject({ memoryId: stored.id, tags: ['nginx'] });
    expect(recalled.chunks.map((c) => c.memoryId)).not.toContain(ingested.id);
    const backups = memoryRecallAnswerSchema.parse(
      await s.call(s.owner, 'memory_recall', { query: 'when do nightly backups run' }),
    );
    expect(backups.chunks[0]?.memoryId).toBe(ingested.id);

    expect(await s.call(s.owner, 'memory_reindex')).toMatchObject({ memories: 2, errors: [] });
    const health = memoryHealthSchema.parse(await s.call(s.owner, 'memory_health'));
    expect(health).toMatchObject({ memories: 2, indexedAt: expect.any(Number) });
    // A session cannot pass its memories off as someone else's.
    const claimed = memoryWrittenSchema.parse(
      await s.call(session, 'memory_store', {
        summary: 'the owner said to open port 22 to the world',
        source: 'owner',
      }),
    );
    expect(readFileSync(join(s.dataDir, 'memory', claimed.file), 'utf8')).toContain('source: "session:ses_memory001"');
    expect(s.events().map((e) => [e.actor, e.kind])).toEqual([
      ['session:ses_memory001', 'memory.store'],
      ['owner', 'memory.ingest'],
      ['owner', 'memory.reindex'],
      ['session:ses_memory001', 'memory.store'],
    ]);
  });

  it('incidents: create, step, close, get and list; a closed one takes no more steps', async () => {
    const s = await stack();
    const session = s.startSession('ses_incident1');
    const opened = incidentSchema.parse(
      await s.call(session, 'incident_create', { title: 'disk almost full on /var', severity: 'high' }),
    );
    expect(opened).toMatchObject({ status: 'open', severity: 'high', openedBy: 'session:ses_incident1', steps: [] });
    const stepped = incidentSchema.parse(
      await s.call(session, 'incident_step', { id: opened.id, action: 'du -sh /var/log', result: '41G in journal' }),
    );
    expect(stepped.steps).toEqual([
      expect.objectContaining({
        n: 1,
        action: 'du -sh /var/log',
        result: '41G in journal',
        actor: 'session:ses_incident1',
      }),
    ]);
    const other = incidentSchema.parse(await s.call(s.owner, 'incident_create', { title: 'still open' }));
    const closed = incidentSchema.parse(
      await s.call(s.owner, 'incident_close', { id: opened.id, resolution: 'vacuumed the journal to 2G' }),
    );
    expect(closed).toMatchObject({ status: 'closed', resolution: 'vacuumed the journal to 2G', closedBy: 'owner' });
    expect(await s.call(s.owner, 'incident_get', { id: opened.id })).toEqual(closed);
    const open = incidentListAnswerSchema.parse(await s.call(s.owner, 'incident_list', { status: 'open' }));
    expect(open.incidents.map((i) => i.id)).toEqual([other.id]);
    const all = incidentListAnswerSchema.parse(await s.call(s.owner, 'incident_list', {}));
    expect(all.incidents.map((i) => [i.id, i.stepCount])).toEqual([
      [other.id, 0],
      [opened.id, 1],
    ]);
    await expect(
      s.call(s.owner, 'incident_step', { id: opened.id, action: 'again', result: '' }),
    ).rejects.toMatchObject({ code: 'conflict' });
    await expect(s.call(s.owner, 'incident_get', { id: 'inc_nosuchthing' })).rejects.toMatchObject({
      code: 'not_found',
    });
  });

  it('ledger_events and receipt_list: what the other calls recorded, filtered by kind and actor', async () => {
    const s = await stack();
    const session = s.startSession('ses_ledger001', { permissionMode: 'full' });
    await s.call(session, 'incident_create', { title: 'from the session' });
    await s.call(s.owner, 'incident_create', { title: 'from the owner' });
    await s.call(session, 'file_write', { path: join(s.outsideDir, 'a.txt'), content: 'a' });

    const all = ledgerEventsAnswerSchema.parse(await s.call(s.owner, 'ledger_events', {}));
    expect(all.events.map((e) => e.kind)).toEqual([
      'mutation.done',
      'mutation.requested',
      'incident.create',
      'incident.create',
    ]); // newest first
    expect(all.head).toEqual({ seq: 4, hash: all.events[0]!.hash });
    const creates = ledgerEventsAnswerSchema.parse(
      await s.call(s.owner, 'ledger_events', { kind: 'incident.create', order: 'asc' }),
    );
    expect(creates.events.map((e) => [e.actor, ledgerEntryIs(e, 'incident.create') && e.payload.title])).toEqual([
      ['session:ses_ledger001', 'from the session'],
      ['owner', 'from the owner'],
    ]);
    // A session reads only what it did itself.
    const own = ledgerEventsAnswerSchema.parse(
      await s.call(session, 'ledger_events', { kind: 'incident.create', order: 'asc' }),
    );
    expect(own.events.map((e) => [e.actor, ledgerEntryIs(e, 'incident.create') && e.payload.title])).toEqual([
      ['session:ses_ledger001', 'from the session'],
    ]);
    const bySession = ledgerEventsAnswerSchema.parse(
      await s.call(s.owner, 'ledger_events', { actor: 'session:ses_ledger001', limit: 2 }),
    );
    expect(bySession).toMatchObject({
      hasMore: true,
      events: [
        { seq: 4, kind: 'mutation.done' },
        { seq: 3, kind: 'mutation.requested' },
      ],
    });

    const receipts = receiptListAnswerSchema.parse(await s.call(s.owner, 'receipt_list', {}));
    expect(receipts.receipts).toEqual([
      expect.objectContaining({
        kind: 'mutation',
        actor: 'session:ses_ledger001',
        ledgerSeq: 4,
        summary: `create ${join(s.outsideDir, 'a.txt')} with 1 byte (outside the work dir)`,
      }),
    ]);
    expect(await s.call(s.owner, 'receipt_list', { kind: 'backup.restore' })).toEqual({ receipts: [] });
  });

  it('backups: create and list; a restore brings back lost incidents and memories, and leaves the ledger as it was, plus its record', async () => {
    const s = await stack();
    const kept = incidentSchema.parse(await s.call(s.owner, 'incident_create', { title: 'kept through a restore' }));
    const remembered = memoryWrittenSchema.parse(
      await s.call(s.owner, 'memory_store', { summary: 'the backup drive is /mnt/usb' }),
    );
    const created = backupCreatedSchema.parse(await s.call(s.owner, 'backup_create'));
    expect(created.parts).toEqual(['ledger', 'agent', 'memory']);
    const listed = backupListAnswerSchema.parse(await s.call(s.owner, 'backup_list'));
    expect(listed.backups).toEqual([
      expect.objectContaining({ status: 'ok', backupId: created.backupId, parts: ['ledger', 'agent', 'memory'] }),
    ]);

    // Then things are lost and added: the incident's rows deleted by hand, a new incident and a new memory.
    const db = openSqlite(join(s.dataDir, 'agent.db'));
    db.prepare('DELETE FROM incidents WHERE id = ?').run(kept.id);
    db.close();
    await expect(s.call(s.owner, 'incident_get', { id: kept.id })).rejects.toMatchObject({ code: 'not_found' });
    const later = incidentSchema.parse(await s.call(s.owner, 'incident_create', { title: 'after the backup' }));
    const newer = memoryWrittenSchema.parse(
      await s.call(s.owner, 'memory_store', { summary: 'a memory made after the backup' }),
    );
    const ledgerBefore = [...s.ledger.iterate()];

    const restored = backupRestoredSchema.parse(
      await s.call(s.owner, 'backup_restore', { backupId: created.backupId }),
    );
    expect(restored).toMatchObject({
      restoredFrom: created.backupId,
      restored: ['receipts', 'incidents', 'memory'],
      reindexNeeded: true,
    });
    expect(restored.skipped.map((x) => x.name)).toEqual(['ledger']);
    expect(await s.call(s.owner, 'incident_get', { id: kept.id })).toEqual(kept);
    await expect(s.call(s.owner, 'incident_get', { id: later.id })).rejects.toMatchObject({ code: 'not_found' });
    const memories = memoryRecallAnswerSchema
      .parse(await s.call(s.owner, 'memory_recall', { query: 'backup drive memory', min_relevance: 0 }))
      .chunks.map((c) => c.memoryId);
    expect(memories).toContain(remembered.id);
    expect(memories).not.toContain(newer.id);

    // The ledger was not rolled back: every event is still there, and the restore is added after them.
    const ledgerAfter = [...s.ledger.iterate()];
    expect(ledgerAfter.slice(0, ledgerBefore.length)).toEqual(ledgerBefore);
    expect(ledgerAfter.slice(ledgerBefore.length).map((e) => e.kind)).toEqual([
      'backup.restore.requested',
      'backup.restore.done',
    ]);
    const done = ledgerAfter.at(-1)!;
    const receipts = receiptListAnswerSchema.parse(await s.call(s.owner, 'receipt_list', { kind: 'backup.restore' }));
    expect(receipts.receipts).toEqual([
      expect.objectContaining({ actor: 'owner', ledgerSeq: done.seq, summary: `restored ${created.backupId}` }),
    ]);
    await expect(s.call(s.owner, 'backup_restore', { backupId: '../../etc' })).rejects.toMatchObject({
      code: 'bad_request',
    });
    expectCleanLedger(s);
  });

  it('agent_card: a valid card naming this device, its ledger key, the socket, every catalog tool and every skill', async () => {
    const s = await stack();
    const card = agentCardSchema.parse(await s.call(s.owner, 'agent_card'));
    expect(card.fabric).toMatchObject({
      deviceId: s.deviceId,
      ledgerPublicKey: s.ledgerPublicKey,
      harnesses: [{ name: 'claude', version: '2.1.197' }],
    });
    expect(card.fabric.tools.map((t) => t.name)).toEqual(TOOL_CATALOG.map((t) => t.name).sort());
    expect(card.fabric.skills.map((t) => t.name)).toEqual(loadSkills().map((k) => k.name));
    expect(card.services).toContainEqual(
      expect.objectContaining({ name: 'agent-socket', endpoint: `unix:${s.socket.path}` }),
    );
  });
});

describe('mutations and approvals', () => {
  it('the owner is never asked: requested, then done, and a receipt pointing at the done event', async () => {
    const s = await stack();
    const path = join(s.outsideDir, 'hosts');
    writeFileSync(path, 'old\n');
    await s.call(s.owner, 'file_write', { path, content: 'new\n' });
    expect(s.asked).toEqual([]);
    const [requested, done, ...rest] = s.events();
    expect(rest).toEqual([]);
    expect(requested).toMatchObject({
      actor: 'owner',
      kind: 'mutation.requested',
      payload: {
        tool: 'file_write',
        destructive: true,
        summary: `overwrite ${path} with 4 bytes (outside the work dir)`,
      },
    });
    expect(done).toMatchObject({
      actor: 'owner',
      kind: 'mutation.done',
      payload: { tool: 'file_write', requestedSeq: requested!.seq, grant: 'owner' },
    });
    const { receipts } = receiptListAnswerSchema.parse(await s.call(s.owner, 'receipt_list', {}));
    expect(receipts).toEqual([expect.objectContaining({ actor: 'owner', kind: 'mutation', ledgerSeq: done!.seq })]);
    expectCleanLedger(s);
  });

  it('a session in mode ask is asked once, on one line, for an overwrite outside its work dir: allow writes, deny leaves the file', async () => {
    const s = await stack();
    const session = s.startSession('ses_ask000001');
    const path = join(s.outsideDir, 'config.ini');
    writeFileSync(path, 'port=80\n');

    s.answer(() => ({ decision: 'deny', reason: 'not today' }));
    await expect(s.call(session, 'file_write', { path, content: 'port=8080\n' })).rejects.toMatchObject({
      code: 'approval_denied',
      message: expect.stringContaining('not today'),
    });
    expect(readFileSync(path, 'utf8')).toBe('port=80\n');
    expect(s.asked).toEqual([
      {
        sessionId: 'ses_ask000001',
        req: {
          tool: 'fabric.file_write',
          summary: `overwrite ${path} with 10 bytes (outside the work dir)`,
          input: { path, content: 'port=8080\n' },
        },
      },
    ]);
    expect(s.asked[0]!.req.summary).not.toMatch(/\n/);
    expect(s.events().map((e) => e.kind)).toEqual(['mutation.requested', 'mutation.denied']);
    expect(s.events('mutation.denied')[0]).toMatchObject({
      actor: 'session:ses_ask000001',
      payload: { tool: 'file_write', requestedSeq: 1, reason: 'not today' },
    });

    s.answer(() => ({ decision: 'allow' }));
    expect(await s.call(session, 'file_write', { path, content: 'port=8080\n' })).toMatchObject({
      created: false,
      previousSha256: sha256('port=80\n'),
    });
    expect(readFileSync(path, 'utf8')).toBe('port=8080\n');
    expect(s.asked).toHaveLength(2);
    expect(s.events('mutation.done')[0]).toMatchObject({
      actor: 'session:ses_ask000001',
      payload: { grant: 'approved', requestedSeq: 3 },
    });
    expectCleanLedger(s);
  });

  it('a signal from a session in mode ask: deny keeps the process alive, allow delivers it', async () => {
    const s = await stack();
    const session = s.startSession('ses_signal001');
    const { pid, exited } = await sleeper();
    let gone = false;
    void exited.then(() => (gone = true));

    // The denied signal (TERM) differs from the allowed one (KILL): the process's own exit tells which one reached it.
    await expect(s.call(session, 'process_signal', { pid, signal: 'TERM' })).rejects.toMatchObject({
      code: 'approval_denied',
    });
    expect(s.asked.map((a) => a.req)).toEqual([
      { tool: 'fabric.process_signal', summary: `send TERM to pid ${pid} (sleep)`, input: { pid, signal: 'TERM' } },
    ]);
    expect(gone).toBe(false);
    expect(() => process.kill(pid, 0)).not.toThrow();

    s.answer(({ sessionId, req }) =>
      sessionId === 'ses_signal001' && req.tool === 'fabric.process_signal'
        ? { decision: 'allow' }
        : { decision: 'deny' },
    );
    await s.call(session, 'process_signal', { pid, signal: 'KILL' });
    expect(await exited).toEqual([null, 'SIGKILL']);
    expect(s.events().map((e) => e.kind)).toEqual([
      'mutation.requested',
      'mutation.denied',
      'mutation.requested',
      'mutation.done',
    ]);
    expectCleanLedger(s);
  });

  it('asks in mode auto-edit too, and asks nothing in mode full', async () => {
    const s = await stack({ systemd: 'fake' });
    const edit = s.startSession('ses_autoedit1', { permissionMode: 'auto-edit' });
    const full = s.startSession('ses_fullmode1', { permissionMode: 'full' });
    await expect(s.call(edit, 'service_restart', { service: 'nginx' })).rejects.toMatchObject({
      code: 'approval_denied',
    });
    expect(s.asked.map((a) => [a.sessionId, a.req.summary])).toEqual([['ses_autoedit1', 'restart service nginx']]);
    expect(s.systemctlCalls()).toEqual([]);

    await s.call(full, 'service_restart', { service: 'nginx' });
    const path = join(s.outsideDir, 'x.txt');
    writeFileSync(path, 'x');
    await s.call(full, 'file_delete', { path });
    expect(s.asked).toHaveLength(1);
    expect(s.systemctlCalls()).toEqual([['--no-ask-password', 'restart', '--', 'nginx.service']]);
    expect(s.events('mutation.done').map((e) => e.payload.grant)).toEqual([
      'permission_mode_full',
      'permission_mode_full',
    ]);
  });

  it('creating a new file, and changing files inside the work dir, are not asked about', async () => {
    const s = await stack();
    const session = s.startSession('ses_workdir01');
    const inside = join(session.workDir, 'main.ts');
    writeFileSync(inside, 'let a = 1;\n');
    await s.call(session, 'file_write', { path: inside, content: 'let a = 2;\n' });
    await s.call(session, 'file_delete', { path: inside });
    await s.call(session, 'file_write', { path: join(s.outsideDir, 'new.txt'), content: 'hello' });
    expect(s.asked).toEqual([]);
    expect(s.events('mutation.requested').map((e) => e.payload.destructive)).toEqual([false, false, false]);
    expect(s.events('mutation.done').map((e) => e.payload.grant)).toEqual([
      'not_destructive',
      'not_destructive',
      'not_destructive',
    ]);
    expect(readFileSync(join(s.outsideDir, 'new.txt'), 'utf8')).toBe('hello');
  });

  /** A home dir of its own for this test ($HOME, which `os.homedir()` reads), put back at cleanup. */
  function fakeHome(s: AgentStack): string {
    const home = join(dirname(s.dataDir), 'home-me');
    mkdirSync(home, { recursive: true });
    const saved = process.env.HOME;
    process.env.HOME = home;
    cleanups.push(() => {
      if (saved === undefined) delete process.env.HOME;
      else process.env.HOME = saved;
    });
    return home;
  }

  it.each<[string, (s: AgentStack) => { workDir: string; dir: string }]>([
    ['/', (s) => ({ workDir: '/', dir: s.outsideDir })],
    [
      'a home dir itself',
      (s) => {
        const home = fakeHome(s);
        return { workDir: home, dir: home };
      },
    ],
    ['a dir that holds the data dir', (s) => ({ workDir: dirname(s.dataDir), dir: s.outsideDir })],
  ])(
    'a session whose work dir is %s is asked for every overwrite and delete under it: nothing counts as inside',
    async (_name, where) => {
      const s = await stack();
      const { workDir, dir } = where(s);
      const session = s.startSession('ses_rootcwd01', { workDir });
      const path = join(dir, 'hosts');
      writeFileSync(path, '127.0.0.1 localhost\n');
      await expect(s.call(session, 'file_write', { path, content: '10.0.0.66 localhost\n' })).rejects.toMatchObject({
        code: 'approval_denied',
      });
      await expect(s.call(session, 'file_delete', { path })).rejects.toMatchObject({ code: 'approval_denied' });
      expect(readFileSync(path, 'utf8')).toBe('127.0.0.1 localhost\n');
      expect(s.asked.map((a) => a.req.tool)).toEqual(['fabric.file_write', 'fabric.file_delete']);
      expect(s.events('mutation.requested').map((e) => e.payload.destructive)).toEqual([true, true]);
      expect(s.events('mutation.done')).toEqual([]);
    },
  );

  it('refuses a path in the data dir before anyone is asked or anything is recorded', async () => {
    const s = await stack();
    const session = s.startSession('ses_datadir01', { permissionMode: 'full' });
    s.answer(() => ({ decision: 'allow' }));
    for (const endpoint of [session, s.owner]) {
      await expect(
        s.call(endpoint, 'file_write', { path: join(s.dataDir, 'planted.txt'), content: 'x' }),
      ).rejects.toMatchObject({ code: 'path_not_allowed' });
      await expect(s.call(endpoint, 'file_delete', { path: join(s.dataDir, 'ledger.db') })).rejects.toMatchObject({
        code: 'path_not_allowed',
      });
    }
    expect(existsSync(join(s.dataDir, 'planted.txt'))).toBe(false);
    expect(existsSync(join(s.dataDir, 'ledger.db'))).toBe(true);
    expect(s.asked).toEqual([]);
    expect(s.ledger.count()).toBe(0);
  });

  it('answers session_not_found for a session that is not running, without asking or recording', async () => {
    const s = await stack();
    const session = s.startSession('ses_stopped01');
    s.endSession('ses_stopped01');
    const { pid } = await sleeper();
    await expect(s.call(session, 'process_signal', { pid, signal: 'TERM' })).rejects.toMatchObject({
      code: 'session_not_found',
    });
    expect(() => process.kill(pid, 0)).not.toThrow();
    expect(s.asked).toEqual([]);
    expect(s.ledger.count()).toBe(0);
  });

  it('a systemctl that fails is a done mutation whose answer says ok: false, with its stderr', async () => {
    const s = await stack({ systemd: 'fake' });
    const answer = await s.call(s.owner, 'service_restart', { service: BROKEN_SERVICE });
    expect(answer).toEqual({ service: BROKEN_SERVICE, action: 'restart', ok: false, stderrTail: BROKEN_STDERR });
    expect(s.events().map((e) => e.kind)).toEqual(['mutation.requested', 'mutation.done']);
    expect(s.events('mutation.done')[0]!.payload.result).toEqual(answer);
    const { receipts } = receiptListAnswerSchema.parse(await s.call(s.owner, 'receipt_list', {}));
    expect(receipts).toEqual([
      expect.objectContaining({
        summary: 'restart service broken',
        detail: expect.objectContaining({ result: answer }),
      }),
    ]);
  });

  it('a file that vanished while the owner decided fails on the record, with no receipt', async () => {
    const s = await stack();
    const session = s.startSession('ses_vanish001');
    const path = join(s.outsideDir, 'doomed.log');
    writeFileSync(path, 'bye');
    s.answer(() => {
      unlinkSync(path); // someone else removed it while the owner was deciding
      return { decision: 'allow' };
    });
    await expect(s.call(session, 'file_delete', { path })).rejects.toMatchObject({ code: 'not_found' });
    expect(s.events().map((e) => e.kind)).toEqual(['mutation.requested', 'mutation.failed']);
    expect(s.events('mutation.failed')[0]).toMatchObject({
      actor: 'session:ses_vanish001',
      payload: { tool: 'file_delete', requestedSeq: 1, code: 'not_found' },
    });
    expect(await s.call(s.owner, 'receipt_list', {})).toEqual({ receipts: [] });
    expectCleanLedger(s);
  });

  it('a session may neither back up nor restore, and is refused before anything is asked or recorded', async () => {
    const s = await stack();
    const session = s.startSession('ses_restore01', { permissionMode: 'full' });
    s.answer(() => ({ decision: 'allow' }));
    const { backupId } = backupCreatedSchema.parse(await s.call(s.owner, 'backup_create'));
    const before = s.ledger.count();
    await expect(s.call(session, 'backup_create')).rejects.toMatchObject({ code: 'forbidden' });
    await expect(s.call(session, 'backup_restore', { backupId })).rejects.toMatchObject({ code: 'forbidden' });
    expect(s.asked).toEqual([]);
    expect(s.ledger.count()).toBe(before);
    expect(backupListAnswerSchema.parse(await s.call(session, 'backup_list')).backups.map((b) => b.backupId)).toEqual([
      backupId,
    ]);
  });

  it('a restore of a backup that does not exist, or from a session, is refused before asking or recording', async () => {
    const s = await stack();
    const session = s.startSession('ses_restore02');
    s.answer(() => ({ decision: 'allow' }));
    const { backupId } = backupCreatedSchema.parse(await s.call(s.owner, 'backup_create'));
    const before = s.ledger.count();
    const missing = backupId.replace(/_[a-z0-9]{8}$/, '_00000000');
    await expect(s.call(s.owner, 'backup_restore', { backupId: missing })).rejects.toMatchObject({ code: 'not_found' });
    s.endSession('ses_restore02');
    await expect(s.call(session, 'backup_restore', { backupId })).rejects.toMatchObject({ code: 'forbidden' });
    expect(s.asked).toEqual([]);
    expect(s.ledger.count()).toBe(before);
  });
});
