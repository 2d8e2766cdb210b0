// Ledger benchmark (docs: /work/shared/design/PERFORMANCE.md, "ledger" row).
//
// The device ledger through the built package (`packages/daemon/dist/ledger`),
// on real SQLite files in a temp dir opened the daemon's way (`openSqlite`:
// WAL, synchronous NORMAL):
//   append_single     events/s appending one event per transaction (Ledger.append)
//   append_batched    events/s appending --batch events per transaction (Ledger.appendBatch)
//   build             seconds to append --events events (batched) and sign a
//                     checkpoint every 1,000 events, as the daemon would
//   verify            seconds for verifyLedger over those events streamed from
//                     Ledger.iterate(), checking every checkpoint
// Baselines in the same run, same file settings, same schema and indexes:
//   baseline_raw_single / baseline_raw_batched  the same rows (payload text and
//       hashes made before the clock starts) inserted with one prepared
//       statement, one or --batch per transaction: SQLite's own insert rate.
//   baseline_scan     seconds to read every row of the verify file with a raw
//       statement, without hashing: what verify costs beyond reading.
//
// Figures: one JSON line each on stdout (medians of --runs runs); targets:
// append_batched >= 20,000/s, verify of 1,000,000 events < 10 s. Progress goes
// to stderr. Temp files are deleted at the end (and on failure).
//
// Options: --runs=N (default 5)  --events=N (verify size, default 1000000)
//          --batch=N (default 1000)  --quick (runs=1, events=100000; a smoke test)
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LedgerCheckpoint } from '@fabric/protocol';
import {
  Ledger,
  LedgerKey,
  makeCheckpoint,
  nextEvent,
  verifyLedger,
  type LedgerAppend,
  type LedgerRow,
} from '../../packages/daemon/dist/audit/ledger/index.js';
import { openSqlite, type Sqlite } from '@fabric/node';
import { reporter, type Figure } from './lib/report.js';
import { median, round } from './lib/stats.js';

const TARGET_APPEND_PER_S = 20_000;
const TARGET_VERIFY_S = 10;
const VERIFY_TARGET_EVENTS = 1_000_000;
const CHECKPOINT_EVERY = 1000;
const BUDGET_MS = 180_000;
const DEVICE = 'dev_bench';

const { log, emit } = reporter('ledger');

interface Options {
  runs: number;
  events: number;
  batch: number;
}

function parseArgs(args: string[]): Options {
  const opts: Options = { runs: 5, events: VERIFY_TARGET_EVENTS, batch: 1000 };
  for (const a of args) {
    if (a === '--quick') Object.assign(opts, { runs: 1, events: 100_000 });
    else if (a.startsWith('--runs=')) opts.runs = Math.max(1, Number(a.slice(7)) | 0);
    else if (a.startsWith('--events=')) opts.events = Math.max(1000, Number(a.slice(9)) | 0);
    else if (a.startsWith('--batch=')) opts.batch = Math.max(1, Number(a.slice(8)) | 0);
    else throw new Error(`ledger: unknown option ${a} (known: --runs=N --events=N --batch=N --quick)`);
  }
  return opts;
}

/** The i-th event: a session's file write (~250 bytes of JSON), like most of what the daemon records, or its start. */
function item(i: number): LedgerAppend {
  const sessionId = `ses_${String(i % 97).padStart(16, '0')}`;
  const actor = `session:${sessionId}`;
  if (i % 10 === 0) {
    return {
      actor,
      kind: 'session.start',
      payload: { sessionId, pid: 1000 + i, harness: 'claude', workDir: '/home/dev/project', permissionMode: 'ask' },
    };
  }
  const path = `/home/dev/project/src/module-${i % 1000}/file-${i}.ts`;
  const bytes = (i * 7919) % 65536;
  return {
    actor,
    kind: 'mutation.requested',
    payload: {
      tool: 'file_write',
      summary: `create ${path} with ${bytes} bytes`,
      destructive: false,
      plan: { kind: 'file_write', path, where: 'work_dir', exists: false, bytes },
    },
  };
}

// The work is synchronous: yielding between phases lets the watchdog fire.
const breathe = () => new Promise<void>((resolve) => setImmediate(resolve));
const secs = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e9;

