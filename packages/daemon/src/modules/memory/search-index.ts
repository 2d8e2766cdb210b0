import * as sqliteVec from 'sqlite-vec';
import { openStore, type Sqlite } from '../../kernel/index.js';
import { binaryCode, codeBits, int8Vector } from './quantize.js';
import { stemText } from './text.js';
import type { Timeframe } from './timeframe.js';

/** The store's own migrations (see `ctx.db`): the meta table; the derived tables are rebuilt, not migrated. */
export const MEMORY_INDEX_MIGRATIONS: readonly string[] = [
  'CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)',
];

/** Bump when the tables below change: an index of another version is rebuilt from the files. */
const SCHEMA_VERSION = '1';

/**
 * How many nearest codes the coarse (Hamming) search takes per wanted vector
 * result before exact re-scoring. Two is enough for good neighbours to
 * survive the one-bit codes; sqlite-vec's top-k grows costly past ~100.
 */
const COARSE_FACTOR = 2;

/** One chunk as the index stores it. */
export interface IndexedChunk {
  ordinal: number;
  text: string;
  /** The enrichment (title, section, category, tags, source) searched by words along with the text. */
  context: string;
  tokens: number;
  /** The embedding of context + text, unit length, the embedder's dim (stored as int8 and a one-bit code). */
  embedding: Float32Array;
}

/** One memory as the index stores it: where it lives and its chunks. */
export interface IndexedMemory {
  id: string;
  file: string;
  ts: number;
  category: string;
  tags: string[];
  chunks: IndexedChunk[];
}

/** A chunk read back for a recall answer. */
export interface StoredChunk {
  key: number;
  memoryId: string;
  file: string;
  ordinal: number;
  ts: number;
  category: string;
  tags: string[];
  text: string;
  tokens: number;
}

/** What the index was built with, from its meta table; null values before the first build. */
export interface IndexMeta {
  schema: string | null;
  embedder: string | null;
  dim: number | null;
  indexedAt: number | null;
}

/**
 * The derived index of the memory files, in its own SQLite file (the
 * daemon's is `<dataDir>/memory-index.db`): a `chunks` table, an FTS5 table
 * over the stems of each chunk's context and text (BM25; the stems are
 * text.ts's, not FTS5's porter tokenizer, so a query term's document
 * frequency can be looked up in the fts5vocab table before searching),
 * a `chunk_vectors` table with each chunk's embedding as int8, and a
 * sqlite-vec `vec0` table with its one-bit code and time, for the coarse
 * vector search (see quantize.ts for why not float vectors in vec0). Everything in it can be rebuilt from the files; the
 * meta table records the schema version and the embedder it was built with,
 * and a caller rebuilds (`reset`, then `add` each memory) when they differ.
 *
 * Synchronous, one connection; the Memory facade serialises its use.
 */
export class MemoryIndex {
  private readonly db: Sqlite;
  private stmts: ReturnType<MemoryIndex['prepare']> | null = null;
  /** Chunks indexed, kept here because count(*) reads the whole table; null until first needed. */
  private total: number | null = null;

  private readonly owned: boolean;

  /**
   * On the store `index` (opened with MEMORY_INDEX_MIGRATIONS, and closed by
   * whoever opened it), or on a file this index opens and closes itself.
   */
  constructor(index: Sqlite | string) {
    this.owned = typeof index === 'string';
    this.db = typeof index === 'string' ? openStore(index, 'memory-index.db', MEMORY_INDEX_MIGRATIONS) : index;
    sqliteVec.load(this.db);
    if (this.hasTables()) this.stmts = this.prepare();
  }

  meta(): IndexMeta {
    const rows = this.db.prepare('SELECT key, value FROM meta').all() as { key: string; value: string }[];
    const m = new Map(rows.map((r) => [r.key, r.value]));
    const num = (k: string): number | null => (m.has(k) ? Number(m.get(k)) : null);
    return {
      schema: m.get('schema') ?? null,
      embedder: m.get('embedder') ?? null,
      dim: num('dim'),
      indexedAt: num('indexed_at'),
    };
  }

  /** True when the index holds tables of this schema built by this embedder: no rebuild needed. */
  matches(embedder: { id: string; dim: number }): boolean {
    const m = this.meta();
    return this.stmts !== null && m.schema === SCHEMA_VERSION && m.embedder === embedder.id && m.dim === embedder.dim;
  }

