// Dispatch latency: POST /api/sessions → placement → session.start on the
// device socket → the device's session.ack → the session reads `running` on a
// browser socket. Measured per session, one at a time (latency, not load),
// against a control plane in this process persisting to SQLite.
//
// Figures (one JSON line each): start_to_ack (the server's session.start
// leaving until the ack is back and persisted, as the device and browser see
// it), post_to_running (the whole round trip a user waits for), p50/p99/max.
// Options: --n=N sessions per run (default 500), --runs=N (default 3).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import http from 'node:http';
import { routes, type CapabilityDigest, type Envelope, type SessionView } from '@fabric/protocol';
import WebSocket from 'ws';
import { startServer } from '@fabric/server';
import { median, percentileSorted, round } from './lib/stats.js';

function arg(args: string[], name: string, fallback: number): number {
  const hit = args.find((a) => a.startsWith(`--${name}=`));
  return hit ? Number(hit.split('=')[1]) : fallback;
}

// `isolation` is left to the server's default, as an older daemon's hello would.
const capabilities: Omit<CapabilityDigest, 'isolation'> = {
  hostname: 'bench',
  platform: 'linux',
  arch: 'x64',
  cpus: 2,
  ramTotal: 8 * 2 ** 30,
  ramFree: 4 * 2 ** 30,
  load: [0.1, 0.1, 0.1],
  harnesses: [{ name: 'shell', version: '1' }],
  labels: {},
  allowlist: ['echo'],
  daemonVersion: 'bench',
  runningSessions: 0,
};

/** POST a JSON body; resolves the parsed 201 answer (the API's documented shape for `url`). */
function post<T>(url: string, token: string, body: unknown, agent: http.Agent): Promise<T> {
  return new Promise((resolve, reject) => {
    const data = JSON.stringify(body);
    const req = http.request(
      url,
      {
        method: 'POST',
        agent,
        headers: {
          authorization: `Bearer ${token}`,
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(data),
        },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          text += c;
        });
        res.on('end', () =>
          res.statusCode === 201 ? resolve(JSON.parse(text) as T) : reject(new Error(`${res.statusCode} ${text}`)),
        );
      },
    );
    req.on('error', reject);
    req.end(data);
  });
}

function open(url: string, protocols: string[]): Promise<WebSocket> {
  const ws = new WebSocket(url, protocols, { perMessageDeflate: false });
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}

type Figure = 'start_to_ack' | 'post_to_running';

