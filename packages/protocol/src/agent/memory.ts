import { z } from 'zod';

/**
 * The memory tools of the agent API. Markdown files in the daemon's data dir
 * are the ground truth; a derived index (words by BM25, meaning by vectors,
 * merged by Reciprocal Rank Fusion) answers `memory_recall` and can always be
 * rebuilt from the files (`memory_reindex`). Inputs are strict (an unknown key
 * is a mistake worth reporting); answers are parsed by the daemon before they
 * leave. Times are ms since the epoch; `max_results` and `token_budget` keep
 * the snake_case of the original API.
 */

const timeSchema = z.number().int().nonnegative();
const countSchema = z.number().int().nonnegative();

/** Memory ids: `mem_` and 16 URL-safe characters. */
export const memoryIdSchema = z.string().regex(/^mem_[A-Za-z0-9_-]{8,64}$/, 'malformed memory id');

/** A category: one word-ish name (`note`, `decision`, `session.summary`). */
export const memoryCategorySchema = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/, 'a category is 1-64 of letters, digits and . _ : -');

/** A tag: letters and digits of any script, and . _ : / - inside. */
export const memoryTagSchema = z
  .string()
  .regex(/^[\p{L}\p{N}][\p{L}\p{N}._:/-]{0,63}$/u, 'a tag is 1-64 letters, digits and . _ : / -');
export const memoryTagsSchema = z.array(memoryTagSchema).max(32);

/** Longest `detail` of a stored memory, in characters. */
export const MEMORY_DETAIL_MAX_CHARS = 64 * 1024;
/** Longest document `memory_ingest` accepts, in characters. */
export const MEMORY_INGEST_MAX_CHARS = 4 * 1024 * 1024;
/** Most chunks one recall returns. */
export const MEMORY_RECALL_MAX_RESULTS = 100;
/** Token budget of a recall when the caller gives none (tokens ≈ characters / 4). */
export const MEMORY_DEFAULT_TOKEN_BUDGET = 1500;
/**
 * Default relevance floor of a recall, as a fraction of the best fused score
 * (see `memoryRecallInputSchema.min_relevance`).
 */
export const MEMORY_DEFAULT_MIN_RELEVANCE = 0.4;

// ---- store ------------------------------------------------------------------

/** `memory_store`: remember one thing; it becomes one markdown file. */
export const memoryStoreInputSchema = z.strictObject({
  /** One line: what to remember. Returned in recalls and written in the file's frontmatter. */
  summary: z.string().trim().min(1).max(1000),
  /** The longer text (markdown), the file's body. */
  detail: z.string().max(MEMORY_DETAIL_MAX_CHARS).default(''),
  category: memoryCategorySchema.default('note'),
  tags: memoryTagsSchema.default([]),
  /** Who or what it came from (`owner`, `session:ses_…`); the daemon fills it in when absent. */
  source: z.string().trim().min(1).max(128).optional(),
});
export type MemoryStoreInput = z.input<typeof memoryStoreInputSchema>;
export type MemoryStore = z.output<typeof memoryStoreInputSchema>;

/** Where a stored or ingested memory went: its id, its file (relative to the memory dir) and how many chunks it became. */
export const memoryWrittenSchema = z.object({
  id: memoryIdSchema,
  file: z.string(),
  chunks: countSchema,
});
export type MemoryWritten = z.infer<typeof memoryWrittenSchema>;
export const memoryStoreAnswerSchema = memoryWrittenSchema;
export type MemoryStoreAnswer = MemoryWritten;

// ---- ingest -----------------------------------------------------------------

/** `memory_ingest`: index a document or an event (a session log, a README, a runbook). */
export const memoryIngestInputSchema = z.strictObject({
  /** Where it came from: a path, a URL, `session:ses_…`. */
  source: z.string().trim().min(1).max(512),
  /** What it is, dotted like ledger kinds (`document`, `session.summary`); it becomes the category. */
  kind: memoryCategorySchema.optional(),
  title: z.string().trim().min(1).max(300).optional(),
  text: z.string().min(1).max(MEMORY_INGEST_MAX_CHARS),
  /** When it happened (ms); now when absent. */
  ts: timeSchema.optional(),
  tags: memoryTagsSchema.default([]),
});
export type MemoryIngestInput = z.input<typeof memoryIngestInputSchema>;
export type MemoryIngest = z.output<typeof memoryIngestInputSchema>;
export const memoryIngestAnswerSchema = memoryWrittenSchema;
export type MemoryIngestAnswer = MemoryWritten;