  /**
   * Drop and recreate every derived table for vectors of `dim` floats and
   * record the embedder. Run it inside `transaction` with the `add`s of a
   * rebuild so readers of the file never see it half built.
   */
  reset(embedder: { id: string; dim: number }, at: number): void {
    this.db.exec(`
      DROP TABLE IF EXISTS chunks_vec;
      DROP TABLE IF EXISTS chunks_fts_vocab;
      DROP TABLE IF EXISTS chunks_fts;
      DROP TABLE IF EXISTS chunk_vectors;
      DROP TABLE IF EXISTS chunks;
      DROP TABLE IF EXISTS memories;
      CREATE TABLE memories (
        id TEXT PRIMARY KEY,
        file TEXT NOT NULL,
        ts INTEGER NOT NULL,
        category TEXT NOT NULL,
        chunks INTEGER NOT NULL
      );
      CREATE TABLE chunks (
        id INTEGER PRIMARY KEY,
        memory_id TEXT NOT NULL,
        file TEXT NOT NULL,
        ordinal INTEGER NOT NULL,
        ts INTEGER NOT NULL,
        category TEXT NOT NULL,
        tags TEXT NOT NULL,
        text TEXT NOT NULL,
        tokens INTEGER NOT NULL
      );
      CREATE INDEX chunks_memory ON chunks (memory_id, ordinal);
      CREATE INDEX chunks_ts ON chunks (ts);
      CREATE TABLE chunk_vectors (id INTEGER PRIMARY KEY, embedding BLOB NOT NULL);
      CREATE VIRTUAL TABLE chunks_fts USING fts5(
        context, text, content='', contentless_delete=1,
        tokenize='unicode61 remove_diacritics 2'
      );
      INSERT INTO chunks_fts (chunks_fts, rank) VALUES ('rank', 'bm25(0.5, 1.0)');
      CREATE VIRTUAL TABLE chunks_fts_vocab USING fts5vocab(chunks_fts, row);
      CREATE VIRTUAL TABLE chunks_vec USING vec0(id INTEGER PRIMARY KEY, code bit[${codeBits(embedder.dim)}], ts INTEGER);
    `);
    const set = this.db.prepare('INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)');
    set.run('schema', SCHEMA_VERSION);
    set.run('embedder', embedder.id);
    set.run('dim', String(embedder.dim));
    set.run('indexed_at', String(at));
    this.stmts = this.prepare();
    this.total = 0;
  }

  /** Add one memory and its chunks. Throws (a bug) when the tables are missing or the id is already indexed. */
  add(memory: IndexedMemory): void {
    const s = this.ready();
    s.insertMemory.run(memory.id, memory.file, memory.ts, memory.category, memory.chunks.length);
    const tags = JSON.stringify(memory.tags);
    this.total = (this.total ?? 0) + memory.chunks.length;
    for (const c of memory.chunks) {
      const key = Number(
        s.insertChunk.run(memory.id, memory.file, c.ordinal, memory.ts, memory.category, tags, c.text, c.tokens)
          .lastInsertRowid,
      );
      s.insertFts.run(key, stemText(c.context), stemText(c.text));
      s.insertVector.run(key, bytes(int8Vector(c.embedding)));
      s.insertCode.run(BigInt(key), bytes(binaryCode(c.embedding)), BigInt(memory.ts));
    }
  }

  /** Run fn in one write transaction (BEGIN IMMEDIATE): all of it lands or none. */
  transaction<T>(fn: () => T): T {
    return this.db.transaction(fn).immediate();
  }

  /** Open a write transaction that spans awaits (a rebuild embedding between batches); the caller must `commit` or `rollback`. */
  begin(): void {
    this.db.exec('BEGIN IMMEDIATE');
  }

  /** Commit the transaction `begin` opened, then fold the WAL (a rebuild writes the whole index through it) back into the file and truncate it. */
  commit(): void {
    this.db.exec('COMMIT');
    this.db.pragma('wal_checkpoint(TRUNCATE)');
  }

  rollback(): void {
    if (this.db.inTransaction) this.db.exec('ROLLBACK');
    // The rolled-back reset may have dropped the tables the statements name.
    this.stmts = this.hasTables() ? this.prepare() : null;
    this.total = null;
  }

  /** Whether a memory id is indexed. */
  has(memoryId: string): boolean {
    return this.ready().hasMemory.get(memoryId) !== undefined;
  }

  /** How many chunks there are, and how many hold each term (a stem, as queryTerms makes them). */
  termFrequencies(terms: string[]): { chunks: number; df: number[] } {
    const s = this.ready();
    this.total ??= (s.counts.get() as { chunks: number }).chunks;
    return {
      chunks: this.total,
      df: terms.map((t) => (s.documentFrequency.get(t) as { doc: number } | undefined)?.doc ?? 0),
    };
  }

  /**
   * Chunk keys matching an FTS5 expression, best BM25 first, at most `limit`,
   * within the window. `match` must come from `ftsMatch` (quoted stems only:
   * the FTS table holds stemText of each chunk, see text.ts).
   */
  lexical(match: string, limit: number, window: Timeframe): number[] {
    const s = this.ready();
    const rows =
      window.from === null && window.to === null
        ? s.lexical.all(match, limit)
        : s.lexicalWindow.all(
            match,
            window.from ?? Number.MIN_SAFE_INTEGER,
            window.to ?? Number.MAX_SAFE_INTEGER,
            limit,
          );
    return (rows as { id: number }[]).map((r) => r.id);
  }

