// Relay benchmark (docs: /work/shared/design/PERFORMANCE.md, "relay" rows).
//
// Two pipelines, measured alternately in one process, each with one device
// WebSocket and one SSE viewer and 200-byte payloads:
//   baseline  a bare `ws` server that writes each frame to an SSE response;
//   fabric    the real control plane (startServer, SQLite in WAL mode in a temp
//             dir): auth, envelope parsing, per-session sequencing, group-
//             committed persistence, bus, SSE.
// The servers run on the main thread; the fake device and viewer run in a
// worker thread (pass --inline to run them on the main thread too).
//
// Figures (one JSON line each on stdout): throughput per pipeline and their
// ratio, latency p50/p99/max per pipeline at a paced rate of half the measured
// maximum, the latency fabric adds over the baseline, and the fabric run's
// integrity (lost, duplicated, persisted). Progress goes to stderr.
//
// Options: --runs=N (default 5)  --n=N throughput messages per run (default 50000)
//          --inline  --quick (runs=1, n=5000; a smoke test)
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { startServer, type Db, type RunningServer } from '@fabric/server';
import { startBaseline, type Baseline } from './lib/baseline.js';
import {
  invoke,
  RelayClient,
  type ClientArgs,
  type ClientMethod,
  type ClientReply,
  type ClientRequest,
  type ClientResult,
  type LatencyResult,
  type Pipeline,
  type ThroughputResult,
} from './lib/relay-client.js';
import { reporter } from './lib/report.js';
import { median, round } from './lib/stats.js';

const TARGET_RATE = 50_000;
const TARGET_RATIO = 0.5;
const TARGET_P50_MS = 1;
const TARGET_P99_MS = 5;
const BUDGET_MS = 110_000;
/** No new run starts with less than this left of the budget. */
const RESERVE_MS = 20_000;
/** A fabric throughput run is sized to take at most about this long. */
const RUN_SECONDS = 8;

const started = Date.now();
const { log, emit } = reporter('relay');

interface Options {
  runs: number;
  n: number;
  inline: boolean;
}

function parseArgs(args: string[]): Options {
  const opts: Options = { runs: 5, n: 50_000, inline: false };
  for (const a of args) {
    if (a === '--inline') opts.inline = true;
    else if (a === '--quick') {
      opts.runs = 1;
      opts.n = 5000;
    } else if (a.startsWith('--runs=')) opts.runs = Math.max(1, Number(a.slice(7)) | 0);
    else if (a.startsWith('--n=')) opts.n = Math.max(1000, Number(a.slice(4)) | 0);
    else throw new Error(`relay: unknown option ${a} (known: --runs=N --n=N --inline --quick)`);
  }
  return opts;
}

interface Client {
  call<M extends ClientMethod>(method: M, ...args: ClientArgs<M>): Promise<ClientResult<M>>;
  terminate(): Promise<unknown>;
}

interface Pending {
  resolve: (result: ClientResult<ClientMethod>) => void;
  reject: (err: Error) => void;
}

/** The load generator, in a worker thread or inline, behind one call(method, ...args). */
function makeClient(inline: boolean): Client {
  if (inline) {
    const client = new RelayClient();
    return { call: (method, ...args) => Promise.resolve(invoke(client, method, args)), terminate: async () => {} };
  }
  const worker = new Worker(new URL('./lib/relay-client.js', import.meta.url), {
    workerData: { role: 'relay-client' },
  });
  const pending = new Map<number, Pending>();
  let next = 0;
  const failAll = (err: Error) => {
    for (const { reject } of pending.values()) reject(err);
    pending.clear();
  };
  worker.on('message', (reply: ClientReply) => {
    const p = pending.get(reply.id);
    if (!p) return;
    pending.delete(reply.id);
    if (reply.ok) p.resolve(reply.result);
    else p.reject(new Error(`client: ${reply.error}`));
  });
  worker.on('error', failAll);
  worker.on('exit', (code) => failAll(new Error(`client worker exited with ${code}`)));
  return {
    call<M extends ClientMethod>(method: M, ...args: ClientArgs<M>) {
      return new Promise<ClientResult<M>>((resolve, reject) => {
        const id = ++next;
        // The worker answers this id with what `method` returns.
        pending.set(id, { resolve: resolve as (result: ClientResult<ClientMethod>) => void, reject });
        worker.postMessage({ id, method, args } satisfies ClientRequest);
      });
    },
    terminate: () => worker.terminate(),
  };
}

