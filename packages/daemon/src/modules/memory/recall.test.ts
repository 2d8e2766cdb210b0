import { describe, expect, it } from 'vitest';
import { chooseTerms, fitBudget, ftsMatch, fuse, queryTerms, selectRelevant } from './recall.js';

describe('queryTerms', () => {
  it('stems each content word once, dropping stopwords', () => {
    expect(queryTerms('How do I rotate the backup keys? Keys! Rotating')).toEqual(['rotat', 'backup', 'key']);
  });

  it('lets no FTS5 syntax through', () => {
    expect(ftsMatch(queryTerms('"NEAR(a b)" -c* d:e OR f^ {g} (h) AND NOT'))).toBe(
      '"near" OR "b" OR "c" OR "d" OR "e" OR "f" OR "g" OR "h"',
    );
  });

  it('has none for punctuation or stopwords alone, and then no MATCH at all', () => {
    expect(queryTerms('"*" -- :: (')).toEqual([]);
    expect(queryTerms('what is this')).toEqual([]);
    expect(ftsMatch([])).toBeNull();
  });
});

describe('chooseTerms', () => {
  it('keeps every term of a small corpus, except those in no chunk', () => {
    expect(chooseTerms(['a', 'b', 'c'], [3, 0, 7], 7)).toEqual(['a', 'c']);
  });

  it('takes the rarest terms while their postings fit the budget', () => {
    expect(chooseTerms(['common', 'rare', 'mid'], [9000, 10, 500], 100_000, 1000)).toEqual(['rare', 'mid']);
    expect(chooseTerms(['a', 'b'], [600, 600], 100_000, 1000)).toEqual(['a']);
  });

  it('keeps the rarest term even over the budget, unless it is in most chunks and so weighs nothing', () => {
    expect(chooseTerms(['x', 'y'], [30_000, 40_000], 100_000, 1000)).toEqual(['x']);
    expect(chooseTerms(['x', 'y'], [60_000, 90_000], 100_000, 1000)).toEqual([]);
  });
});

describe('fuse', () => {
  it('scores by reciprocal rank over both lists and puts agreement first', () => {
    const fused = fuse(
      [1, 2, 3],
      [
        { key: 3, similarity: 0.9 },
        { key: 4, similarity: 0.5 },
      ],
      60,
    );
    // 2 and 4 tie (each second in one list): the lower key goes first.
    expect(fused.map((f) => f.key)).toEqual([3, 1, 2, 4]);
    expect(fused[0]).toEqual({ key: 3, score: 1 / 63 + 1 / 61, bm25: 3, vector: 1, similarity: 0.9 });
    expect(fused[1]).toMatchObject({ key: 1, bm25: 1, vector: null, similarity: null });
  });
});

describe('selectRelevant', () => {
  it('keeps lexical matches and close vectors within the fraction of the best, and counts the rest', () => {
    const fused = fuse(
      [1, 2],
      [
        { key: 1, similarity: 0.8 },
        { key: 3, similarity: 0.1 },
        { key: 4, similarity: 0.5 },
      ],
    );
    const { kept, belowThreshold } = selectRelevant(fused, 0.4, 0.3);
    // 3 is too far in meaning and has no word in common; 2 and 4 stand by one list's good rank.
    expect(kept.map((f) => f.key)).toEqual([1, 2, 4]);
    expect(belowThreshold).toBe(1);
    expect(selectRelevant(fused, 0.9, 0.3).kept.map((f) => f.key)).toEqual([1]);
  });

  it('keeps nothing when nothing has evidence', () => {
    const fused = fuse(
      [],
      [
        { key: 1, similarity: 0.2 },
        { key: 2, similarity: 0.1 },
      ],
    );
    expect(selectRelevant(fused, 0, 0.3)).toEqual({ kept: [], belowThreshold: 2 });
  });
});

describe('fitBudget', () => {
  const chunk = (chars: number) => ({ text: 'x'.repeat(chars) });

  it('adds chunks in order while they fit and stops at the first that does not', () => {
    const { fitted, tokens, overBudget } = fitBudget([chunk(400), chunk(400), chunk(800), chunk(4)], 250);
    expect(fitted).toHaveLength(2);
    expect(tokens).toBe(200);
    expect(overBudget).toBe(2);
  });

  it('cuts the first chunk to the budget when even it does not fit', () => {
    const { fitted, tokens, overBudget } = fitBudget([chunk(1000), chunk(4)], 100);
    expect(fitted).toEqual([{ text: 'x'.repeat(400), truncated: true }]);
    expect(tokens).toBe(100);
    expect(overBudget).toBe(1);
  });
});
