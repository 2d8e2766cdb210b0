import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ledgerEntryIs,
  type LedgerEventsAnswer,
  type LedgerVerifyReport,
  type MemoryRecallAnswer,
  type SessionView,
} from '@fabric/protocol';
import { eventHash, TOOL_CATALOG } from '@fabric/daemon';
import { harnessFixture, installFakeClis } from '../../daemon/test/fake-cli/index.js';
import { Proc, optimal, tempDir, until } from './procs.js';

/**
 * The device as an agent-ready system, end to end: `optimal up` (control
 * plane + device daemon), every agent tool through `optimal agent`, harness
 * sessions that reach the daemon's MCP server through the wiring the daemon
 * gave them, and `optimal ledger verify` against an honest ledger and against
 * falsified ones, with the checkpoints the control plane holds.
 */
const fakes = installFakeClis({
  // Each fake CLI starts the MCP server it was configured with and calls a tool, then prints a recorded run.
  claude: {
    version: '2.1.197',
    steps: [
      { read: 1 },
      {
        mcp: {
          tool: 'memory_store',
          arguments: { summary: 'claude was here: the cache lives in /var/cache/app', category: 'session' },
        },
      },
      { mcp: { tool: 'health' } },
      { replay: harnessFixture('claude/session.jsonl') },
    ],
  },
  codex: {
    version: '0.169.0',
    steps: [
      { mcp: { tool: 'incident_create', arguments: { title: 'opened by codex' } } },
      { readUntilEof: true },
      { replay: harnessFixture('codex/exec-full.jsonl') },
    ],
  },
});
const D = tempDir('agent');
const OUTSIDE = tempDir('agent-outside');
let up: Proc;
const cli = (args: string[], input?: string) =>
  optimal([...args, '--data', D.path], { timeoutMs: 30_000, ...(input === undefined ? {} : { input }) });
const ok = async (args: string[], input?: string) => {
  const r = await cli(args, input);
  expect(r.code, `optimal ${args.join(' ')}: ${r.stderr}`).toBe(0);
  return r.stdout;
};
const json = async <T>(args: string[], input?: string) => JSON.parse(await ok([...args, '--json'], input)) as T;
const ledgerEvents = async (filter: string[]) =>
  (await json<LedgerEventsAnswer>(['agent', 'ledger', ...filter, '--limit', '1000'])).events;
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
const startUp = async () => {
  up = new Proc(['up', '--data', D.path, '--port', '0'], fakes.env());
  await up.waitFor(/device online/, 60_000);
};
const verify = async (extra: string[] = []) => {
  const r = await cli(['ledger', 'verify', '--json', ...extra]);
  return { code: r.code, report: JSON.parse(r.stdout) as LedgerVerifyReport };
};

beforeAll(startUp, 90_000);

afterAll(async () => {
  await up?.kill('SIGTERM');
  fakes.remove();
  D.remove();
  OUTSIDE.remove();
});

