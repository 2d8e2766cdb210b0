/**
 * Compact forms of the embeddings for the vector search.
 *
 * Why: sqlite-vec scans every vector on a KNN query (it has no ANN index), and
 * 100,000 float[512] vectors are 200 MB to read per query: 60-90 ms on a small
 * machine. Their 2048-bit codes are 26 MB and scan in ~20 ms; the index
 * takes the nearest codes by Hamming distance, then re-scores those
 * candidates by the cosine of their int8 vectors (512 bytes each instead of
 * 2 KB, which SQLite would store one per 4 KB page; cosine ignores the scale,
 * and rounding to 1/127 of the largest component moves it by ~0.001).
 *
 * A code is the signs of the vector after a fixed random rotation (random
 * sign flips and a Walsh-Hadamard transform, twice; the vector is zero-padded
 * to the code's length). The rotation matters: the feature-hashing embedder
 * gives a short query a sparse vector, whose plain signs would say more about
 * which slots are empty than about direction. After a random rotation the
 * fraction of differing bits estimates the angle between two vectors
 * (SimHash), whatever the embedder.
 */

/**
 * Bits of the code for vectors of `dim` floats: four per dimension, rounded
 * up to a power of two (2048 for 512 floats). Measured on 100,000 chunks, the
 * 10 nearest by cosine are among the 100 nearest codes 92% of the time with
 * 2048 bits, 80% with 1024 and 67% with 512; scanning 256-byte codes still
 * takes only ~20 ms.
 */
export function codeBits(dim: number): number {
  let n = 64;
  while (n < dim) n *= 2;
  return n * 4;
}

const signCache = new Map<number, [Float32Array, Float32Array]>();

/** The code of `v`, as bytes for sqlite-vec's `vec_bit()` (bit i of the code is bit i%8 of byte i/8). */
export function binaryCode(v: Float32Array): Uint8Array {
  const n = codeBits(v.length);
  const [s1, s2] = signsFor(n);
  // Zero-padded to n: the rotation spreads the vector over all n coordinates.
  const x = new Float32Array(n);
  x.set(v);
  for (let i = 0; i < n; i++) x[i]! *= s1[i]!;
  hadamard(x);
  for (let i = 0; i < n; i++) x[i]! *= s2[i]!;
  hadamard(x);
  const code = new Uint8Array(n / 8);
  for (let i = 0; i < n; i++) if (x[i]! > 0) code[i >> 3]! |= 1 << (i & 7);
  return code;
}

/** In-place unnormalised fast Walsh-Hadamard transform (length a power of two). */
function hadamard(x: Float32Array): void {
  for (let h = 1; h < x.length; h *= 2) {
    for (let i = 0; i < x.length; i += h * 2) {
      for (let j = i; j < i + h; j++) {
        const a = x[j]!;
        const b = x[j + h]!;
        x[j] = a + b;
        x[j + h] = a - b;
      }
    }
  }
}

/** Two fixed ±1 vectors of length n, from a seeded generator: every process computes the same codes. */
function signsFor(n: number): [Float32Array, Float32Array] {
  const cached = signCache.get(n);
  if (cached) return cached;
  let state = 0x6d2b79f5 ^ n;
  // mulberry32: small, fast, and good enough to pick signs.
  const next = (): number => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return (t ^ (t >>> 14)) >>> 0;
  };
  const pick = (): Float32Array => Float32Array.from({ length: n }, () => (next() & 1 ? 1 : -1));
  const pair: [Float32Array, Float32Array] = [pick(), pick()];
  signCache.set(n, pair);
  return pair;
}

/** `v` scaled so its largest component is ±127 and rounded, for sqlite-vec's `vec_int8()` (all zeros stay zeros). */
export function int8Vector(v: Float32Array): Int8Array {
  let max = 0;
  for (const x of v) max = Math.max(max, Math.abs(x));
  const out = new Int8Array(v.length);
  if (max === 0) return out;
  const scale = 127 / max;
  for (let i = 0; i < v.length; i++) out[i] = Math.round(v[i]! * scale);
  return out;
}
