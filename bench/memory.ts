// Memory benchmark (docs: /work/shared/design/PERFORMANCE.md, "memory" row).
//
// The device's memory through the built package (`dist/`), in this process:
//   build    --chunks synthetic chunks (default 100,000) written as markdown
//            files by a deterministic generator (documents of 5 sections on
//            one of 60 topics, each section about one chunk), then indexed
//            from the files with Memory.reindex(): seconds, chunks/s, MB.
//   recall   --queries queries per run (default 300, new ones each run so the
//            query-embedding cache never hits), through Memory.recall() with
//            the defaults (BM25 top 50 + vector top 50, RRF, relevance rule,
//            1500-token budget): per run p50 and p95, median over --runs.
//   window   the same with a 30-day timeframe (the filter runs inside both
//            searches).
// Baseline in the same run: FTS5 alone on the same index file (every query
// term quoted and ORed, ORDER BY rank LIMIT 10, texts joined), what a
// keyword-only memory would do. (Recall searches only the rarest terms that
// fit a postings budget; the baseline searches them all.)
// Quality, reported beside the times: how often the first chunk is from a
// document on the query's topic (hybrid vs FTS5 alone), and the recall@10 and
// @50 of the coarse one-bit vector search against a full cosine scan.
//
// Figures (one JSON line each on stdout): index_build (s), index_size (MB),
// recall_p50/_p95 (ms), recall_window_p95 (ms), baseline_fts5_p50/_p95 (ms),
// top1_topic_hybrid/_fts5 (fraction), vector_recall_at_10/_50 (fraction).
// Target: recall_p95 < 50 ms over 100k chunks. Progress goes to stderr.
//
// Options: --chunks=N (default 100000)  --queries=N (default 300)
//          --runs=N (default 3)  --quick (5,000 chunks, 60 queries, 1 run)
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import Database from 'better-sqlite3';
import * as sqliteVec from 'sqlite-vec';
import { Memory } from '../../packages/daemon/dist/modules/memory/memory.js';
import { MemoryIndex } from '../../packages/daemon/dist/modules/memory/search-index.js';
import { FeatureHashEmbedder } from '../../packages/daemon/dist/modules/memory/embed.js';
import { fileNameFor } from '../../packages/daemon/dist/modules/memory/files.js';
import { formatMemoryFile, type MemoryRecord } from '../../packages/daemon/dist/modules/memory/frontmatter.js';
import { int8Vector } from '../../packages/daemon/dist/modules/memory/quantize.js';
import { ftsMatch, queryTerms } from '../../packages/daemon/dist/modules/memory/recall.js';
import { reporter, type Figure } from './lib/report.js';
import { median, percentileSorted, round } from './lib/stats.js';

const TARGET_P95_MS = 50;
const BUDGET_MS = 240_000;
const SECTIONS = 5;
const TOPICS = 60;
const NOW = Date.UTC(2025, 5, 1);
const DAY = 86_400_000;

const { log, emit } = reporter('memory');

interface Options {
  chunks: number;
  queries: number;
  runs: number;
}

function parseArgs(args: string[]): Options {
  const opts: Options = { chunks: 100_000, queries: 300, runs: 3 };
  for (const a of args) {
    if (a === '--quick') Object.assign(opts, { chunks: 5000, queries: 60, runs: 1 });
    else if (a.startsWith('--chunks=')) opts.chunks = Math.max(500, Number(a.slice(9)) | 0);
    else if (a.startsWith('--queries=')) opts.queries = Math.max(20, Number(a.slice(10)) | 0);
    else if (a.startsWith('--runs=')) opts.runs = Math.max(1, Number(a.slice(7)) | 0);
    else throw new Error(`memory: unknown option ${a} (known: --chunks=N --queries=N --runs=N --quick)`);
  }
  return opts;
}

// ---- a deterministic corpus -------------------------------------------------

/** A stream of numbers in [0, 1). */
type Rng = () => number;

