import {
  FabricError,
  memoryIngestInputSchema,
  memoryRecallInputSchema,
  memoryStoreInputSchema,
  newId,
  type MemoryFileError,
  type MemoryHealth,
  type MemoryIngestInput,
  type MemoryRecallAnswer,
  type MemoryRecallInput,
  type MemoryReindexAnswer,
  type MemoryStoreInput,
  type MemoryWritten,
} from '@fabric/protocol';
import type { z } from 'zod';
import type { Sqlite } from '../../kernel/index.js';
import { LruCache } from './cache.js';
import { chunkMemory, type MemoryChunkText } from './chunk.js';
import { DEFAULT_SIMILARITY_FLOOR, FeatureHashEmbedder, normalize, type Embedder } from './embed.js';
import { MemoryFiles } from './files.js';
import type { MemoryRecord } from './frontmatter.js';
import { MemoryIndex, type IndexedMemory } from './search-index.js';
import { recall } from './recall.js';

/** Query embeddings kept, and for how long: agents repeat queries within a task. */
const QUERY_CACHE_SIZE = 256;
const QUERY_CACHE_TTL_MS = 5 * 60_000;
/** Chunks embedded per call during a rebuild (the event loop gets a turn between batches). */
const REBUILD_BATCH_CHUNKS = 256;

export interface MemoryOptions {
  /** The ground truth: markdown files (the daemon's `<dataDir>/memory/`). Created 0700. */
  dir: string;
  /**
   * The derived index: the daemon's store `memory-index` (from `ctx.db` with
   * MEMORY_INDEX_MIGRATIONS, closed by the kernel), or a file the memory opens
   * (created 0600) and closes.
   */
  index: Sqlite | string;
  /** FeatureHashEmbedder when absent. */
  embedder?: Embedder;
  /** The clock (ms): file times, timeframes, the query cache. Date.now when absent. */
  now?: () => number;
  /** Credited in `store` when the input names no source. */
  defaultSource?: string;
}

/**
 * The device's memory. Markdown files under `dir` are the ground truth (see
 * MemoryFiles); the index beside them is derived and rebuilt from them by
 * `reindex`, and on first use whenever it is missing, of another schema, or
 * built by another embedder. `store` and `ingest` write the file first, then
 * index it: if indexing fails the file stays, and the next reindex picks it up.
 *
 * Operations run one at a time (a rebuild embeds between batches inside one
 * open transaction, so nothing may interleave on the connection): a recall
 * issued during a rebuild waits for it.
 */
export class Memory {
  readonly files: MemoryFiles;
  private readonly index: MemoryIndex;
  private readonly embedder: Embedder;
  private readonly now: () => number;
  private readonly defaultSource: string;
  private readonly queryCache: LruCache<Float32Array>;
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;

  constructor(options: MemoryOptions) {
    this.files = new MemoryFiles(options.dir);
    this.index = new MemoryIndex(options.index);
    this.embedder = options.embedder ?? new FeatureHashEmbedder();
    this.now = options.now ?? Date.now;
    this.defaultSource = options.defaultSource ?? 'agent';
    this.queryCache = new LruCache(QUERY_CACHE_SIZE, QUERY_CACHE_TTL_MS, this.now);
  }

  /** Remember one thing as a new markdown file and index it. Throws bad_request for invalid input. */
  async store(input: MemoryStoreInput): Promise<MemoryWritten> {
    const m = parse(memoryStoreInputSchema, input);
    return this.exclusive(async () => {
      await this.ensureIndex();
      const record: MemoryRecord = {
        id: newId('mem'),
        created: this.now(),
        category: m.category,
        tags: m.tags,
        summary: m.summary,
        source: m.source ?? this.defaultSource,
        body: m.detail,
      };
      return this.write(record);
    });
  }

