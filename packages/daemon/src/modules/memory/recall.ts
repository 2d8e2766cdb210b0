import type { MemoryChunk, MemoryRecall, MemoryRecallAnswer } from '@fabric/protocol';
import type { StoredChunk } from './search-index.js';
import { STOPWORDS, estimateTokens, stemmed, words } from './text.js';
import { parseTimeframe, type Timeframe } from './timeframe.js';

/** Candidates each list contributes to the fusion. */
export const LIST_SIZE = 50;
/** The RRF constant: 60, as in Cormack et al.; it keeps one list's top rank from drowning the other list. */
export const RRF_K = 60;
/** Most query words searched (a pasted page as a query would otherwise make a huge OR). */
const MAX_QUERY_TERMS = 32;
/**
 * Postings a lexical search may score. FTS5 computes BM25 for every chunk
 * that matches any term before it can sort (~1 µs each), so a query word in
 * most chunks would cost ~100 ms on 100,000 chunks; see chooseTerms.
 */
export const LEXICAL_POSTINGS_BUDGET = 20_000;

/** What recall needs from the index (MemoryIndex, or an array in a test). */
export interface RecallSource {
  /** How many chunks there are, and in how many each term (a stem) appears. */
  termFrequencies(terms: string[]): { chunks: number; df: number[] };
  lexical(match: string, limit: number, window: Timeframe): number[];
  nearest(query: Float32Array, limit: number, window: Timeframe): { key: number; similarity: number }[];
  chunks(keys: number[]): StoredChunk[];
}

export interface RecallDeps {
  source: RecallSource;
  /** The query's embedding, unit length (all zeros when it has no words); cached by the caller. */
  embedQuery: (query: string) => Promise<Float32Array>;
  now: number;
  /** Cosine from which a vector match alone is evidence (the embedder's). */
  similarityFloor: number;
}

/** A chunk's place in the fused ranking. */
export interface Fused {
  key: number;
  score: number;
  bm25: number | null;
  vector: number | null;
  similarity: number | null;
}

/**
 * The terms of a user's query as the index holds them: its content words
 * (stopwords dropped), stemmed, each once, at most 32. A term is a run of
 * letters and digits, so nothing of the user's text can reach FTS5 as syntax
 * (`"`, `*`, `NEAR(`, `-`, `:` are not word characters). A query of only
 * stopwords ("what is this") or punctuation has no terms.
 */
export function queryTerms(query: string): string[] {
  return [
    ...new Set(
      words(query)
        .filter((w) => !STOPWORDS.has(w))
        .map(stemmed),
    ),
  ].slice(0, MAX_QUERY_TERMS);
}

/**
 * Which terms the lexical search uses, given how many chunks hold each
 * (`df`) out of `chunks`: the rarest first, while their postings fit
 * `budget`. The rarest term is always used, unless it is both over the budget
 * and in more than half the chunks: BM25 gives such a term no weight (FTS5
 * clamps its IDF to ~0), so it would cost the most and rank nothing. Terms in
 * no chunk are left out. The common terms dropped are the ones BM25 weighs
 * least; the vector search still sees the whole query.
 */
export function chooseTerms(terms: string[], df: number[], chunks: number, budget = LEXICAL_POSTINGS_BUDGET): string[] {
  const present = terms
    .map((term, i) => ({ term, df: df[i] ?? 0 }))
    .filter((t) => t.df > 0)
    .sort((a, b) => a.df - b.df);
  const out: string[] = [];
  let postings = 0;
  for (const t of present) {
    if (out.length === 0 && t.df > budget && t.df > chunks / 2) break;
    if (out.length > 0 && postings + t.df > budget) break;
    out.push(t.term);
    postings += t.df;
  }
  return out;
}

/** The FTS5 MATCH expression for terms from queryTerms: each double-quoted, ORed. Null for no terms. */
export function ftsMatch(terms: string[]): string | null {
  return terms.length === 0 ? null : terms.map((t) => `"${t}"`).join(' OR ');
}

/**
 * Reciprocal Rank Fusion of the two lists: score = Σ 1 / (RRF_K + rank) over
 * the lists a chunk is in (ranks from 1). Best first; ties go to the better
 * single rank, then the lower key, so the order is deterministic.
 */
export function fuse(lexical: number[], vector: { key: number; similarity: number }[], k = RRF_K): Fused[] {
  const byKey = new Map<number, Fused>();
  const entry = (key: number): Fused => {
    let f = byKey.get(key);
    if (!f) {
      f = { key, score: 0, bm25: null, vector: null, similarity: null };
      byKey.set(key, f);
    }
    return f;
  };
  lexical.forEach((key, i) => {
    const f = entry(key);
    f.bm25 = i + 1;
    f.score += 1 / (k + i + 1);
  });
  vector.forEach((v, i) => {
    const f = entry(v.key);
    f.vector = i + 1;
    f.similarity = v.similarity;
    f.score += 1 / (k + i + 1);
  });
  const best = (f: Fused): number => Math.min(f.bm25 ?? Infinity, f.vector ?? Infinity);
  return [...byKey.values()].sort((a, b) => b.score - a.score || best(a) - best(b) || a.key - b.key);
}

