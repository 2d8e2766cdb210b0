import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  ledgerEntryFromRow,
  ledgerEntryIs,
  ledgerEntrySchema,
  ledgerEventKinds,
  ledgerEventSchema,
  ledgerEventsAnswerSchema,
  ledgerRowSchema,
  type LedgerEvent,
  type LedgerRow,
} from './index.js';

const DEV = 'dev_Pi5kitchen0000001';
const SES = 'ses_Wq3xT7bLm9Kd2Rz8';
const BAK = 'bak_20260105T090027000Z_k3m9x2qa';
const SHA = 'a'.repeat(64);

/**
 * Each kind's payload as its call site builds it (daemon `device.ts`,
 * `audit/ledger/pairing.ts`, the modules in `modules/`), keys in
 * the order it writes them.
 */
const written: [string, LedgerEvent][] = [
  [
    'recordPairing after optimal pair / optimal up',
    { kind: 'device.paired', payload: { deviceId: DEV, name: 'pi-kitchen', server: 'https://fabric.example' } },
  ],
  ['startDevice', { kind: 'daemon.start', payload: { deviceId: DEV, pid: 4242 } }],
  ['stop()', { kind: 'daemon.stop', payload: { deviceId: DEV } }],
  [
    'session.ack with the runner context',
    {
      kind: 'session.start',
      payload: { sessionId: SES, pid: 5151, harness: 'claude', workDir: '/home/pi/work', permissionMode: 'ask' },
    },
  ],
  [
    'session.ack for a session the runner no longer knows',
    {
      kind: 'session.start',
      payload: { sessionId: SES, pid: null, harness: null, workDir: null, permissionMode: null },
    },
  ],
  ['session.refuse', { kind: 'session.refuse', payload: { sessionId: SES, code: 'sandbox_unavailable' } }],
  ['session.exit with a code', { kind: 'session.exit', payload: { sessionId: SES, code: 0, signal: null } }],
  ['session.exit on a signal', { kind: 'session.exit', payload: { sessionId: SES, code: null, signal: 'SIGTERM' } }],
  [
    'endLeftovers',
    {
      kind: 'session.leftover',
      payload: {
        sessionId: SES,
        pid: 6161,
        sandboxed: true,
        outcome: 'killed',
        reason: 'left running by a previous run of the daemon',
      },
    },
  ],
  [
    'session.approval_request',
    {
      kind: 'approval.request',
      payload: { sessionId: SES, requestId: 'toolu_01Xyz', tool: 'Bash', summary: 'run: rm -rf build/' },
    },
  ],
  [
    'onApprovalSettled by the owner',
    {
      kind: 'approval.decision',
      payload: { sessionId: SES, requestId: 'toolu_01Xyz', decision: 'allow', reason: null, by: 'owner' },
    },
  ],
  [
    'onApprovalSettled when the session went',
    {
      kind: 'approval.decision',
      payload: { sessionId: SES, requestId: 'r1', decision: 'deny', reason: 'the session ended', by: 'session_gone' },
    },
  ],
  ['credentials decrypted', { kind: 'vault.access', payload: { sessionId: SES, names: ['GITHUB_TOKEN'], ok: true } }],
  [
    'credentials refused',
    {
      kind: 'vault.access',
      payload: { sessionId: SES, names: ['GITHUB_TOKEN', 'NPM_TOKEN'], ok: false, code: 'credential_unavailable' },
    },
  ],
  [
    'a file write planned',
    {
      kind: 'mutation.requested',
      payload: {
        tool: 'file_write',
        summary: 'create /home/pi/project/notes.txt with 14 bytes',
        destructive: false,
        plan: { kind: 'file_write', path: '/home/pi/project/notes.txt', where: 'work_dir', exists: false, bytes: 14 },
      },
    },
  ],
  [
    'a signal planned',
    {
      kind: 'mutation.requested',
      payload: {
        tool: 'process_signal',
        summary: 'send TERM to pid 7777',
        destructive: true,
        plan: { kind: 'process_signal', pid: 7777, signal: 'TERM', name: null },
      },
    },
  ],
  [
    'a service action planned',
    {
      kind: 'mutation.requested',
      payload: {
        tool: 'service_restart',
        summary: 'restart service nginx',
        destructive: true,
        plan: { kind: 'service_action', unit: 'nginx.service', action: 'restart' },
      },
    },
  ],
  [
    'a delete planned',
    {
      kind: 'mutation.requested',
      payload: {
        tool: 'file_delete',
        summary: 'delete /srv/old.log (5 bytes) (outside the work dir)',
        destructive: true,
        plan: { kind: 'file_delete', path: '/srv/old.log', where: 'outside', bytes: 5 },
      },
    },
  ],
  [
    'denied by the owner',
    { kind: 'mutation.denied', payload: { tool: 'process_signal', requestedSeq: 3, reason: null } },
  ],
  [
    'the executor failed',
    {
      kind: 'mutation.failed',
      payload: { tool: 'service_restart', requestedSeq: 4, code: 'unsupported', message: 'systemd is not running' },
    },
  ],
  [
    'a file written',
    {
      kind: 'mutation.done',
      payload: {
        tool: 'file_write',
        requestedSeq: 5,
        grant: 'not_destructive',
        result: { path: '/home/pi/project/notes.txt', bytes: 14, created: true, previousSha256: null, sha256: SHA },
      },
    },
  ],
  [
    'a file deleted',
    {
      kind: 'mutation.done',
      payload: {
        tool: 'file_delete',
        requestedSeq: 6,
        grant: 'approved',
        result: { path: '/srv/old.log', bytes: 5, sha256: SHA },
      },
    },
  ],
  [
    'a process signalled',
    {
      kind: 'mutation.done',
      payload: {
        tool: 'process_signal',
        requestedSeq: 7,
        grant: 'permission_mode_full',
        result: { pid: 7777, name: 'sleep', signal: 'TERM' },
      },
    },
  ],
  [
    'a service restarted',
    {
      kind: 'mutation.done',
      payload: {
        tool: 'service_restart',
        requestedSeq: 8,
        grant: 'owner',
        result: { service: 'nginx.service', action: 'restart', ok: false, stderrTail: 'Job for nginx.service failed.' },
      },
    },
  ],
  [
    'memory_store',
    {
      kind: 'memory.store',
      payload: { id: 'mem_Zx81Qa0Lp3Rt7Vb2', file: '2026-01-05-the-cache.md', category: 'note' },
    },
  ],
  [
    'memory_ingest by the owner',
    {
      kind: 'memory.ingest',
      payload: { id: 'mem_Pq63Jf8Tz5Gy0Xe1', file: '2026-01-05-readme.md', source: 'README.md', chars: 1204 },
    },
  ],
  [
    'memory_ingest by a session that named another source',
    {
      kind: 'memory.ingest',
      payload: {
        id: 'mem_Mn72Kd9Sx4Hq1Wc6',
        file: '2026-01-05-runbook.md',
        source: `session:${SES}`,
        claimedSource: 'runbook.md',
        chars: 88,
      },
    },
  ],
  [
    'memory_reindex',
    {
      kind: 'memory.reindex',
      payload: { memories: 3, chunks: 5, errors: [{ file: 'broken.md', message: 'no frontmatter' }], ms: 12.3 },
    },
  ],
  ['incident_create', { kind: 'incident.create', payload: { id: 'inc_Rb5Ny2Wm8Lc4Kv7T', title: 'nginx 502' } }],
  [
    'incident_step',
    { kind: 'incident.step', payload: { id: 'inc_Rb5Ny2Wm8Lc4Kv7T', step: 1, action: 'restart php-fpm' } },
  ],
  [
    'incident_close',
    { kind: 'incident.close', payload: { id: 'inc_Rb5Ny2Wm8Lc4Kv7T', resolution: 'socket permissions fixed' } },
  ],
  ['backup_create', { kind: 'backup.create', payload: { backupId: BAK, sizeBytes: 123456 } }],
  ['backup_restore asked', { kind: 'backup.restore.requested', payload: { backupId: BAK } }],
  [
    'backup_restore failed',
    { kind: 'backup.restore.failed', payload: { backupId: BAK, requestedSeq: 9, message: 'manifest mismatch' } },
  ],
  [
    'backup_restore done',
    {
      kind: 'backup.restore.done',
      payload: { backupId: BAK, requestedSeq: 9, restored: ['receipts', 'incidents', 'memory'], reindexError: null },
    },
  ],
  [
    'backup_restore done, the index not rebuilt',
    {
      kind: 'backup.restore.done',
      payload: { backupId: BAK, requestedSeq: 9, restored: ['memory'], reindexError: 'memory is closed' },
    },
  ],
];

