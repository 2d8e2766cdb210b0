// Sandbox benchmark: what running a session in bubblewrap costs at start-up.
//
// Through the built daemon (`packages/daemon/dist`): one SessionRunner with
// the daemon's sandbox (bubblewrap, the same mounts a device uses) and one
// that spawns bare, both running the shell harness's `true` from start() to
// its session.exit. Runs alternate between the two so machine noise lands on
// both sides alike.
//   sandboxed   ms per session, p50 and p99, inside bubblewrap
//   bare        ms per session, p50 and p99, a bare spawn of the same `true`
//   overhead    sandboxed minus bare, at p50 and p99
// Figures: one JSON line each on stdout; progress on stderr.
//
// Options: --runs=N (default 200 each)  --quick (runs=20; a smoke test)
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Envelope } from '@fabric/protocol';
import { defaultAdapters } from '../../packages/daemon/dist/sessions/harness/registry.js';
import { SessionRunner } from '../../packages/daemon/dist/sessions/runner.js';
import { detectSandbox, Sandbox } from '../../packages/daemon/dist/sessions/sandbox/sandbox.js';
import { reporter } from './lib/report.js';
import { percentileSorted, round } from './lib/stats.js';

const { log, emit } = reporter('sandbox');

interface Options {
  runs: number;
}

function parseArgs(args: string[]): Options {
  const opts: Options = { runs: 200 };
  for (const a of args) {
    if (a === '--quick') opts.runs = 20;
    else if (a.startsWith('--runs=')) opts.runs = Math.max(1, Number(a.slice(7)) | 0);
    else throw new Error(`sandbox: unknown option ${a} (known: --runs=N --quick)`);
  }
  return opts;
}

/** A runner and a way to run one `true` session through it, timed from start() to exit. */
function timedRunner(dataDir: string, sandbox: Sandbox | null): () => Promise<number> {
  const waiting = new Map<string, (env: Envelope) => void>();
  const runner = new SessionRunner({
    adapters: defaultAdapters(),
    allowlist: ['true'],
    workDir: join(dataDir, 'work'),
    dataDir,
    ...(sandbox ? { sandbox } : {}),
    emit: (env) => {
      if (env.type === 'session.exit' || env.type === 'session.refuse') waiting.get(env.payload.sessionId)?.(env);
    },
  });
  let n = 0;
  return async () => {
    const sessionId = `ses_bench${sandbox ? 'box' : 'bare'}${String(++n).padStart(8, '0')}`;
    const t0 = process.hrtime.bigint();
    const ended = new Promise<Envelope>((resolve) => waiting.set(sessionId, resolve));
    runner.start({
      sessionId,
      harness: 'shell',
      prompt: 'true',
      cwd: null,
      labels: {},
      permissionMode: 'ask',
      resume: null,
      model: null,
      credentials: [],
      byDeviceOwner: false,
    });
    const env = await ended;
    waiting.delete(sessionId);
    if (env.type !== 'session.exit' || env.payload.code !== 0)
      throw new Error(`sandbox: session ${sessionId} did not exit 0: ${JSON.stringify(env.payload)}`);
    return Number(process.hrtime.bigint() - t0) / 1e6;
  };
}

function figures(name: string, ms: number[]) {
  const sorted = Float64Array.from(ms).sort();
  return {
    name,
    runs: ms.length,
    p50_ms: round(percentileSorted(sorted, 0.5), 2),
    p99_ms: round(percentileSorted(sorted, 0.99), 2),
  };
}

export async function main(args: string[]): Promise<void> {
  const opts = parseArgs(args);
  const status = detectSandbox();
  if (!status.available) throw new Error(`sandbox: ${status.reason}`);
  const dataDir = mkdtempSync(join(tmpdir(), 'fabric-bench-sandbox-'));
  try {
    const sandboxed = timedRunner(dataDir, new Sandbox({ status, mode: 'required', dataDir }));
    const bare = timedRunner(dataDir, null);
    for (let i = 0; i < 5; i++) {
      await sandboxed();
      await bare();
    } // warm the page cache
    const times: { sandboxed: number[]; bare: number[] } = { sandboxed: [], bare: [] };
    for (let i = 0; i < opts.runs; i++) {
      times.sandboxed.push(await sandboxed());
      times.bare.push(await bare());
      if ((i + 1) % 50 === 0) log(`${i + 1}/${opts.runs} runs each`);
    }
    const box = figures('sandboxed', times.sandboxed);
    const plain = figures('bare', times.bare);
    emit(box);
    emit(plain);
    emit({
      name: 'overhead',
      runs: opts.runs,
      p50_ms: round(box.p50_ms - plain.p50_ms, 2),
      p99_ms: round(box.p99_ms - plain.p99_ms, 2),
    });
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}
