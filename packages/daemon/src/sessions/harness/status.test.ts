import { describe, expect, it } from 'vitest';
import { sessionEventSchema, type StatusWords } from '@fabric/protocol';
import { CLAUDE_STATUS_WORDS } from './claude/stream.js';
import { CODEX_STATUS_WORDS } from './codex/events.js';
import { KIMI_STATUS_WORDS } from './kimi/wire.js';
import { OPENCLAW_STATUS_WORDS } from './openclaw/adapter.js';
import { OPENCODE_STATUS_WORDS } from './opencode/events.js';
import { statusEvent, wordStatusEvent } from './status.js';

const tables: [string, StatusWords][] = [
  ['claude', CLAUDE_STATUS_WORDS],
  ['codex', CODEX_STATUS_WORDS],
  ['kimi', KIMI_STATUS_WORDS],
  ['openclaw', OPENCLAW_STATUS_WORDS],
  ['opencode', OPENCODE_STATUS_WORDS],
];

describe('harness status words', () => {
  it.each(tables)('maps every %s word to an event in the current shape, keeping the word', (_name, table) => {
    for (const [word, status] of Object.entries(table)) {
      const e = wordStatusEvent(table, word, 'detail');
      expect(e).toEqual({ kind: 'status', status, harnessStatus: word, detail: 'detail' });
      expect(sessionEventSchema.parse(e)).toEqual(e);
    }
  });

  it.each(tables)('reads a word the %s table lacks as other, keeping the word', (_name, table) => {
    for (const word of ['SomethingNewer', 'constructor', 'toString']) {
      expect(wordStatusEvent(table, word)).toEqual({ kind: 'status', status: 'other', harnessStatus: word });
    }
  });

  it('keeps the word and detail within the schema: NUL dropped, bounds clipped, empty ones left out', () => {
    const e = statusEvent('other', `\0${'w'.repeat(100)}`, 'd'.repeat(3000));
    expect(e).toEqual({ kind: 'status', status: 'other', harnessStatus: 'w'.repeat(64), detail: 'd'.repeat(2000) });
    expect(sessionEventSchema.parse(e)).toEqual(e);
    expect(statusEvent('input_queued', null, '')).toEqual({ kind: 'status', status: 'input_queued' });
    expect(statusEvent('other', '\0')).toEqual({ kind: 'status', status: 'other' });
  });
});
