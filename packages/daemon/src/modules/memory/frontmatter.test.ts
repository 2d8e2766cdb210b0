import { describe, expect, it } from 'vitest';
import { formatMemoryFile, parseMemoryFile, type MemoryRecord } from './frontmatter.js';

const record: MemoryRecord = {
  id: 'mem_abcdefgh12345678',
  created: Date.UTC(2025, 0, 15, 10, 20, 30),
  category: 'decision',
  tags: ['backup', 'keys'],
  summary: 'rotate the backup keys: every "90" days\nno exceptions',
  source: 'owner',
  body: '# Why\n\nThe auditor asked.\n',
};

function parsed(text: string): MemoryRecord {
  const r = parseMemoryFile(text);
  if (!r.ok) throw new Error(`expected the file to parse: ${r.message}`);
  return r.record;
}

function failure(text: string): string {
  const r = parseMemoryFile(text);
  if (r.ok) throw new Error('expected the file to be refused');
  return r.message;
}

describe('memory files', () => {
  it('read back exactly what was written, quotes and newlines in values included', () => {
    expect(parsed(formatMemoryFile(record))).toEqual(record);
    const doc = { ...record, title: 'Backup: keys', body: 'text' };
    expect(parsed(formatMemoryFile(doc))).toEqual({ ...doc, body: 'text\n' });
  });

  it('accept what a person typing YAML would write: plain values, bracket lists, comments, CRLF', () => {
    const text = [
      '---',
      '# edited by hand',
      'id: mem_abcdefgh12345678',
      'created: 2025-01-15T10:20:30+01:00',
      'category: runbook',
      'tags: [backup, \'keys\', "ops"]',
      "summary: 'it''s the restore drill'",
      'author: someone',
      '---',
      '',
      'Body line.',
    ].join('\r\n');
    const r = parsed(text);
    expect(r).toMatchObject({
      category: 'runbook',
      tags: ['backup', 'keys', 'ops'],
      summary: "it's the restore drill",
      source: '',
    });
    expect(r.created).toBe(Date.UTC(2025, 0, 15, 9, 20, 30));
    expect(r.body).toBe('Body line.');
    expect(parsed('---\nid: mem_abcdefgh12345678\ncreated: 2025-01-15T10:20:30Z\ntags: a, b\n---\nx').tags).toEqual([
      'a',
      'b',
    ]);
  });

  it('refuse files they cannot read for sure, saying where', () => {
    expect(failure('just some notes')).toMatch(/no frontmatter/);
    expect(failure('---\nid: mem_abcdefgh12345678\n')).toMatch(/not closed/);
    expect(failure('---\nid: mem_abcdefgh12345678\nthis is not a field\n---\n')).toMatch(/line 3/);
    expect(failure('---\nid: mem_abcdefgh12345678\nid: mem_abcdefgh12345679\n---\n')).toMatch(/twice/);
    expect(failure('---\nid: mem_abcdefgh12345678\ncreated: yesterday\n---\n')).toMatch(/created/);
    expect(failure('---\nid: nope\ncreated: 2025-01-15T10:20:30Z\n---\n')).toMatch(/^id/);
    expect(
      failure('---\nid: mem_abcdefgh12345678\ncreated: 2025-01-15T10:20:30Z\nsummary: "unterminated\n---\n'),
    ).toMatch(/summary/);
    expect(failure('---\nid: mem_abcdefgh12345678\ncreated: 2025-01-15T10:20:30Z\ntags: ["has space"]\n---\n')).toMatch(
      /tags/,
    );
  });
});
