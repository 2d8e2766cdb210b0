// Vault benchmark (docs: /work/shared/design/PERFORMANCE.md, "vault" row).
//
// The crypto core alone, in this process, through the built package
// (`@fabric/vault` from dist), for a classic X25519 vault and a post-quantum
// (ML-KEM-768 + X25519 hybrid) one, each with three recipients:
//   decrypt   one 100-byte entry with the identity of the last of its three
//             stanzas (the worst case: age tries stanzas in order); per run,
//             p50 and p99 over --decrypts decrypts.
//   rewrap    --entries entries (100 bytes each, encrypted to cli + device +
//             a party being revoked) rewrapped with rewrapAll to cli + device
//             + a new device, as `optimal vault revoke` does; total seconds.
// Baseline in the same run: the same decrypt and rewrap written directly
// against age-encryption (typage) with string identities, one entry at a time,
// so the figures show what the package adds or saves over the library.
//
// Figures (one JSON line each on stdout): decrypt_<kind>_p50/_p99 (ms),
// rewrap_<kind> (s), the baseline counterparts, and entry_size_<kind> (bytes
// of one armored entry). Targets (classic only): decrypt < 5 ms, rewrap of
// 1,000 entries < 3 s. Progress goes to stderr.
//
// Options: --runs=N (default 5)  --decrypts=N (default 200)
//          --entries=N (default 1000)  --no-pq  --no-baseline
//          --quick (runs=1, decrypts=50, entries=100; a smoke test)
import { Decrypter, Encrypter, armor } from 'age-encryption';
import { decryptEntry, encryptEntry, generateIdentity, rewrapAll } from '@fabric/vault';
import { reporter } from './lib/report.js';
import { median, percentileSorted, round } from './lib/stats.js';

const TARGET_DECRYPT_MS = 5;
const TARGET_REWRAP_S = 3;
const BUDGET_MS = 240_000;

const started = Date.now();
const { log, emit } = reporter('vault');

interface Options {
  runs: number;
  decrypts: number;
  entries: number;
  pq: boolean;
  baseline: boolean;
}

function parseArgs(args: string[]): Options {
  const opts: Options = { runs: 5, decrypts: 200, entries: 1000, pq: true, baseline: true };
  for (const a of args) {
    if (a === '--quick') Object.assign(opts, { runs: 1, decrypts: 50, entries: 100 });
    else if (a === '--no-pq') opts.pq = false;
    else if (a === '--no-baseline') opts.baseline = false;
    else if (a.startsWith('--runs=')) opts.runs = Math.max(1, Number(a.slice(7)) | 0);
    else if (a.startsWith('--decrypts=')) opts.decrypts = Math.max(10, Number(a.slice(11)) | 0);
    else if (a.startsWith('--entries=')) opts.entries = Math.max(10, Number(a.slice(10)) | 0);
    else
      throw new Error(
        `vault: unknown option ${a} (known: --runs=N --decrypts=N --entries=N --no-pq --no-baseline --quick)`,
      );
  }
  return opts;
}

/** A printable 100-byte secret, different for each i. */
function secret(i: number): Uint8Array {
  return new TextEncoder().encode(`sk-${String(i).padStart(6, '0')}-`.padEnd(100, 'x'));
}

const ms = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e6;

/** `runs` runs of `n` timed calls of fn; per-run p50/p99, after a short warm-up. */
async function timeCalls(
  fn: () => Promise<unknown>,
  n: number,
  runs: number,
): Promise<{ p50: number[]; p99: number[] }> {
  for (let i = 0; i < Math.min(20, n); i++) await fn();
  const p50: number[] = [];
  const p99: number[] = [];
  for (let r = 0; r < runs; r++) {
    const times = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const t0 = process.hrtime.bigint();
      await fn();
      times[i] = ms(t0);
    }
    times.sort();
    p50.push(percentileSorted(times, 0.5));
    p99.push(percentileSorted(times, 0.99));
  }
  return { p50, p99 };
}

/** `runs` timed runs of fn (seconds each), after one warm-up call of warm. */
async function timeRuns(fn: () => Promise<unknown>, warm: () => Promise<unknown>, runs: number): Promise<number[]> {
  await warm();
  const secs: number[] = [];
  for (let r = 0; r < runs; r++) {
    const t0 = process.hrtime.bigint();
    await fn();
    secs.push(ms(t0) / 1000);
  }
  return secs;
}

/** typage alone: what a straightforward caller would write, one entry at a time. */
async function typageDecrypt(armored: string, identity: string): Promise<Uint8Array> {
  const d = new Decrypter();
  d.addIdentity(identity);
  return d.decrypt(armor.decode(armored));
}

/** One stored secret: its name and its armored ciphertext. */
interface Entry {
  name: string;
  ciphertext: string;
}

async function typageRewrap(entries: Entry[], identity: string, recipients: string[]): Promise<Entry[]> {
  const d = new Decrypter();
  d.addIdentity(identity);
  const e = new Encrypter();
  for (const r of recipients) e.addRecipient(r);
  const out: Entry[] = [];
  for (const entry of entries) {
    const plaintext = await d.decrypt(armor.decode(entry.ciphertext));
    out.push({ ...entry, ciphertext: armor.encode(await e.encrypt(plaintext)) });
    plaintext.fill(0);
  }
  return out;
}