/** The daemon's table and indexes (taken from a Ledger's own file), without rows, for the raw baseline. */
function rawTable(file: string): Sqlite {
  new Ledger(file).close();
  const db = openSqlite(file);
  return db;
}

/** One stored event's columns: seq, ts, actor, kind, payload, prev_hash, hash. */
type EventRow = [number, number, string, string, string, string, string];

/** Rows exactly as the ledger would store them, made before any clock starts. */
function precomputedRows(n: number): EventRow[] {
  const rows = new Array<EventRow>(n);
  let prev: LedgerRow | null = null;
  for (let i = 0; i < n; i++) {
    const it = item(i);
    const ev = nextEvent(prev, 1_700_000_000_000, it.actor, it.kind, JSON.stringify(it.payload));
    rows[i] = [ev.seq, ev.ts, ev.actor, ev.kind, ev.payload, ev.prevHash, ev.hash];
    prev = ev;
  }
  return rows;
}

/** events/s of `run(file)` appending `n` events to a fresh file, over `runs` runs. */
function rateRuns(dir: string, name: string, runs: number, n: number, run: (file: string) => number): number[] {
  const rates: number[] = [];
  for (let r = 0; r < runs; r++) {
    const file = join(dir, `${name}-${r}.db`);
    const t = run(file);
    rates.push(n / t);
    rmSync(file, { force: true });
    rmSync(`${file}-wal`, { force: true });
    rmSync(`${file}-shm`, { force: true });
  }
  return rates;
}

function ledgerSingle(n: number): (file: string) => number {
  return (file) => {
    const l = new Ledger(file);
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) {
      const it = item(i);
      l.append(it.actor, it.kind, it.payload);
    }
    const t = secs(t0);
    l.close();
    return t;
  };
}

function ledgerBatched(n: number, batch: number): (file: string) => number {
  const items = Array.from({ length: n }, (_, i) => item(i));
  return (file) => {
    const l = new Ledger(file);
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i += batch) l.appendBatch(items.slice(i, i + batch));
    const t = secs(t0);
    if (l.count() !== n) throw new Error('batched append lost events');
    l.close();
    return t;
  };
}

function rawInserts(rows: EventRow[], batch: number): (file: string) => number {
  return (file) => {
    const db = rawTable(file);
    const insert = db.prepare<EventRow>(
      'INSERT INTO events (seq, ts, actor, kind, payload, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?)',
    );
    const tx = db.transaction((from: number, to: number) => {
      for (let i = from; i < to; i++) insert.run(...rows[i]!);
    });
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < rows.length; i += batch) tx.immediate(i, Math.min(rows.length, i + batch));
    const t = secs(t0);
    db.close();
    return t;
  };
}

function emitRate(figure: string, rates: number[], n: number, extra: Figure = {}): void {
  emit({
    figure,
    value: Math.round(median(rates)),
    unit: 'events/s',
    runs: rates.map((x) => Math.round(x)),
    n,
    ...extra,
  });
}

export async function main(args: string[]): Promise<void> {
  const opts = parseArgs(args);
  const dir = mkdtempSync(join(tmpdir(), 'fabric-bench-ledger-'));
  const cleanup = () => rmSync(dir, { recursive: true, force: true });
  const watchdog = setTimeout(() => {
    log(`giving up: over the ${BUDGET_MS / 1000} s budget`);
    cleanup();
    process.exit(1);
  }, BUDGET_MS);
  watchdog.unref();
  try {
    await run(opts, dir);
  } finally {
    cleanup();
    clearTimeout(watchdog);
  }
  log('done');
}

