import { STOPWORDS, stemmed, words } from './text.js';

/**
 * Turns texts into vectors whose cosine similarity says how close in meaning
 * they are. The index stores one vector per chunk (context + text) and one per
 * query, and rebuilds itself whenever `id` or `dim` change, so an embedder's
 * `id` must change with anything that changes its vectors (model, version,
 * dimension, preprocessing).
 *
 * Plugging a real local model (for example all-MiniLM-L6-v2 through
 * `@huggingface/transformers` or an ONNX runtime, or a local HTTP server such
 * as Ollama's `/api/embed`): implement this interface, return one vector of
 * `dim` floats per text in order (they are L2-normalised by the index, so any
 * scale will do), set `id` to the model name and revision, set
 * `similarityFloor` to a cosine under which that model's matches are noise
 * (for sentence-transformer models about 0.3 to 0.4), and pass it as
 * `new Memory({ ..., embedder })`. The first use rebuilds the index with it.
 */
export interface Embedder {
  /** Names the model and everything that shapes its vectors; the index is rebuilt when it changes. */
  readonly id: string;
  /** Length of every vector. */
  readonly dim: number;
  /**
   * Cosine similarity from which a vector match alone counts as evidence of
   * relevance (below it, a chunk needs a lexical match to be returned).
   * Defaults to DEFAULT_SIMILARITY_FLOOR.
   */
  readonly similarityFloor?: number;
  /** One vector per text, in order. May be called with many texts at once (batches of a rebuild). */
  embed(texts: string[]): Promise<Float32Array[]>;
}

export const DEFAULT_SIMILARITY_FLOOR = 0.3;

/** How much each kind of feature weighs against a word. */
const WEIGHT = { word: 1, bigram: 0.6, trigram: 0.35 } as const;
const SEED = { word: 0x2f1a3c5d, bigram: 0x7b3e91c1, trigram: 0x5c4d2e1f, sign: 0x1b873593 } as const;

/**
 * The default embedder: deterministic feature hashing, no model file, no
 * network. A text's folded words lose their stopwords and a few English
 * suffixes (`deploying`, `deployed` → `deploy`); its features are those word
 * stems, pairs of neighbouring stems (so phrases count), and character
 * trigrams of each word (so `container`/`containers`/`containerd` overlap).
 * Each feature is hashed (FNV-1a, then a murmur finaliser) to one of `dim`
 * slots with a hashed sign, weighted by kind and by 1 + ln(count), and the
 * vector is L2-normalised. It knows no synonyms, so "paraphrase" recall rests
 * on shared stems and character trigrams; a real model does better and plugs
 * in through `Embedder`.
 */
export class FeatureHashEmbedder implements Embedder {
  readonly id: string;
  readonly dim: number;
  /**
   * Calibrated on this embedder at 512 dimensions: short queries on unrelated
   * subjects score under ~0.14 against notes; texts sharing stems or word
   * shapes on the same subject score 0.2 to 0.45.
   */
  readonly similarityFloor = 0.2;

  constructor(options: { dim?: number } = {}) {
    this.dim = options.dim ?? 512;
    if (!Number.isInteger(this.dim) || this.dim < 16 || this.dim > 4096)
      throw new Error('embedder dim must be an integer in 16..4096');
    this.id = `feature-hash-v1-${this.dim}`;
  }

  async embed(texts: string[]): Promise<Float32Array[]> {
    return texts.map((t) => this.embedOne(t));
  }

  /** The vector of one text (all zeros when it has no words). */
  embedOne(text: string): Float32Array {
    const all = words(text);
    let content = all.filter((w) => !STOPWORDS.has(w));
    if (content.length === 0) content = all;
    // Counts per feature, one map per kind (each kind has its own weight).
    const unigrams = new Map<number, number>();
    const bigrams = new Map<number, number>();
    const trigrams = new Map<number, number>();
    const count = (map: Map<number, number>, feature: number): void => {
      map.set(feature, (map.get(feature) ?? 0) + 1);
    };
    let prev = -1;
    for (const word of content) {
      const root = fnv1a(stemmed(word), SEED.word);
      count(unigrams, fmix32(root));
      if (prev >= 0) count(bigrams, fmix32((Math.imul(prev, 0x9e3779b1) ^ root ^ SEED.bigram) >>> 0));
      prev = root;
      // Trigrams of `#word#`, hashed from the char codes without building the strings.
      const last = word.length + 1;
      for (let i = 0; i + 2 <= last; i++) {
        const a = i === 0 ? 35 : word.charCodeAt(i - 1);
        const b = i + 1 === last ? 35 : word.charCodeAt(i);
        const c = i + 2 === last ? 35 : word.charCodeAt(i + 1);
        let h = (0x811c9dc5 ^ SEED.trigram) >>> 0;
        h = Math.imul(h ^ a, 0x01000193);
        h = Math.imul(h ^ b, 0x01000193);
        h = Math.imul(h ^ c, 0x01000193);
        count(trigrams, fmix32(h >>> 0));
      }
    }
    const v = new Float32Array(this.dim);
    const add = (map: Map<number, number>, weight: number): void => {
      for (const [feature, tf] of map) {
        const sign = fmix32((feature ^ SEED.sign) >>> 0) & 1 ? 1 : -1;
        v[feature % this.dim]! += sign * weight * (1 + Math.log(tf));
      }
    };
    add(unigrams, WEIGHT.word);
    add(bigrams, WEIGHT.bigram);
    add(trigrams, WEIGHT.trigram);
    return normalize(v);
  }
}

/** Scale to unit length in place (a zero vector stays zero); answers the same array. */
export function normalize(v: Float32Array): Float32Array {
  let sum = 0;
  for (const x of v) sum += x * x;
  if (sum === 0) return v;
  const inv = 1 / Math.sqrt(sum);
  for (let i = 0; i < v.length; i++) v[i]! *= inv;
  return v;
}

/** 32-bit FNV-1a of a string's UTF-16 code units, from a seeded basis. */
export function fnv1a(text: string, seed = 0): number {
  let h = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** MurmurHash3's finaliser: spreads FNV's weak low bits over all 32. */
export function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
