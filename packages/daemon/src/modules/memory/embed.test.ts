import { describe, expect, it } from 'vitest';
import { FeatureHashEmbedder } from './embed.js';
import { stem } from './text.js';
import { binaryCode, codeBits } from './quantize.js';

const e = new FeatureHashEmbedder();
const dot = (a: Float32Array, b: Float32Array): number => a.reduce((s, x, i) => s + x * (b[i] ?? 0), 0);
const norm = (a: Float32Array): number => Math.sqrt(dot(a, a));

const backup =
  'Rotate the backup encryption keys every 90 days; after rotation run a test restore from the restic repository.';
const deploy = 'Deploying containers to production: build the image, push it to the registry, roll out with kubectl.';
const bread = 'My grandmother bakes sourdough bread every Sunday with a starter fed the night before.';

describe('FeatureHashEmbedder', () => {
  it('is deterministic, unit length, and names its dimension in its id', async () => {
    const [a, b] = await e.embed([backup, backup]);
    expect(a).toEqual(b);
    expect(a).toHaveLength(512);
    expect(norm(a as Float32Array)).toBeCloseTo(1, 5);
    expect(e.id).toBe('feature-hash-v1-512');
    expect(new FeatureHashEmbedder({ dim: 384 }).id).toBe('feature-hash-v1-384');
  });

  it('gives a text without words the zero vector', () => {
    expect(norm(e.embedOne('?!* -- ::'))).toBe(0);
  });

  it('puts a paraphrase sharing stems close and unrelated text far, above and below its floor', () => {
    const key = e.embedOne('key rotation policy');
    const ship = e.embedOne('deployment of container images');
    expect(dot(key, e.embedOne(backup))).toBeGreaterThan(e.similarityFloor);
    expect(dot(ship, e.embedOne(deploy))).toBeGreaterThan(e.similarityFloor);
    for (const text of [deploy, bread]) expect(dot(key, e.embedOne(text))).toBeLessThan(e.similarityFloor);
    expect(dot(e.embedOne('chocolate cake with strawberries'), e.embedOne(bread))).toBeLessThan(e.similarityFloor);
  });

  it('stems common English suffixes so word forms meet, and leaves short words alone', () => {
    expect(new Set(['deploy', 'deploys', 'deploying', 'deployed', 'deployment'].map(stem)).size).toBe(1);
    expect(stem('rotation')).toBe(stem('rotate'));
    expect(stem('keys')).toBe(stem('key'));
    expect(stem('processes')).toBe(stem('process'));
    expect(stem('bus')).toBe('bus');
    expect(stem('ipv6')).toBe('ipv6');
  });
});

describe('binaryCode', () => {
  const bitsDiffering = (a: Uint8Array, b: Uint8Array): number => {
    let n = 0;
    for (let i = 0; i < a.length; i++) for (let x = (a[i] ?? 0) ^ (b[i] ?? 0); x; x &= x - 1) n++;
    return n;
  };

  it('has four bits per dimension, rounded up to a power of two, and is the same for the same vector', () => {
    expect(codeBits(384)).toBe(2048);
    expect(codeBits(512)).toBe(2048);
    expect(codeBits(20)).toBe(256);
    const v = e.embedOne(backup);
    expect(binaryCode(v)).toHaveLength(256);
    expect(binaryCode(v)).toEqual(binaryCode(Float32Array.from(v)));
  });

  it('keeps close vectors close in Hamming distance, even a sparse short query', () => {
    const q = binaryCode(e.embedOne('backup keys rotation'));
    const near = bitsDiffering(q, binaryCode(e.embedOne(backup)));
    const far = [deploy, bread].map((t) => bitsDiffering(q, binaryCode(e.embedOne(t))));
    for (const f of far) expect(near).toBeLessThan(f);
    // Unrelated vectors differ in about half their bits (SimHash: angle / π).
    for (const f of far) expect(f).toBeGreaterThan(800);
  });
});