describe('optimal agent: every tool from the command line, as the owner', () => {
  it('lists exactly the catalog', async () => {
    const { tools } = await json<{ tools: { name: string }[] }>(['agent', 'tools']);
    expect(tools.map((t) => t.name)).toEqual(TOOL_CATALOG.map((t) => t.name));
  });

  it('answers health and system queries with typed answers', async () => {
    const health = await json<{ cpu: { cores: number }; ram: { totalBytes: number }; uptimeSeconds: number }>([
      'agent',
      'health',
    ]);
    expect(health.cpu.cores).toBeGreaterThan(0);
    expect(health.ram.totalBytes).toBeGreaterThan(0);
    const procs = await json<{ query: string; processes: { pid: number }[] }>([
      'agent',
      'query',
      'processes',
      '--name',
      'node',
      '--limit',
      '500',
    ]);
    expect(procs.query).toBe('processes');
    expect(procs.processes.map((p) => p.pid)).toContain(up.child.pid);
    const ports = await json<{ ports: { port: number }[] }>(['agent', 'query', 'ports']);
    const port = Number(/127\.0\.0\.1:(\d+)/.exec(up.stdout)![1]);
    expect(ports.ports.map((p) => p.port)).toContain(port);
    for (const what of ['network', 'disks', 'users'])
      expect((await json<{ query: string }>(['agent', 'query', what])).query).toBe(what);
    // Options that belong to another question are refused, not ignored.
    const bad = await cli(['agent', 'query', 'network', '--sort', 'cpu']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^optimal: bad_request: system_query: sort applies to processes only/);
    const services = await cli(['agent', 'query', 'services', '--json']);
    if (existsSync('/run/systemd/system')) expect(services.code).toBe(0);
    else expect(services.stderr).toMatch(/^optimal: unsupported: /);
    // Human output is an outline, not JSON.
    expect(await ok(['agent', 'health'])).toMatch(/^cpu:\n {2}cores: \d+/);
  });

  it('writes, overwrites and deletes a file and signals a process, each on the record before and after, with a receipt', async () => {
    const file = join(OUTSIDE.path, 'notes.txt');
    const created = await json<{ created: boolean; sha256: string }>(
      ['agent', 'file', 'write', file, '-'],
      'first version\n',
    );
    expect(created).toMatchObject({ created: true, sha256: sha256('first version\n') });
    const replaced = await json<{ created: boolean; previousSha256: string }>(
      ['agent', 'file', 'write', file, '-'],
      'second version\n',
    );
    expect(replaced).toMatchObject({ created: false, previousSha256: sha256('first version\n') });
    expect(readFileSync(file, 'utf8')).toBe('second version\n');
    await json(['agent', 'file', 'rm', file]);
    expect(existsSync(file)).toBe(false);
    // The data dir (keys, tokens, the ledger itself) is off limits, even to the owner's agent tools.
    const forbidden = await cli(['agent', 'file', 'rm', join(D.path, 'ledger.key')]);
    expect(forbidden.stderr).toMatch(/^optimal: path_not_allowed: /);

    const sleeper = spawn('sleep', ['30']);
    const exited = new Promise<NodeJS.Signals | null>((resolve) => sleeper.on('exit', (_c, sig) => resolve(sig)));
    expect(
      await json<{ pid: number; signal: string; name: string }>([
        'agent',
        'signal',
        String(sleeper.pid),
        '--signal',
        'TERM',
      ]),
    ).toMatchObject({ pid: sleeper.pid, signal: 'TERM', name: 'sleep' });
    expect(await exited).toBe('SIGTERM');

    const requested = await ledgerEvents(['--kind', 'mutation.requested']);
    const done = await ledgerEvents(['--kind', 'mutation.done']);
    expect(requested).toHaveLength(4);
    expect(done).toHaveLength(4);
    for (const e of [...requested, ...done]) expect(e.actor).toBe('owner');
    // Every done event points at its request, and nothing of the file's content is in the ledger.
    const requestSeqs = new Set(requested.map((e) => e.seq));
    for (const e of done)
      expect(ledgerEntryIs(e, 'mutation.done') && requestSeqs.has(e.payload.requestedSeq)).toBe(true);
    expect(JSON.stringify(await ledgerEvents([]))).not.toContain('second version');
    const { receipts } = await json<{ receipts: { kind: string; summary: string; ledgerSeq: number }[] }>([
      'agent',
      'receipts',
      '--kind',
      'mutation',
    ]);
    expect(receipts.map((r) => r.summary)).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^create .*notes\.txt with 14 bytes/),
        expect.stringMatching(/^send TERM to pid \d+ \(sleep\)/),
      ]),
    );
    expect(receipts.map((r) => r.ledgerSeq).sort()).toEqual(done.map((e) => e.seq).sort());

    // Without systemd the executor says so, and the ledger records the failure after the request.
    const restart = await cli(['agent', 'service', 'restart', 'nginx']);
    if (!existsSync('/run/systemd/system')) {
      expect(restart.stderr).toMatch(/^optimal: unsupported: /);
      expect((await ledgerEvents(['--kind', 'mutation.failed']))[0]!.payload).toMatchObject({ code: 'unsupported' });
    }
  });

  it('remembers, ingests and recalls by relevance, and rebuilds the index from the files', async () => {
    await json([
      'agent',
      'memory',
      'store',
      'the backup disk is /dev/sdb1 mounted at /srv/backup',
      '--category',
      'infra',
      '--tag',
      'disk',
    ]);
    await json(
      ['agent', 'memory', 'ingest', '-', '--source', 'runbook.md', '--title', 'nginx runbook'],
      '# When nginx answers 502\n\nRestart php-fpm first, then check the upstream socket permissions.\n',
    );
    const recall = await json<MemoryRecallAnswer>(['agent', 'memory', 'recall', 'nginx 502 upstream', '--max', '3']);
    expect(recall.chunks[0]!.text).toContain('php-fpm');
    const reindex = await json<{ memories: number; chunks: number }>(['agent', 'memory', 'reindex']);
    expect(reindex.memories).toBeGreaterThanOrEqual(2);
    const after = await json<MemoryRecallAnswer>(['agent', 'memory', 'recall', 'where is the backup disk mounted']);
    expect(after.chunks[0]!.text).toContain('/srv/backup');
    expect((await json<{ memories: number }>(['agent', 'memory', 'health'])).memories).toBe(reindex.memories);
  });

  it('keeps incident workspaces, backs up and restores them without rolling the ledger back', async () => {
    const incident = await json<{ id: string; status: string }>([
      'agent',
      'incident',
      'create',
      'disk filling up',
      '--severity',
      'high',
    ]);
    await json(['agent', 'incident', 'step', incident.id, 'checked du -sh /var/log', '--result', 'journal is 9 GB']);
    const closed = await json<{ status: string; steps: unknown[]; resolution: string }>([
      'agent',
      'incident',
      'close',
      incident.id,
      '--resolution',
      'vacuumed the journal',
    ]);
    expect(closed).toMatchObject({ status: 'closed', resolution: 'vacuumed the journal' });
    expect((await json<{ steps: unknown[] }>(['agent', 'incident', 'show', incident.id])).steps).toHaveLength(1);
    expect(
      (await json<{ incidents: { id: string }[] }>(['agent', 'incident', 'ls', '--status', 'closed'])).incidents.map(
        (i) => i.id,
      ),
    ).toContain(incident.id);

    const backup = await json<{ backupId: string }>(['agent', 'backup', 'create']);
    expect(
      (await json<{ backups: { backupId: string; status: string }[] }>(['agent', 'backup', 'ls'])).backups[0],
    ).toMatchObject({ backupId: backup.backupId, status: 'ok' });
    const later = await json<{ id: string }>(['agent', 'incident', 'create', 'opened after the backup']);
    const ledgerBefore = (await ledgerEvents([])).length;
    const restored = await json<{ status: string }>(['agent', 'backup', 'restore', backup.backupId]);
    expect(restored.status).toBe('restored');
    const ids = (await json<{ incidents: { id: string }[] }>(['agent', 'incident', 'ls'])).incidents.map((i) => i.id);
    expect(ids).toContain(incident.id);
    expect(ids).not.toContain(later.id);
    // The ledger kept everything and recorded the restore.
    expect((await ledgerEvents([])).length).toBeGreaterThan(ledgerBefore);
    expect(await ledgerEvents(['--kind', 'backup.restore.done'])).toHaveLength(1);
  });

  it('shows the agent card and the skills', async () => {
    const card = await json<{ type: string; fabric: { tools: { name: string }[]; skills: { name: string }[] } }>([
      'agent',
      'card',
    ]);
    expect(card.type).toBe('https://eips.ethereum.org/EIPS/eip-8004#registration-v1');
    expect(card.fabric.tools.map((t) => t.name).sort()).toEqual(TOOL_CATALOG.map((t) => t.name).sort());
    expect(card.fabric.skills.map((s) => s.name)).toEqual(
      expect.arrayContaining(['self-healing', 'morning-briefing', 'system-monitor']),
    );
    expect(await ok(['agent', 'skills'])).toMatch(/^drift-detection\s+\S/m);
    expect(await ok(['agent', 'skills', 'self-healing'])).toContain('health');
    expect((await cli(['agent', 'call', 'no_such_tool'])).stderr).toMatch(
      /^optimal: not_found: no tool named "no_such_tool"/,
    );
  });
});