// ---- recall -----------------------------------------------------------------

/**
 * `memory_recall`: the chunks most relevant to `query`, best first. How many
 * come back is decided by relevance, not by a count: a chunk is kept when it
 * matched the query's words or is close enough in meaning, and its fused score
 * is at least `min_relevance` times the best one; then `max_results` caps the
 * list and `token_budget` stops it before the returned text would exceed it.
 */
export const memoryRecallInputSchema = z.strictObject({
  query: z.string().min(1).max(2000),
  max_results: z.number().int().min(1).max(MEMORY_RECALL_MAX_RESULTS).default(10),
  /**
   * Only memories from this window: a duration back from now (`24h`, `7d`,
   * `2w`, `1y`) or a range of ISO dates or times `FROM..TO` (either end may be
   * left open; a date-only TO includes that whole day, UTC).
   */
  timeframe: z.string().trim().min(1).max(64).optional(),
  token_budget: z.number().int().min(1).max(100_000).default(MEMORY_DEFAULT_TOKEN_BUDGET),
  /** Keep chunks whose fused score is at least this fraction of the best (0 keeps every chunk with evidence). */
  min_relevance: z.number().min(0).max(1).default(MEMORY_DEFAULT_MIN_RELEVANCE),
});
export type MemoryRecallInput = z.input<typeof memoryRecallInputSchema>;
export type MemoryRecall = z.output<typeof memoryRecallInputSchema>;

/** One recalled chunk of a memory. */
export const memoryChunkSchema = z.object({
  /** `<memoryId>#<ordinal>`: stable across reindexes while the file is unchanged. */
  id: z.string(),
  memoryId: memoryIdSchema,
  /** The memory's file, relative to the memory dir. */
  file: z.string(),
  text: z.string(),
  /** Reciprocal Rank Fusion score (higher is better). */
  score: z.number().nonnegative(),
  /** 1-based rank in each list (words by BM25, meaning by vector), null when absent from it. */
  ranks: z.object({
    bm25: z.number().int().positive().nullable(),
    vector: z.number().int().positive().nullable(),
  }),
  ts: timeSchema,
  category: z.string(),
  tags: z.array(z.string()),
  /** Present (true) when the text was cut to fit the token budget: only ever the first chunk. */
  truncated: z.literal(true).optional(),
});
export type MemoryChunk = z.infer<typeof memoryChunkSchema>;

export const memoryRecallAnswerSchema = z.object({
  chunks: z.array(memoryChunkSchema),
  /** Estimated tokens of the returned texts (characters / 4, rounded up, per chunk). */
  tokens: countSchema,
  dropped: z.object({
    /** Candidates without enough evidence or fused score. */
    belowThreshold: countSchema,
    /** Relevant chunks left out because the token budget was spent. */
    overBudget: countSchema,
  }),
});
export type MemoryRecallAnswer = z.infer<typeof memoryRecallAnswerSchema>;

// ---- reindex and health -----------------------------------------------------

/** A memory file the index could not read; the others are indexed anyway. */
export const memoryFileErrorSchema = z.object({ file: z.string(), message: z.string() });
export type MemoryFileError = z.infer<typeof memoryFileErrorSchema>;

/** `memory_reindex` takes nothing. */
export const memoryReindexInputSchema = z.strictObject({});

/** `memory_reindex`: the index rebuilt from the files. */
export const memoryReindexAnswerSchema = z.object({
  memories: countSchema,
  chunks: countSchema,
  errors: z.array(memoryFileErrorSchema),
  ms: z.number().nonnegative(),
});
export type MemoryReindexAnswer = z.infer<typeof memoryReindexAnswerSchema>;

/** `memory_health` takes nothing. */
export const memoryHealthInputSchema = z.strictObject({});

/** `memory_health`: which embedder the index was built with and how big it is. */
export const memoryHealthSchema = z.object({
  /** The embedder's id (model and version); the index is rebuilt when it changes. */
  embedder: z.string(),
  dim: z.number().int().positive(),
  memories: countSchema,
  chunks: countSchema,
  /** When the index was last rebuilt from the files; null before the first rebuild. */
  indexedAt: timeSchema.nullable(),
});
export type MemoryHealth = z.infer<typeof memoryHealthSchema>;
