import { describe, expect, it } from 'vitest';
import { chunkMarkdown, chunkMemory } from './chunk.js';
import type { MemoryRecord } from './frontmatter.js';

/** A paragraph of about `words` words, sentences numbered so overlaps can be seen. */
function paragraph(tag: string, words: number): string {
  const sentences: string[] = [];
  for (let i = 0; sentences.join(' ').split(' ').length < words; i++)
    sentences.push(`${tag} sentence ${i} says something about servers and keys.`);
  return sentences.join(' ');
}

describe('chunkMarkdown', () => {
  it('keeps a short text as one chunk, and gives no chunk for an empty one', () => {
    expect(chunkMarkdown('Just a note.')).toMatchObject([{ ordinal: 0, text: 'Just a note.', section: [], tokens: 3 }]);
    expect(chunkMarkdown('  \n\n ')).toEqual([]);
  });

  it('starts a new chunk at each heading of a section big enough to stand alone, with the heading path', () => {
    const body = `# Backups\n\n${paragraph('a', 80)}\n\n## Keys\n\n${paragraph('b', 80)}\n\n## Restore\n\n${paragraph('c', 80)}`;
    const chunks = chunkMarkdown(body);
    expect(chunks.map((c) => c.section)).toEqual([['Backups'], ['Backups', 'Keys'], ['Backups', 'Restore']]);
    expect(chunks[1]?.text.startsWith('## Keys')).toBe(true);
    expect(chunks.map((c) => c.ordinal)).toEqual([0, 1, 2]);
  });

  it('merges a tiny section with the next one', () => {
    const chunks = chunkMarkdown(`# Title\n\nShort intro.\n\n## Details\n\n${paragraph('d', 60)}`);
    expect(chunks).toHaveLength(1);
    expect(chunks[0]?.text).toMatch(/^# Title[\s\S]*## Details/);
  });

  it('cuts long text into chunks no longer than the limit, each repeating the end of the one before', () => {
    const body = Array.from({ length: 12 }, (_, i) => paragraph(`p${i}`, 90)).join('\n\n');
    const chunks = chunkMarkdown(body, { targetTokens: 300, maxTokens: 400, overlapTokens: 40 });
    expect(chunks.length).toBeGreaterThan(3);
    for (const c of chunks) expect(c.tokens).toBeLessThanOrEqual(400);
    for (let i = 1; i < chunks.length; i++) {
      const previous = chunks[i - 1]?.text ?? '';
      const firstSentence = (chunks[i]?.text ?? '').split(/(?<=\.)\s/)[0] ?? '';
      expect(previous).toContain(firstSentence);
    }
    // Nothing is lost: every sentence of the body is in some chunk.
    const all = chunks.map((c) => c.text).join(' ');
    for (const s of body.split(/(?<=\.)\s+/)) expect(all).toContain(s.trim());
  });

  it('cuts one huge paragraph without sentence ends at spaces, and a huge word hard', () => {
    const chunks = chunkMarkdown(`${'word '.repeat(1000)}\n\n${'x'.repeat(5000)}`, { maxTokens: 100 });
    for (const c of chunks) expect(c.text.length).toBeLessThanOrEqual(400);
    expect(
      chunks
        .map((c) => c.text)
        .join('')
        .replace(/\s/g, '').length,
    ).toBeGreaterThanOrEqual(4000 + 5000);
  });

  it('keeps a fenced code block whole, blank lines and # lines inside it included', () => {
    const code = '```sh\n# not a heading\n\nrestic backup /srv\n```';
    const chunks = chunkMarkdown(`Run this:\n\n${code}\n\nThen check.`);
    expect(chunks).toHaveLength(1);
    expect(chunks[0]?.text).toContain(code);
    expect(chunks[0]?.section).toEqual([]);
  });
});

describe('chunkMemory', () => {
  const base: MemoryRecord = {
    id: 'mem_abcdefgh12345678',
    created: 0,
    category: 'runbook',
    tags: ['backup', 'keys'],
    summary: 'rotate the backup keys',
    source: 'owner',
    body: 'Every 90 days.',
  };

  it('leads a stored memory with its summary and names it, its category, tags and source in the context', () => {
    expect(chunkMemory(base)).toEqual([
      {
        ordinal: 0,
        text: 'rotate the backup keys\n\nEvery 90 days.',
        context: 'rotate the backup keys | runbook | backup, keys | owner',
        tokens: 10,
      },
    ]);
  });

  it('leaves a document text as it is and puts its title and section in the context', () => {
    const doc = {
      ...base,
      title: 'Backup runbook',
      summary: 'Backup runbook',
      tags: [],
      body: `# Restore\n\n${paragraph('r', 80)}`,
    };
    const [chunk] = chunkMemory(doc);
    expect(chunk?.text.startsWith('# Restore')).toBe(true);
    expect(chunk?.context).toBe('Backup runbook | Restore | runbook | owner');
  });
});