async function benchKind(kind: 'x25519' | 'pq', opts: Options, deadline: number): Promise<void> {
  const postQuantum = kind === 'pq';
  const identity = () => generateIdentity({ postQuantum });
  const [cli, device, revoked, fresh] = await Promise.all([identity(), identity(), identity(), identity()]);
  const oldSet = [cli.recipient, revoked.recipient, device.recipient];
  const newSet = [cli.recipient, device.recipient, fresh.recipient];
  const target = kind === 'x25519';
  // Post-quantum runs are ~4x slower; fewer of them keeps the bench bounded.
  const runs = postQuantum ? Math.max(1, Math.min(opts.runs, 3)) : opts.runs;

  // Decrypt one entry.
  const one = await encryptEntry(secret(0), oldSet);
  emit({ figure: `entry_size_${kind}`, value: one.length, unit: 'bytes', recipients: 3, plaintext: 100 });
  log(`${kind}: decrypt x${opts.decrypts} x${runs} runs`);
  const dec = await timeCalls(() => decryptEntry(one, [device.identity]), opts.decrypts, runs);
  for (const q of ['p50', 'p99'] as const) {
    const line = {
      figure: `decrypt_${kind}_${q}`,
      value: round(median(dec[q]), 3),
      unit: 'ms',
      runs: dec[q].map((x) => round(x, 3)),
      n: opts.decrypts,
    };
    if (target) Object.assign(line, { target: `< ${TARGET_DECRYPT_MS} ms`, met: line.value < TARGET_DECRYPT_MS });
    emit(line);
  }
  if (opts.baseline) {
    const base = await timeCalls(() => typageDecrypt(one, device.identity), opts.decrypts, runs);
    emit({
      figure: `baseline_typage_decrypt_${kind}_p50`,
      value: round(median(base.p50), 3),
      unit: 'ms',
      runs: base.p50.map((x) => round(x, 3)),
      n: opts.decrypts,
    });
  }

  // Rewrap N entries to a set without the revoked party.
  if (Date.now() > deadline) {
    log(`${kind}: skipping rewrap, time budget spent`);
    return;
  }
  log(`${kind}: encrypting ${opts.entries} entries`);
  const entries: Entry[] = [];
  for (let i = 0; i < opts.entries; i++)
    entries.push({ name: `SECRET_${i}`, ciphertext: await encryptEntry(secret(i), oldSet) });
  const warm = entries.slice(0, Math.min(50, entries.length));
  const rewrapRuns = postQuantum ? Math.min(runs, 3) : Math.min(runs, 5);
  log(`${kind}: rewrap ${opts.entries} entries x${rewrapRuns} runs`);
  let last: Entry[] = [];
  const secs = await timeRuns(
    async () => {
      last = await rewrapAll(entries, [cli.identity], newSet);
    },
    () => rewrapAll(warm, [cli.identity], newSet),
    rewrapRuns,
  );
  // The figure only counts if the work was right: the new device reads, the revoked party does not.
  const check = last[last.length - 1]!;
  const plain = new TextDecoder().decode(await decryptEntry(check.ciphertext, [fresh.identity]));
  if (plain !== new TextDecoder().decode(secret(entries.length - 1)))
    throw new Error('rewrap produced the wrong plaintext');
  if (
    await decryptEntry(check.ciphertext, [revoked.identity]).then(
      () => true,
      () => false,
    )
  )
    throw new Error('revoked party still decrypts');
  const line = {
    figure: `rewrap_${kind}`,
    value: round(median(secs), 3),
    unit: 's',
    runs: secs.map((x) => round(x, 3)),
    n: opts.entries,
    perEntryMs: round((median(secs) * 1000) / opts.entries, 3),
  };
  if (target && opts.entries === 1000)
    Object.assign(line, { target: `< ${TARGET_REWRAP_S} s`, met: line.value < TARGET_REWRAP_S });
  emit(line);
  if (opts.baseline && Date.now() < deadline) {
    const baseRuns = postQuantum ? 1 : Math.min(rewrapRuns, 3);
    log(`${kind}: baseline rewrap (typage, one at a time) x${baseRuns} runs`);
    const base = await timeRuns(
      () => typageRewrap(entries, cli.identity, newSet),
      () => typageRewrap(warm, cli.identity, newSet),
      baseRuns,
    );
    emit({
      figure: `baseline_typage_rewrap_${kind}`,
      value: round(median(base), 3),
      unit: 's',
      runs: base.map((x) => round(x, 3)),
      n: opts.entries,
    });
  }
}

export async function main(args: string[]): Promise<void> {
  const opts = parseArgs(args);
  const watchdog = setTimeout(() => {
    log(`giving up: over the ${BUDGET_MS / 1000} s budget`);
    process.exit(1);
  }, BUDGET_MS);
  watchdog.unref();
  // Leave room for the post-quantum half, which is several times slower.
  await benchKind('x25519', opts, started + BUDGET_MS * 0.4);
  if (opts.pq) await benchKind('pq', opts, started + BUDGET_MS * 0.75);
  log('done');
  clearTimeout(watchdog);
}