  /** Keep a document or event (up to 4 MiB of text) as a markdown file and index it. Throws bad_request for invalid input. */
  async ingest(input: MemoryIngestInput): Promise<MemoryWritten> {
    const m = parse(memoryIngestInputSchema, input);
    return this.exclusive(async () => {
      await this.ensureIndex();
      const firstLine =
        m.text
          .trimStart()
          .split('\n', 1)[0]
          ?.replace(/^#+\s*/, '')
          .trim() ?? '';
      const record: MemoryRecord = {
        id: newId('mem'),
        created: m.ts ?? this.now(),
        category: m.kind ?? 'document',
        tags: m.tags,
        summary: (m.title ?? firstLine).slice(0, 200),
        source: m.source,
        body: m.text,
      };
      if (m.title !== undefined) record.title = m.title;
      return this.write(record);
    });
  }

  /** The relevant chunks for a query (see recall.ts for the rule). Throws bad_request for invalid input or timeframe. */
  async recall(input: MemoryRecallInput): Promise<MemoryRecallAnswer> {
    const q = parse(memoryRecallInputSchema, input);
    return this.exclusive(async () => {
      await this.ensureIndex();
      return recall(q, {
        source: this.index,
        embedQuery: (query) => this.embedQuery(query),
        now: this.now(),
        similarityFloor: this.embedder.similarityFloor ?? DEFAULT_SIMILARITY_FLOOR,
      });
    });
  }

  /** Rebuild the index from the files: counts, the files that could not be read (the rest are indexed), and the time it took. */
  reindex(): Promise<MemoryReindexAnswer> {
    return this.exclusive(() => this.rebuild());
  }

  /** The embedder and size of the index as it stands (no rebuild). */
  health(): Promise<MemoryHealth> {
    return this.exclusive(async () => {
      const meta = this.index.meta();
      const current = this.index.matches(this.embedder);
      return {
        embedder: this.embedder.id,
        dim: this.embedder.dim,
        ...(current ? this.index.counts() : { memories: 0, chunks: 0 }),
        indexedAt: current ? meta.indexedAt : null,
      };
    });
  }

  /** Wait for the operation under way, then close the index. Later calls throw. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.queue.catch(() => undefined);
    this.index.close();
  }

  /** Run fn after every earlier operation settled. */
  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(new Error('memory is closed'));
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async ensureIndex(): Promise<void> {
    if (!this.index.matches(this.embedder)) await this.rebuild();
  }

  private async rebuild(): Promise<MemoryReindexAnswer> {
    const started = performance.now();
    const errors: MemoryFileError[] = [];
    const seen = new Set<string>();
    let pending: { file: string; record: MemoryRecord; chunks: MemoryChunkText[] }[] = [];
    let pendingChunks = 0;
    let memories = 0;
    let chunks = 0;
    const flush = async (): Promise<void> => {
      const batch = pending;
      pending = [];
      pendingChunks = 0;
      const embedded = await this.embedAll(batch.flatMap((p) => p.chunks));
      let at = 0;
      for (const p of batch) {
        this.index.add(toIndexed(p.file, p.record, p.chunks, embedded.slice(at, at + p.chunks.length)));
        at += p.chunks.length;
        memories++;
        chunks += p.chunks.length;
      }
    };

    const files = await this.files.list();
    this.index.begin();
    try {
      this.index.reset(this.embedder, this.now());
      for (const file of files) {
        const entry = await this.files.read(file);
        if ('error' in entry) {
          errors.push({ file, message: entry.error });
          continue;
        }
        if (seen.has(entry.record.id)) {
          errors.push({
            file,
            message: `id ${entry.record.id} is already used by another file: give this one a new id`,
          });
          continue;
        }
        seen.add(entry.record.id);
        const texts = chunkMemory(entry.record);
        pending.push({ file, record: entry.record, chunks: texts });
        pendingChunks += texts.length;
        if (pendingChunks >= REBUILD_BATCH_CHUNKS) await flush();
      }
      await flush();
      this.index.commit();
    } catch (err) {
      this.index.rollback();
      throw err;
    }
    return { memories, chunks, errors, ms: Math.round((performance.now() - started) * 10) / 10 };
  }

  private async write(record: MemoryRecord): Promise<MemoryWritten> {
    const file = await this.files.write(record);
    const texts = chunkMemory(record);
    const embedded = await this.embedAll(texts);
    this.index.transaction(() => this.index.add(toIndexed(file, record, texts, embedded)));
    return { id: record.id, file, chunks: texts.length };
  }

  /** Embeddings of chunks (context, then text), checked and unit length. */
  private async embedAll(chunks: MemoryChunkText[]): Promise<Float32Array[]> {
    if (chunks.length === 0) return [];
    const vectors = await this.embedder.embed(chunks.map((c) => `${c.context}\n\n${c.text}`));
    if (vectors.length !== chunks.length || vectors.some((v) => v.length !== this.embedder.dim)) {
      throw new Error(`embedder ${this.embedder.id} answered vectors of the wrong count or length`);
    }
    return vectors.map((v) => normalize(Float32Array.from(v)));
  }

  private async embedQuery(query: string): Promise<Float32Array> {
    const key = `${this.embedder.id}\u0000${query.trim()}`;
    const hit = this.queryCache.get(key);
    if (hit) return hit;
    const [v] = await this.embedder.embed([query]);
    if (v?.length !== this.embedder.dim)
      throw new Error(`embedder ${this.embedder.id} answered a vector of the wrong length`);
    const unit = normalize(Float32Array.from(v));
    this.queryCache.set(key, unit);
    return unit;
  }
}

function toIndexed(
  file: string,
  record: MemoryRecord,
  chunks: MemoryChunkText[],
  embeddings: Float32Array[],
): IndexedMemory {
  return {
    id: record.id,
    file,
    ts: record.created,
    category: record.category,
    tags: record.tags,
    chunks: chunks.map((c, i) => ({ ...c, embedding: embeddings[i]! })),
  };
}

/** Parse an input with its schema; bad_request naming the first problem. */
function parse<S extends z.ZodType>(schema: S, input: unknown): z.output<S> {
  const r = schema.safeParse(input);
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  throw new FabricError('bad_request', `${issue?.path.join('.') || 'input'}: ${issue?.message ?? 'invalid'}`);
}