describe("sessions reach the daemon's tools through the MCP server they are wired to", () => {
  const finished = async (id: string) =>
    until(
      async () => {
        const s = JSON.parse(await ok(['session', 'show', id, '--json'])) as SessionView;
        return ['succeeded', 'failed', 'refused', 'cancelled'].includes(s.status) ? s : null;
      },
      30_000,
      `session ${id} to finish`,
    );

  it('a Claude Code session stores a memory and reads health through mcp__fabric__*', async () => {
    const { id } = await json<{ id: string }>([
      'session',
      'start',
      '--harness',
      'claude',
      '--prompt',
      'look after this machine',
    ]);
    expect((await finished(id)).status).toBe('succeeded');
    const call = fakes.calls('claude').at(-1)!;
    expect(call.mcp.map((m) => [m.tool, m.isError])).toEqual([
      ['memory_store', false],
      ['health', false],
    ]);
    expect(JSON.parse(call.mcp[1]!.text!)).toMatchObject({ cpu: { cores: expect.any(Number) } });
    // The session's token reached the MCP server through env, never through argv.
    expect(call.argv.join(' ')).not.toMatch(/FABRIC_SESSION_TOKEN=|[A-Za-z0-9_-]{43}/);
    const stored = await ledgerEvents(['--kind', 'memory.store', '--actor', `session:${id}`]);
    expect(stored).toHaveLength(1);
    const recall = await json<MemoryRecallAnswer>(['agent', 'memory', 'recall', 'where does the cache live']);
    expect(recall.chunks[0]!.text).toContain('/var/cache/app');
  });

  it('a Codex session opens an incident through the same server', async () => {
    const { id } = await json<{ id: string }>(['session', 'start', '--harness', 'codex', '--prompt', 'investigate']);
    expect((await finished(id)).status).toBe('succeeded');
    expect(fakes.calls('codex').at(-1)!.mcp).toEqual([
      { tool: 'incident_create', isError: false, text: expect.stringContaining('opened by codex') },
    ]);
    const { incidents } = await json<{ incidents: { title: string; openedBy: string }[] }>(['agent', 'incident', 'ls']);
    expect(incidents.find((i) => i.title === 'opened by codex')?.openedBy).toBe(`session:${id}`);
  });
});