/** mulberry32: the same stream on every machine. */
function rng(seed: number): Rng {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) | 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const GENERIC = (
  'service server client request response config file path folder disk volume memory process thread queue cache ' +
  'index table query record field value key token user group role policy rule limit quota error warning failure retry timeout ' +
  'latency throughput metric alert log trace event message stream batch job task schedule cron daily weekly nightly update ' +
  'upgrade release version build deploy image container network port address route proxy firewall certificate secret vault ' +
  'backup restore snapshot archive copy sync mirror replica primary leader follower shard partition cluster node host machine ' +
  'kernel driver module package library script command shell terminal session agent owner team project repository branch ' +
  'commit review test check health status report summary note decision reason change plan step issue ticket incident fix ' +
  'patch rollback migration schema column row document page section chapter draft budget cost invoice vendor contract'
).split(' ');
const SYLLABLES = 'ka ro mi tu ve la shi no pa re zu qi fo xa be do ge hi ju ly mo nu pe sa ti vo wa ye zo ri'.split(
  ' ',
);

interface Topic {
  name: string;
  words: string[];
}

/** Each topic: a name and 24 words only it uses (pronounceable, so tokenizers and stemmers see words). */
function makeTopics(): Topic[] {
  const r = rng(7);
  const seen = new Set<string>();
  const word = () => {
    for (;;) {
      const n = 2 + Math.floor(r() * 2);
      let w = '';
      for (let i = 0; i < n; i++) w += SYLLABLES[Math.floor(r() * SYLLABLES.length)]!;
      if (!seen.has(w)) {
        seen.add(w);
        return w;
      }
    }
  };
  return Array.from({ length: TOPICS }, () => {
    const words = Array.from({ length: 24 }, word);
    return { name: words[0]!, words };
  });
}

/** Zipf-ish pick: early entries far more often, as in real text. */
function zipf(r: Rng, list: string[]): string {
  return list[Math.floor(list.length * r() ** 2.2)]!;
}

function sentence(r: Rng, topic: Topic): string {
  const n = 9 + Math.floor(r() * 9);
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push(r() < 0.35 ? zipf(r, topic.words) : zipf(r, GENERIC));
  const s = out.join(' ');
  return `${s[0]!.toUpperCase()}${s.slice(1)}.`;
}

/** Document i: its topic, time, and markdown with SECTIONS sections of ~170 words (one chunk each). */
function document(i: number, topics: Topic[]): { record: MemoryRecord; topicIndex: number } {
  const r = rng(1000 + i);
  const topicIndex = i % TOPICS;
  const topic = topics[topicIndex]!;
  const sections: string[] = [];
  for (let s = 0; s < SECTIONS; s++) {
    const heading = `${zipf(r, topic.words)} ${zipf(r, GENERIC)}`;
    const body: string[] = [];
    while (body.join(' ').split(' ').length < 160) body.push(sentence(r, topic));
    sections.push(`## ${heading}\n\n${body.join(' ')}`);
  }
  const record: MemoryRecord = {
    id: `mem_bench${String(i).padStart(8, '0')}`,
    created: NOW - Math.floor(r() * 730 * DAY),
    category: 'document',
    tags: [topic.name],
    summary: `${topic.name} ${zipf(r, GENERIC)} notes ${i}`,
    source: `bench/${topic.name}`,
    title: `${topic.name} ${zipf(r, GENERIC)} notes ${i}`,
    body: sections.join('\n\n'),
  };
  return { record, topicIndex };
}

/** A query, and the topic whose words it was made of. */
interface Query {
  query: string;
  topicIndex: number;
}

/** Queries: 2-4 words of a topic and maybe a generic word; every 4th in another form (plural or -ing) of its words. */
function makeQueries(n: number, seed: number, topics: Topic[]): Query[] {
  const r = rng(seed);
  return Array.from({ length: n }, (_, i) => {
    const topicIndex = Math.floor(r() * TOPICS);
    const topic = topics[topicIndex]!;
    const words: string[] = [];
    for (let k = 2 + Math.floor(r() * 3); k > 0; k--) words.push(zipf(r, topic.words));
    if (r() < 0.5) words.push(zipf(r, GENERIC));
    const query = i % 4 === 3 ? words.map((w) => (w.length > 4 ? `${w}ing` : `${w}s`)).join(' ') : words.join(' ');
    return { query, topicIndex };
  });
}