/** Payloads a writer must not get through, with why. */
const wrong: [string, unknown][] = [
  ['an unknown kind', { kind: 'fs.write', payload: { path: '/x' } }],
  ['a missing field', { kind: 'session.exit', payload: { sessionId: SES, code: 0 } }],
  ['an unknown field', { kind: 'daemon.stop', payload: { deviceId: DEV, extra: 1 } }],
  ['a wrong type', { kind: 'daemon.start', payload: { deviceId: DEV, pid: '4242' } }],
  ['a malformed id', { kind: 'daemon.stop', payload: { deviceId: 'pi' } }],
  ['NUL in a string', { kind: 'incident.create', payload: { id: 'inc_Rb5Ny2Wm8Lc4Kv7T', title: 'a\0b' } }],
  [
    'a string over its bound',
    { kind: 'incident.create', payload: { id: 'inc_Rb5Ny2Wm8Lc4Kv7T', title: 'x'.repeat(201) } },
  ],
  ['a refusal without its code', { kind: 'vault.access', payload: { sessionId: SES, names: [], ok: false } }],
  ['a code outside the error codes', { kind: 'session.refuse', payload: { sessionId: SES, code: 'oops' } }],
  [
    'a plan of another kind than its fields',
    {
      kind: 'mutation.requested',
      payload: {
        tool: 'file_write',
        summary: 's',
        destructive: false,
        plan: { kind: 'file_delete', path: '/a', exists: true },
      },
    },
  ],
  [
    'a result no mutation tool answers',
    { kind: 'mutation.done', payload: { tool: 'file_write', requestedSeq: 1, grant: 'owner', result: { ok: true } } },
  ],
  ['no payload at all', { kind: 'daemon.start', payload: null }],
];