describe('optimal ledger verify', () => {
  const file = () => join(D.path, 'ledger.db');
  /** What an attacker with the file does: a plain connection, the append-only triggers dropped. */
  const tamper = (fn: (db: Database.Database) => void) => {
    const db = new Database(file());
    db.exec('DROP TRIGGER IF EXISTS events_no_update; DROP TRIGGER IF EXISTS events_no_delete;');
    for (const { name } of db.prepare("SELECT name FROM sqlite_master WHERE type = 'trigger'").all() as {
      name: string;
    }[])
      db.exec(`DROP TRIGGER "${name}"`);
    fn(db);
    db.close();
  };

  it('passes an honest ledger, with the checkpoints the control plane holds', async () => {
    // The daemon logs an event it could not record (a payload outside its kind): there was none.
    expect(up.count(/ledger: could not record/)).toBe(0);
    // A restart sends a checkpoint of the head at once: everything so far is anchored.
    await up.kill('SIGTERM');
    await startUp();
    const report = await until(
      async () => {
        const v = await verify();
        return v.report.checkpoints.total >= 2 ? v : null;
      },
      15_000,
      'a second checkpoint',
    );
    expect(report.code).toBe(0);
    expect(report.report).toMatchObject({ ok: true, firstBad: null });
    expect(report.report.checkpoints.matched).toBe(report.report.checkpoints.total);
    expect(await ok(['ledger', 'verify'])).toMatch(
      /^ledger ok: \d+ events, head #\d+ [0-9a-f]{16}…; \d+ of \d+ signed checkpoint\(s\) match/,
    );
    // Every kind of event the issue lists is there, with its actor, and every event the daemon wrote reads back typed.
    const events = await ledgerEvents([]);
    expect(events.filter((e) => 'legacy' in e)).toEqual([]);
    const kinds = new Set(events.map((e) => e.kind));
    for (const k of [
      'device.paired',
      'daemon.start',
      'session.start',
      'session.exit',
      'mutation.requested',
      'mutation.done',
      'memory.store',
    ])
      expect(kinds).toContain(k);
  });

  it('names the event whose payload was edited', async () => {
    const seq = 3;
    let original = '';
    tamper((db) => {
      original = (db.prepare('SELECT payload FROM events WHERE seq = ?').get(seq) as { payload: string }).payload;
      db.prepare('UPDATE events SET payload = ? WHERE seq = ?').run('{"tampered":true}', seq);
    });
    const { code, report } = await verify();
    expect(code).toBe(1);
    expect(report.firstBad).toMatchObject({ seq, code: 'hash_mismatch' });
    expect(await cli(['ledger', 'verify'])).toMatchObject({
      code: 1,
      stdout: expect.stringMatching(new RegExp(`^LEDGER BROKEN: first bad event #${seq}: `)),
    });
    tamper((db) => db.prepare('UPDATE events SET payload = ? WHERE seq = ?').run(original, seq));
    expect((await verify()).code).toBe(0);
  });

  it('catches a chain recomputed after an edit only through the signed checkpoints', async () => {
    const seq = 3;
    tamper((db) => {
      const rows = db
        .prepare('SELECT seq, ts, actor, kind, payload, prev_hash AS prevHash FROM events WHERE seq >= ? ORDER BY seq')
        .all(seq) as { seq: number; ts: number; actor: string; kind: string; payload: string; prevHash: string }[];
      let prev = rows[0]!.prevHash;
      const update = db.prepare('UPDATE events SET payload = ?, prev_hash = ?, hash = ? WHERE seq = ?');
      for (const r of rows) {
        const payload = r.seq === seq ? '{"tampered":true}' : r.payload;
        const hash = eventHash(prev, r.seq, r.ts, r.actor, r.kind, payload);
        update.run(payload, prev, hash, r.seq);
        prev = hash;
      }
    });
    expect((await verify(['--offline'])).report).toMatchObject({ ok: true, checkpoints: { total: 0 } });
    const { code, report } = await verify();
    expect(code).toBe(1);
    expect(report.problems.map((p) => p.code)).toContain('checkpoint_mismatch');
    expect(report.firstBad!.seq).toBeLessThanOrEqual(seq);
  });

  it('names a deleted row', async () => {
    tamper((db) => db.prepare('DELETE FROM events WHERE seq = 5').run());
    const { code, report } = await verify(['--offline']);
    expect(code).toBe(1);
    expect(report.firstBad).toMatchObject({ seq: 5, code: 'gap' });
  });

  it('says what to do when the control plane cannot be reached', async () => {
    await up.kill('SIGTERM');
    const r = await cli(['ledger', 'verify']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^optimal: server_unreachable: .*--offline/);
    // Offline, with the daemon stopped, the chain alone is checked (it still has the deleted row's gap).
    expect((await verify(['--offline'])).report.firstBad).toMatchObject({ seq: 5, code: 'gap' });
  });

  it('verifies a backup copy of the ledger on its own', async () => {
    const backups = join(D.path, 'backups');
    const [id] = readdirSync(backups).sort();
    const { code, report } = await verify(['--offline', '--file', join(backups, id!, 'ledger.db')]);
    expect(code).toBe(0);
    expect(report.ok).toBe(true);
    expect(report.events).toBeGreaterThan(10);
  });
});