// ---- timing -----------------------------------------------------------------

const ms = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e6;

/** A search under test: the memory id of its first chunk, if it found any. */
type Search = (query: string) => Promise<string | undefined>;

interface Timed {
  p50: number;
  p95: number;
  firsts: (string | undefined)[];
}

async function timeQueries(queries: Query[], fn: Search): Promise<Timed> {
  const times = new Float64Array(queries.length);
  const firsts: (string | undefined)[] = [];
  for (let i = 0; i < queries.length; i++) {
    const t0 = process.hrtime.bigint();
    firsts.push(await fn(queries[i]!.query));
    times[i] = ms(t0);
  }
  times.sort();
  return { p50: percentileSorted(times, 0.5), p95: percentileSorted(times, 0.95), firsts };
}

function figure(name: string, runs: number[], extra: Figure = {}) {
  const line = {
    figure: name,
    value: round(median(runs), 3),
    unit: 'ms',
    runs: runs.map((x) => round(x, 3)),
    ...extra,
  };
  return line;
}

export async function main(args: string[]): Promise<void> {
  const opts = parseArgs(args);
  const started = Date.now();
  const root = mkdtempSync(join(tmpdir(), 'fabric-bench-memory-'));
  const watchdog = setTimeout(() => {
    log(`giving up: over the ${BUDGET_MS / 1000} s budget`);
    rmSync(root, { recursive: true, force: true });
    process.exit(1);
  }, BUDGET_MS);
  watchdog.unref();
  try {
    await run(opts, root, started);
  } finally {
    rmSync(root, { recursive: true, force: true });
    clearTimeout(watchdog);
  }
  log('done');
}