async function countStdoutRows(db: Db, sessionId: string): Promise<number> {
  const row = await db
    .selectFrom('session_events')
    .select((eb) => eb.fn.countAll().as('n'))
    .where('session_id', '=', sessionId)
    .where('kind', '=', 'stdout')
    .executeTakeFirst();
  return Number(row?.n ?? 0);
}

type RunResult = ThroughputResult | LatencyResult;
const isThroughput = (r: RunResult): r is ThroughputResult => 'elapsedMs' in r;

export async function main(args: string[]): Promise<void> {
  const opts = parseArgs(args);
  const watchdog = setTimeout(() => {
    log(`giving up: over the ${BUDGET_MS / 1000} s budget`);
    process.exit(1);
  }, BUDGET_MS);
  watchdog.unref();

  let baseline: Baseline | undefined;
  let server: RunningServer | undefined;
  let client: Client | undefined;
  const dataDir = mkdtempSync(join(os.tmpdir(), 'fabric-bench-relay-'));
  let failed = false;
  try {
    baseline = await startBaseline();
    server = await startServer({ port: 0, dataDir });
    const { accounts } = server.ctx;
    const owner = await accounts.ensureOwner();
    const { token: userToken } = await accounts.signIn({ id: owner.id, name: owner.name, role: 'owner' }, 'cli');
    const pairing = await accounts.createPairingToken(owner.id);
    const device = await accounts.pair(pairing.code, 'bench');
    log(
      `baseline ${baseline.url}, fabric ${server.url} (data ${dataDir}); client ${opts.inline ? 'inline' : 'in a worker thread'}`,
    );

    client = makeClient(opts.inline);
    await client.call('connectBaseline', { url: baseline.url });
    await client.call('connectFabric', {
      url: server.url,
      userToken,
      deviceId: device.deviceId,
      deviceToken: device.token,
    });

    const fabricRuns: RunResult[] = []; // every fabric run, for the integrity check
    const track = <R extends RunResult>(r: R): R => {
      if (r.pipeline === 'fabric') fabricRuns.push(r);
      return r;
    };
    // Each run gets at most 25 s and never eats into the reserve kept for cleanup.
    const left = () => BUDGET_MS - (Date.now() - started);
    const deadline = () => Math.max(2000, Math.min(25_000, left() - RESERVE_MS + 10_000));
    let stopped = null as string | null; // why the remaining runs were skipped (set in stop(), hence not narrowed to null)
    const stop = (r: RunResult) => {
      if (!stopped && r.timedOut) stopped = `${r.pipeline} run timed out with ${r.received}/${r.n} delivered`;
      if (!stopped && left() < RESERVE_MS) stopped = 'time budget spent';
      if (stopped) log(`skipping the remaining runs: ${stopped}`);
      return stopped !== null;
    };
    const describe = (r: ThroughputResult) =>
      `${r.pipeline.padEnd(8)} ${r.received}/${r.n} in ${r.elapsedMs.toFixed(0)} ms = ${Math.round(r.rate)} msg/s` +
      `${r.timedOut ? ' (TIMED OUT)' : ''}${r.backpressurePauses ? `, ${r.backpressurePauses} backpressure pauses` : ''}`;

    // Warm up both paths (JIT, SQLite pages) and size the fabric runs to the budget.
    const warmN = Math.min(10_000, opts.n);
    for (const p of ['baseline', 'fabric'] as const) {
      const r = track(await client.call('throughput', p, warmN, deadline()));
      log(`warmup ${describe(r)}`);
      if (stop(r)) break;
    }
    const warmRate = fabricRuns[0]?.rate;
    let n = opts.n;
    if (warmRate !== undefined && Number.isFinite(warmRate) && warmRate > 0 && n / warmRate > RUN_SECONDS) {
      n = Math.max(5000, Math.round((warmRate * RUN_SECONDS) / 1000) * 1000);
      log(
        `fabric warmup ran at ${Math.round(warmRate)} msg/s: using n=${n} per throughput run instead of ${opts.n} to stay in budget`,
      );
    }

    const tp: Record<Pipeline, ThroughputResult[]> = { baseline: [], fabric: [] };
    throughputRuns: for (let i = 0; i < opts.runs && !stopped; i++) {
      for (const p of ['baseline', 'fabric'] as const) {
        const r = track(await client.call('throughput', p, n, deadline()));
        tp[p].push(r);
        log(`throughput ${i + 1}/${opts.runs} ${describe(r)}`);
        if (stop(r)) break throughputRuns;
      }
    }
    if (tp.fabric.length === 0 && fabricRuns[0] && isThroughput(fabricRuns[0])) tp.fabric.push(fabricRuns[0]); // only the warmup finished
    const maxRate = { baseline: median(tp.baseline.map((r) => r.rate)), fabric: median(tp.fabric.map((r) => r.rate)) };

    // Latency at half the fabric's measured maximum (the slower pipe), same rate for both pipes.
    const rate = Math.max(
      500,
      Math.min(25_000, Math.round(Math.min(maxRate.baseline, maxRate.fabric) / 2 / 100) * 100 || 500),
    );
    const latN = Math.max(2000, Math.min(20_000, Math.round(rate * 1.5)));
    const lat: Record<Pipeline, LatencyResult[]> = { baseline: [], fabric: [] };
    latencyRuns: for (let i = 0; i < opts.runs && !stopped; i++) {
      for (const p of ['baseline', 'fabric'] as const) {
        const r = track(await client.call('latency', p, latN, rate, deadline()));
        lat[p].push(r);
        log(
          `latency ${i + 1}/${opts.runs} ${p.padEnd(8)} ${r.received}/${r.n} at ${rate}/s (achieved ${Math.round(r.achievedRate)}/s): ` +
            `p50 ${r.p50.toFixed(3)} ms, p99 ${r.p99.toFixed(3)} ms, max ${r.max.toFixed(3)} ms${r.timedOut ? ' (TIMED OUT)' : ''}`,
        );
        if (stop(r)) break latencyRuns;
      }
    }

    // Integrity of every fabric run, counted over each session's whole stream (up to `event: end`,
    // so a run that timed out is judged on what arrived in the end): every message delivered once,
    // SSE ids consecutive, every message persisted, lastSeq equal to the last id streamed.
    const { deviceErrors } = await client.call('stats');
    let lost = 0;
    let duplicates = 0;
    let idGaps = 0;
    let expected = 0;
    let persisted = 0;
    let seqMismatch = 0;
    let notEnded = 0;
    for (const r of fabricRuns) {
      const s = r.session!; // a fabric run reports its session
      const rows = await countStdoutRows(server.ctx.db, s.sessionId);
      const runLost = Math.max(0, r.n - s.stdoutEvents);
      const runDupes = r.duplicates + s.sseIdDupes + Math.max(0, s.stdoutEvents - r.n);
      lost += runLost;
      duplicates += runDupes;
      idGaps += s.sseIdGaps;
      expected += r.n;
      persisted += rows;
      if (s.lastSeq !== s.lastSseId) seqMismatch++;
      if (!s.endSeen || s.status !== 'succeeded') notEnded++;
      if (
        rows !== r.n ||
        s.lastSeq !== s.lastSseId ||
        s.sseIdGaps ||
        runLost ||
        runDupes ||
        !s.endSeen ||
        s.status !== 'succeeded'
      ) {
        log(
          `integrity problem in ${s.sessionId}: sent ${r.n}, streamed ${s.stdoutEvents} stdout events, rows ${rows}, lastSeq ${s.lastSeq}, ` +
            `last SSE id ${s.lastSseId}, id gaps ${s.sseIdGaps}, id dupes ${s.sseIdDupes}, end seen ${s.endSeen}, status ${s.status}`,
        );
      }
    }
    const integrityMet =
      lost === 0 &&
      duplicates === 0 &&
      idGaps === 0 &&
      persisted === expected &&
      seqMismatch === 0 &&
      notEnded === 0 &&
      deviceErrors === 0;

    // ---- figures -----------------------------------------------------------
    const runsOf = <K extends string>(rs: Record<K, number>[], key: K, digits = 0) =>
      rs.map((r) => round(r[key], digits));
    const ratio = maxRate.fabric / maxRate.baseline;
    const common = {
      n,
      ...(stopped ? { incomplete: stopped } : {}),
      client: opts.inline ? 'inline' : 'worker',
      cpus: os.cpus().length,
      node: process.version,
    };
    emit({
      figure: 'throughput',
      pipeline: 'baseline',
      value: Math.round(maxRate.baseline),
      unit: 'msg/s',
      runs: runsOf(tp.baseline, 'rate'),
      ...common,
    });
    emit({
      figure: 'throughput',
      pipeline: 'fabric',
      value: Math.round(maxRate.fabric),
      unit: 'msg/s',
      runs: runsOf(tp.fabric, 'rate'),
      ...common,
      lost,
      duplicates,
      timed_out: tp.fabric.filter((r) => r.timedOut).length,
      target: `>= ${TARGET_RATE} msg/s and >= ${TARGET_RATIO}x baseline`,
      met: maxRate.fabric >= TARGET_RATE && ratio >= TARGET_RATIO,
    });
    emit({
      figure: 'ratio',
      pipeline: 'fabric/baseline',
      value: round(ratio, 3),
      unit: 'x',
      runs: tp.fabric.filter((_r, i) => tp.baseline[i]).map((r, i) => round(r.rate / tp.baseline[i]!.rate, 3)),
      target: `>= ${TARGET_RATIO}`,
      met: ratio >= TARGET_RATIO,
    });
    for (const p of ['baseline', 'fabric'] as const) {
      for (const [key, figure] of [
        ['p50', 'latency_p50'],
        ['p99', 'latency_p99'],
        ['max', 'latency_max'],
      ] as const) {
        emit({
          figure,
          pipeline: p,
          value: round(median(lat[p].map((r) => r[key])), 3),
          unit: 'ms',
          runs: runsOf(lat[p], key, 3),
          rate,
          n: latN,
        });
      }
    }
    for (const [key, limit] of [
      ['p50', TARGET_P50_MS],
      ['p99', TARGET_P99_MS],
    ] as const) {
      const added = median(lat.fabric.map((r) => r[key])) - median(lat.baseline.map((r) => r[key]));
      emit({
        figure: `added_latency_${key}`,
        pipeline: 'fabric-baseline',
        value: round(added, 3),
        unit: 'ms',
        runs: lat.fabric.filter((_r, i) => lat.baseline[i]).map((r, i) => round(r[key] - lat.baseline[i]![key], 3)),
        rate,
        n: latN,
        target: `< ${limit} ms at half of max rate`,
        met: added < limit,
      });
    }
    emit({
      figure: 'integrity',
      pipeline: 'fabric',
      value: lost + duplicates + idGaps + (expected - persisted),
      unit: 'events',
      lost,
      duplicates,
      id_gaps: idGaps,
      expected,
      persisted,
      seq_mismatches: seqMismatch,
      sessions: fabricRuns.length,
      sessions_not_ended: notEnded,
      device_errors: deviceErrors,
      target: 'lost = 0, duplicates = 0, SSE ids consecutive, every message persisted, every stream ended',
      met: integrityMet,
    });
    if (!integrityMet) failed = true;
  } catch (err) {
    failed = true;
    log(`failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  } finally {
    if (client) {
      try {
        const { deviceErrors } = await client.call('close');
        if (deviceErrors) log(`the fake device received ${deviceErrors} error envelopes (first ones logged above)`);
      } catch (err) {
        log(`client close: ${String(err)}`);
      }
      await client.terminate();
    }
    await baseline?.close();
    await server?.close();
    rmSync(dataDir, { recursive: true, force: true });
    clearTimeout(watchdog);
    log('done');
  }
  if (failed) process.exitCode = 1;
}