const fixtureRows = (): LedgerRow[] =>
  readFileSync(fileURLToPath(new URL('../fixtures/ledger.v1.jsonl', import.meta.url)), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => ledgerRowSchema.parse(JSON.parse(l)));

describe('ledger events', () => {
  it('has a written example for every kind, and no example of a kind it does not name', () => {
    expect([...new Set(written.map(([, e]) => e.kind))].sort()).toEqual([...ledgerEventKinds].sort());
  });

  it.each(written)('parses what its call site writes: %s', (_why, ev) => {
    const parsed = ledgerEventSchema.parse(ev);
    expect(parsed).toEqual(ev);
    // Keys in the writer's order: a parsed payload serialises to the text the hash covered.
    expect(JSON.stringify(parsed)).toBe(JSON.stringify(ev));
  });

  it.each(wrong)('refuses %s', (_why, ev) => {
    expect(ledgerEventSchema.safeParse(ev).success).toBe(false);
  });
});

describe('reading stored rows', () => {
  const rows = fixtureRows();

  it('reads every row a daemon wrote before events were typed: known ones typed, the rest legacy as stored', () => {
    const entries = rows.map(ledgerEntryFromRow);
    const legacy = entries.filter((e) => 'legacy' in e).map((e) => [e.seq, e.kind]);
    expect(legacy).toEqual([
      [38, 'fs.write'],
      [39, 'backup.restore.denied'],
      [40, 'backup.restore.done'], // written before it carried reindexError
      [41, 'daemon.start'], // a payload of another shape
      [42, 'session.start'], // null
      [43, 'test.one'],
      [44, 'session.exit'], // a key this version does not know
    ]);
    for (const [i, e] of entries.entries()) {
      const row = rows[i]!;
      expect(e).toMatchObject({ seq: row.seq, ts: row.ts, actor: row.actor, kind: row.kind, hash: row.hash });
      expect(JSON.stringify(e.payload)).toBe(row.payload);
    }
    expect(entries[41]).toMatchObject({ kind: 'session.start', payload: null, legacy: true });
    expect(entries[42]).toMatchObject({ payload: '€ and ✓', legacy: true });
  });

  it('narrows a typed entry by kind, never a legacy one', () => {
    const entries = rows.map(ledgerEntryFromRow);
    const exits = entries.filter((e) => ledgerEntryIs(e, 'session.exit'));
    expect(exits.map((e) => e.seq)).toEqual([34, 35]);
    const first = exits[0];
    if (!first || !ledgerEntryIs(first, 'session.exit')) throw new Error('no session.exit');
    expect(first.payload.code).toBe(0);
    expect(ledgerEntryIs(entries[43]!, 'session.exit')).toBe(false);
  });

  it('keeps a payload that is not JSON as its text', () => {
    const row = { ...rows[0]!, payload: '{"tampered":' };
    expect(ledgerEntryFromRow(row)).toMatchObject({ kind: 'device.paired', payload: '{"tampered":', legacy: true });
  });

  it('checks entries on the wire against their kind, passing payloads through unchanged', () => {
    const entries = rows.map(ledgerEntryFromRow);
    const answer = ledgerEventsAnswerSchema.parse({ events: entries, hasMore: false, head: null });
    expect(answer.events.map((e) => JSON.stringify(e.payload))).toEqual(rows.map((r) => r.payload));
    expect(answer.events.map((e) => 'legacy' in e)).toEqual(entries.map((e) => 'legacy' in e));
    // A typed entry whose payload is not of its kind is refused; marked legacy it is not.
    const lying = { ...entries[1]!, payload: { version: '1' } };
    expect(ledgerEntrySchema.safeParse(lying).success).toBe(false);
    expect(ledgerEntrySchema.safeParse({ ...lying, legacy: true }).success).toBe(true);
  });
});