async function run(opts: Options, root: string, started: number): Promise<void> {
  const topics = makeTopics();
  const dir = join(root, 'memory');
  const indexFile = join(root, 'memory-index.db');
  const docs = Math.ceil(opts.chunks / SECTIONS);
  const topicOf = new Map<string, number>();

  log(`writing ${docs} documents (${SECTIONS} sections each) as markdown files`);
  let t0 = process.hrtime.bigint();
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  for (let i = 0; i < docs; i++) {
    const { record, topicIndex } = document(i, topics);
    topicOf.set(record.id, topicIndex);
    const path = join(dir, fileNameFor(record));
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    writeFileSync(path, formatMemoryFile(record), { mode: 0o600 });
  }
  log(`files written in ${round(ms(t0) / 1000, 1)} s`);

  const memory = new Memory({ dir, index: indexFile, now: () => NOW });
  log('indexing from the files (Memory.reindex)');
  t0 = process.hrtime.bigint();
  const built = await memory.reindex();
  const buildS = ms(t0) / 1000;
  if (built.errors.length > 0)
    throw new Error(`reindex reported ${built.errors.length} unreadable files: ${built.errors[0]!.message}`);
  emit({
    figure: 'index_build',
    value: round(buildS, 2),
    unit: 's',
    memories: built.memories,
    chunks: built.chunks,
    chunksPerS: round(built.chunks / buildS, 0),
  });

  // FTS5 alone, on its own read-only connection to the same file.
  const db = new Database(indexFile, { readonly: true });
  const fts = db.prepare<
    [string],
    { id: number; memoryId: string; text: string }
  >(`SELECT c.id, c.memory_id AS memoryId, c.text FROM chunks_fts f JOIN chunks c ON c.id = f.rowid
    WHERE chunks_fts MATCH ? ORDER BY f.rank LIMIT 10`);
  const ftsAlone: Search = async (query) => {
    const match = ftsMatch(queryTerms(query));
    return match === null ? undefined : fts.all(match)[0]?.memoryId;
  };
  const hybrid: Search = async (query) => (await memory.recall({ query })).chunks[0]?.memoryId;
  const windowed: Search = async (query) => (await memory.recall({ query, timeframe: '30d' })).chunks[0]?.memoryId;

  // Warm both paths (page cache, statements) before timing.
  const warm = makeQueries(30, 99, topics);
  await timeQueries(warm, hybrid);
  await timeQueries(warm, ftsAlone);

  const runs: Record<'hybrid50' | 'hybrid95' | 'fts50' | 'fts95' | 'window95', number[]> = {
    hybrid50: [],
    hybrid95: [],
    fts50: [],
    fts95: [],
    window95: [],
  };
  let hitsHybrid = 0;
  let hitsFts = 0;
  let asked = 0;
  const onTopic = (firsts: (string | undefined)[], queries: Query[]) =>
    firsts.filter((id, i) => id !== undefined && topicOf.get(id) === queries[i]!.topicIndex).length;
  for (let r = 0; r < opts.runs; r++) {
    if (Date.now() - started > BUDGET_MS * 0.8) {
      log(`stopping after ${r} runs: time budget`);
      break;
    }
    const queries = makeQueries(opts.queries, 100 + r, topics);
    log(`run ${r + 1}/${opts.runs}: ${queries.length} hybrid recalls, then FTS5 alone`);
    const h = await timeQueries(queries, hybrid);
    const f = await timeQueries(queries, ftsAlone);
    runs.hybrid50.push(h.p50);
    runs.hybrid95.push(h.p95);
    runs.fts50.push(f.p50);
    runs.fts95.push(f.p95);
    hitsHybrid += onTopic(h.firsts, queries);
    hitsFts += onTopic(f.firsts, queries);
    asked += queries.length;
    const w = await timeQueries(queries.slice(0, Math.ceil(queries.length / 3)), windowed);
    runs.window95.push(w.p95);
  }
  const n = { n: opts.queries, chunks: built.chunks };
  emit(figure('recall_p50', runs.hybrid50, n));
  const p95 = figure('recall_p95', runs.hybrid95, n);
  if (built.chunks >= 100_000) Object.assign(p95, { target: `< ${TARGET_P95_MS} ms`, met: p95.value < TARGET_P95_MS });
  emit(p95);
  emit(figure('recall_window_p95', runs.window95, { ...n, n: Math.ceil(opts.queries / 3), timeframe: '30d' }));
  emit(figure('baseline_fts5_p50', runs.fts50, n));
  emit(figure('baseline_fts5_p95', runs.fts95, n));
  emit({ figure: 'top1_topic_hybrid', value: round(hitsHybrid / asked, 3), unit: 'fraction', n: asked });
  emit({ figure: 'top1_topic_fts5', value: round(hitsFts / asked, 3), unit: 'fraction', n: asked });

  // The coarse one-bit search against a full cosine scan of every stored vector.
  log('vector recall@10 and @50: coarse codes vs full scan');
  sqliteVec.load(db);
  const exact = db.prepare<[Buffer], { id: number }>(
    'SELECT id FROM chunk_vectors ORDER BY vec_distance_cosine(vec_int8(embedding), vec_int8(?)) LIMIT 50',
  );
  const index = new MemoryIndex(indexFile);
  const embedder = new FeatureHashEmbedder();
  const found: Record<10 | 50, number> = { 10: 0, 50: 0 };
  const probes = makeQueries(20, 555, topics);
  for (const { query } of probes) {
    const v = embedder.embedOne(query);
    const truth = exact.all(Buffer.from(int8Vector(v).buffer)).map((row) => row.id);
    const got = index.nearest(v, 50, { from: null, to: null }).map((g) => g.key);
    for (const k of [10, 50] as const) {
      const top = new Set(truth.slice(0, k));
      found[k] += got.slice(0, k).filter((key) => top.has(key)).length;
    }
  }
  for (const k of [10, 50] as const)
    emit({
      figure: `vector_recall_at_${k}`,
      value: round(found[k] / (k * probes.length), 3),
      unit: 'fraction',
      n: probes.length,
    });
  index.close();
  db.close();
  // Closed, the index is checkpointed into its one file: its size is the index's.
  await memory.close();
  emit({ figure: 'index_size', value: round(statSync(indexFile).size / 1e6, 1), unit: 'MB', chunks: built.chunks });
}