/**
 * The relevance rule, which decides how many chunks come back (not a fixed
 * count). A chunk is relevant when both hold:
 *   1. evidence: it matched the query's words (it is in the BM25 list), or its
 *      cosine similarity to the query is at least `similarityFloor`;
 *   2. standing: its fused score is at least `minRelevance` × the best fused
 *      score among chunks with evidence.
 * With the default 0.4, a chunk found by both lists always stands, and one
 * found by a single list must rank in its top ~15. A query about nothing in
 * memory has no lexical matches and low similarities: it gets few or none.
 */
export function selectRelevant(
  fused: Fused[],
  minRelevance: number,
  similarityFloor: number,
): { kept: Fused[]; belowThreshold: number } {
  const withEvidence = fused.filter(
    (f) => f.bm25 !== null || (f.similarity !== null && f.similarity >= similarityFloor),
  );
  const best = withEvidence[0]?.score ?? 0;
  const kept = withEvidence.filter((f) => f.score >= minRelevance * best);
  return { kept, belowThreshold: fused.length - kept.length };
}

/**
 * Chunks in order while their estimated tokens fit the budget; the first that
 * does not fit ends the list (later, smaller chunks are not slipped in ahead
 * of better ones). When even the first does not fit, it is cut to the budget
 * and marked truncated, so a small budget still gets the best answer.
 */
export function fitBudget<T extends { text: string }>(
  chunks: T[],
  budget: number,
): { fitted: (T & { truncated?: true })[]; tokens: number; overBudget: number } {
  const fitted: (T & { truncated?: true })[] = [];
  let tokens = 0;
  for (const c of chunks) {
    const t = estimateTokens(c.text);
    if (tokens + t <= budget) {
      fitted.push(c);
      tokens += t;
      continue;
    }
    if (fitted.length === 0) {
      const text = c.text.slice(0, budget * 4);
      fitted.push({ ...c, text, truncated: true });
      tokens = estimateTokens(text);
    }
    break;
  }
  return { fitted, tokens, overBudget: chunks.length - fitted.length };
}

/**
 * Recall: BM25 top LIST_SIZE (over the terms chooseTerms keeps) and vector
 * top LIST_SIZE (both within the timeframe), fused by RRF, kept by the relevance rule, capped at
 * `max_results`, then fitted to `token_budget`. A query with no words at all
 * (only punctuation) answers nothing. Throws FabricError('bad_request') for a
 * malformed timeframe.
 */
export async function recall(input: MemoryRecall, deps: RecallDeps): Promise<MemoryRecallAnswer> {
  const window = input.timeframe === undefined ? { from: null, to: null } : parseTimeframe(input.timeframe, deps.now);
  const empty: MemoryRecallAnswer = { chunks: [], tokens: 0, dropped: { belowThreshold: 0, overBudget: 0 } };
  const terms = queryTerms(input.query);
  const { chunks, df } = deps.source.termFrequencies(terms);
  const match = ftsMatch(chooseTerms(terms, df, chunks));
  const lexical = match === null ? [] : deps.source.lexical(match, LIST_SIZE, window);
  const vector = await deps.embedQuery(input.query);
  const near = isZero(vector) ? [] : deps.source.nearest(vector, LIST_SIZE, window);
  if (lexical.length === 0 && near.length === 0) return empty;

  const { kept, belowThreshold } = selectRelevant(fuse(lexical, near), input.min_relevance, deps.similarityFloor);
  const top = kept.slice(0, input.max_results);
  const rows = new Map(deps.source.chunks(top.map((f) => f.key)).map((c) => [c.key, c]));
  const ranked: MemoryChunk[] = [];
  for (const f of top) {
    const c = rows.get(f.key);
    if (!c) continue;
    ranked.push({
      id: `${c.memoryId}#${c.ordinal}`,
      memoryId: c.memoryId,
      file: c.file,
      text: c.text,
      score: f.score,
      ranks: { bm25: f.bm25, vector: f.vector },
      ts: c.ts,
      category: c.category,
      tags: c.tags,
    });
  }
  const { fitted, tokens, overBudget } = fitBudget(ranked, input.token_budget);
  return { chunks: fitted, tokens, dropped: { belowThreshold, overBudget } };
}

function isZero(v: Float32Array): boolean {
  for (const x of v) if (x !== 0) return false;
  return true;
}