  /**
   * The `limit` chunks nearest to a unit vector by cosine similarity, best
   * first, within the window: the nearest COARSE_FACTOR × limit one-bit codes
   * by Hamming distance (sqlite-vec KNN, the window filtered inside it), then
   * re-scored by the cosine of their int8 vectors (see quantize.ts).
   */
  nearest(query: Float32Array, limit: number, window: Timeframe): { key: number; similarity: number }[] {
    const s = this.ready();
    const rows = s.nearest.all({
      code: bytes(binaryCode(query)),
      k: limit * COARSE_FACTOR,
      from: window.from ?? Number.MIN_SAFE_INTEGER,
      to: window.to ?? Number.MAX_SAFE_INTEGER,
      query: bytes(int8Vector(query)),
      limit,
    }) as { id: number; distance: number }[];
    return rows.map((r) => ({ key: r.id, similarity: 1 - r.distance }));
  }

  /** The chunks with these keys (any order; unknown keys are skipped). */
  chunks(keys: number[]): StoredChunk[] {
    if (keys.length === 0) return [];
    const rows = this.ready().chunksByKey.all(JSON.stringify(keys)) as (Omit<StoredChunk, 'tags'> & { tags: string })[];
    return rows.map((r) => ({ ...r, tags: JSON.parse(r.tags) as string[] }));
  }

  /** How many memories and chunks are indexed (0 and 0 before the first build). */
  counts(): { memories: number; chunks: number } {
    if (this.stmts === null) return { memories: 0, chunks: 0 };
    return this.stmts.counts.get() as { memories: number; chunks: number };
  }

  /** Close the file this index opened; a store given to it stays open for its owner to close. */
  close(): void {
    if (this.owned) this.db.close();
  }

  private ready(): NonNullable<MemoryIndex['stmts']> {
    if (this.stmts === null) throw new Error('memory index has no tables: rebuild it first');
    return this.stmts;
  }

  private hasTables(): boolean {
    return this.db.prepare("SELECT 1 FROM sqlite_master WHERE name = 'chunks_vec'").get() !== undefined;
  }

  private prepare() {
    const db = this.db;
    return {
      insertMemory: db.prepare('INSERT INTO memories (id, file, ts, category, chunks) VALUES (?, ?, ?, ?, ?)'),
      insertChunk: db.prepare(
        'INSERT INTO chunks (memory_id, file, ordinal, ts, category, tags, text, tokens) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
      ),
      insertFts: db.prepare('INSERT INTO chunks_fts (rowid, context, text) VALUES (?, ?, ?)'),
      insertVector: db.prepare('INSERT INTO chunk_vectors (id, embedding) VALUES (?, ?)'),
      insertCode: db.prepare('INSERT INTO chunks_vec (id, code, ts) VALUES (?, vec_bit(?), ?)'),
      hasMemory: db.prepare('SELECT 1 FROM memories WHERE id = ?'),
      documentFrequency: db.prepare('SELECT doc FROM chunks_fts_vocab WHERE term = ?'),
      lexical: db.prepare('SELECT rowid AS id FROM chunks_fts WHERE chunks_fts MATCH ? ORDER BY rank LIMIT ?'),
      lexicalWindow: db.prepare(`
        SELECT f.rowid AS id FROM chunks_fts f JOIN chunks c ON c.id = f.rowid
        WHERE chunks_fts MATCH ? AND c.ts BETWEEN ? AND ? ORDER BY f.rank LIMIT ?`),
      nearest: db.prepare(`
        WITH coarse AS (
          SELECT id FROM chunks_vec
          WHERE code MATCH vec_bit(:code) AND k = :k AND ts >= :from AND ts <= :to
        )
        SELECT v.id AS id, vec_distance_cosine(vec_int8(v.embedding), vec_int8(:query)) AS distance
        FROM coarse JOIN chunk_vectors v ON v.id = coarse.id
        ORDER BY distance LIMIT :limit`),
      chunksByKey: db.prepare(`
        SELECT id AS key, memory_id AS memoryId, file, ordinal, ts, category, tags, text, tokens
        FROM chunks WHERE id IN (SELECT value FROM json_each(?))`),
      counts: db.prepare('SELECT (SELECT count(*) FROM memories) AS memories, (SELECT count(*) FROM chunks) AS chunks'),
    };
  }
}

/** The bytes of a typed array, as better-sqlite3 binds a BLOB. */
function bytes(a: Int8Array | Uint8Array): Buffer {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength);
}