async function run(opts: Options, dir: string): Promise<void> {
  const singleN = 5000;
  const batchedN = 100_000;
  const singleRuns = Math.min(opts.runs, 3);

  // Single appends: one transaction each.
  log(`single append: ${singleN} events x${singleRuns} runs (+ raw baseline)`);
  const singleRows = precomputedRows(singleN);
  const single = rateRuns(dir, 'single', singleRuns, singleN, ledgerSingle(singleN));
  const rawSingle = rateRuns(dir, 'raw-single', singleRuns, singleN, rawInserts(singleRows, 1));
  emitRate('append_single', single, singleN, { ratioToBaseline: round(median(single) / median(rawSingle), 3) });
  emitRate('baseline_raw_single', rawSingle, singleN);

  await breathe();
  // Batched appends.
  log(`batched append: ${batchedN} events in batches of ${opts.batch} x${opts.runs} runs (+ raw baseline)`);
  const batchedRows = precomputedRows(batchedN);
  const batched: number[] = [];
  const rawBatched: number[] = [];
  // Interleaved, so a noisy neighbour hurts both sides alike.
  for (let r = 0; r < opts.runs; r++) {
    batched.push(...rateRuns(dir, 'batched', 1, batchedN, ledgerBatched(batchedN, opts.batch)));
    rawBatched.push(...rateRuns(dir, 'raw-batched', 1, batchedN, rawInserts(batchedRows, opts.batch)));
  }
  const batchedLine = { batch: opts.batch, ratioToBaseline: round(median(batched) / median(rawBatched), 3) };
  emitRate('append_batched', batched, batchedN, {
    ...batchedLine,
    target: `>= ${TARGET_APPEND_PER_S}/s`,
    met: median(batched) >= TARGET_APPEND_PER_S,
  });
  emitRate('baseline_raw_batched', rawBatched, batchedN, { batch: opts.batch });

  await breathe();
  // Build a big ledger, then verify it.
  const n = opts.events;
  const file = join(dir, 'verify.db');
  const key = LedgerKey.loadOrCreate(join(dir, 'ledger.key'));
  log(`build: ${n} events in batches of ${opts.batch}, a signed checkpoint every ${CHECKPOINT_EVERY}`);
  const checkpoints: LedgerCheckpoint[] = [];
  const l = new Ledger(file);
  const batch: LedgerAppend[] = [];
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i += opts.batch) {
    batch.length = 0;
    for (let j = i; j < Math.min(n, i + opts.batch); j++) batch.push(item(j));
    const evs = l.appendBatch(batch);
    for (const ev of evs) {
      if (ev.seq % CHECKPOINT_EVERY === 0) checkpoints.push(makeCheckpoint(key, DEVICE, ev, ev.ts));
    }
  }
  const buildS = secs(t0);
  l.close();
  const bytes = statSync(file).size;
  emit({
    figure: 'build',
    value: round(buildS, 2),
    unit: 's',
    n,
    perSecond: Math.round(n / buildS),
    checkpoints: checkpoints.length,
    fileMiB: round(bytes / 2 ** 20, 1),
  });

  const verifyRuns = Math.min(opts.runs, 3);
  log(`verify: ${n} events, ${checkpoints.length} checkpoints x${verifyRuns} runs (+ raw scan baseline)`);
  const verifyS: number[] = [];
  const scanS: number[] = [];
  for (let r = 0; r < verifyRuns; r++) {
    await breathe();
    const l2 = new Ledger(file);
    const v0 = process.hrtime.bigint();
    const report = verifyLedger(l2.iterate(), {
      deviceId: DEVICE,
      checkpoints,
      pinnedKey: key.publicKey,
      localKey: key.publicKey,
    });
    verifyS.push(secs(v0));
    l2.close();
    // The figure only counts if the work was right.
    if (!report.ok || report.events !== n || report.checkpoints.matched !== checkpoints.length) {
      throw new Error(`verify of an honest ledger failed: ${report.summary}`);
    }

    const db = openSqlite(file);
    const s0 = process.hrtime.bigint();
    let rows = 0;
    for (const row of db
      .prepare<[], EventRow>('SELECT seq, ts, actor, kind, payload, prev_hash, hash FROM events ORDER BY seq')
      .raw()
      .iterate()) {
      if (row[0] > 0) rows++;
    }
    scanS.push(secs(s0));
    db.close();
    if (rows !== n) throw new Error('scan lost rows');
  }
  const line = {
    figure: 'verify',
    value: round(median(verifyS), 2),
    unit: 's',
    runs: verifyS.map((x) => round(x, 2)),
    n,
    checkpoints: checkpoints.length,
    perSecond: Math.round(n / median(verifyS)),
  };
  if (n === VERIFY_TARGET_EVENTS)
    Object.assign(line, { target: `< ${TARGET_VERIFY_S} s`, met: line.value < TARGET_VERIFY_S });
  emit(line);
  emit({ figure: 'baseline_scan', value: round(median(scanS), 2), unit: 's', runs: scanS.map((x) => round(x, 2)), n });
}