export async function main(args: string[]): Promise<void> {
  const n = arg(args, 'n', 500);
  const runs = arg(args, 'runs', 3);
  const dir = mkdtempSync(join(tmpdir(), 'fabric-bench-dispatch-'));
  const server = await startServer({ port: 0, dataDir: dir });
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  try {
    const { accounts } = server.ctx;
    const owner = await accounts.ensureOwner('bench');
    const { token: userToken } = await accounts.signIn({ ...owner, role: 'owner' }, 'cli');
    const pairing = await accounts.createPairingToken(owner.id);
    const paired = await accounts.pair(pairing.code, 'bench');
    const wsBase = server.url.replace('http', 'ws');

    // The device: acks every start at once, then exits the session so capacity stays constant.
    const device = await open(`${wsBase}${routes.deviceSocket.path}`, ['fabric.v1', `bearer.${paired.token}`]);
    const startSeen = new Map<string, bigint>();
    device.on('message', (raw) => {
      const env = JSON.parse((raw as Buffer).toString()) as Envelope;
      if (env.type !== 'session.start') return;
      const sid = env.payload.sessionId;
      startSeen.set(sid, process.hrtime.bigint());
      device.send(
        JSON.stringify({
          corrId: sid,
          type: 'session.ack',
          direction: 'to_cloud',
          ts: Date.now(),
          payload: { sessionId: sid, pid: 1 },
        }),
      );
    });
    device.send(
      JSON.stringify({
        corrId: 'hello',
        type: 'hello',
        direction: 'to_cloud',
        ts: Date.now(),
        payload: { deviceId: paired.deviceId, capabilities, running: [] },
      }),
    );

    // The browser: learns that a session is running from the fleet feed.
    const browser = await open(`${wsBase}${routes.browserSocket.path}`, ['fabric.v1', `bearer.${userToken}`]);
    // `running` can reach the browser before the POST answers, so arrivals are kept until asked for.
    const runningAt = new Map<string, bigint>();
    const waiting = new Map<string, (t: bigint) => void>();
    browser.on('message', (raw) => {
      const env = JSON.parse((raw as Buffer).toString()) as Envelope;
      if (env.type !== 'fleet.session' || env.payload.status !== 'running') return;
      const t = process.hrtime.bigint();
      const waiter = waiting.get(env.payload.id);
      if (waiter) waiter(t);
      else runningAt.set(env.payload.id, t);
    });
    const runningOf = (id: string): Promise<bigint> => {
      const t = runningAt.get(id);
      if (t !== undefined) {
        runningAt.delete(id);
        return Promise.resolve(t);
      }
      return new Promise((resolve) => waiting.set(id, resolve));
    };
    await new Promise((r) => setTimeout(r, 200));

    const results: Record<Figure, number[]> = { start_to_ack: [], post_to_running: [] };
    const medians: Record<Figure, { p50: number[]; p99: number[] }> = {
      start_to_ack: { p50: [], p99: [] },
      post_to_running: { p50: [], p99: [] },
    };
    for (let run = 0; run < runs + 1; run++) {
      const startToAck = new Float64Array(n);
      const postToRunning = new Float64Array(n);
      for (let i = 0; i < n; i++) {
        const t0 = process.hrtime.bigint();
        const view = await post<SessionView>(
          `${server.url}${routes.createSession.path}`,
          userToken,
          { harness: 'shell', prompt: 'echo bench' },
          agent,
        );
        const sessionId = view.id;
        const t2 = await runningOf(sessionId);
        waiting.delete(sessionId);
        const t1 = startSeen.get(sessionId)!; // the start reached the device before the session ran
        startSeen.delete(sessionId);
        startToAck[i] = Number(t2 - t1) / 1e6;
        postToRunning[i] = Number(t2 - t0) / 1e6;
        device.send(
          JSON.stringify({
            corrId: sessionId,
            type: 'session.exit',
            direction: 'to_cloud',
            ts: Date.now(),
            payload: { sessionId, code: 0, signal: null },
          }),
        );
      }
      if (run === 0) continue; // warm-up
      for (const [name, arr] of [
        ['start_to_ack', startToAck],
        ['post_to_running', postToRunning],
      ] as const) {
        const sorted = Float64Array.from(arr).sort();
        medians[name].p50.push(percentileSorted(sorted, 0.5));
        medians[name].p99.push(percentileSorted(sorted, 0.99));
        results[name].push(sorted[sorted.length - 1]!);
      }
      process.stderr.write(`dispatch run ${run}/${runs} done\n`);
    }
    for (const name of ['start_to_ack', 'post_to_running'] as const) {
      for (const q of ['p50', 'p99'] as const) {
        const line = {
          bench: 'dispatch',
          figure: `${name}_${q}`,
          value: round(median(medians[name][q]), 3),
          unit: 'ms',
          runs: medians[name][q].map((x) => round(x, 3)),
          n,
        };
        if (name === 'start_to_ack' && q === 'p99') Object.assign(line, { target: '< 50 ms', met: line.value < 50 });
        process.stdout.write(JSON.stringify(line) + '\n');
      }
      process.stdout.write(
        JSON.stringify({
          bench: 'dispatch',
          figure: `${name}_max`,
          value: round(median(results[name]), 3),
          unit: 'ms',
          runs: results[name].map((x) => round(x, 3)),
          n,
        }) + '\n',
      );
    }
    device.close();
    browser.close();
  } finally {
    agent.destroy();
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
