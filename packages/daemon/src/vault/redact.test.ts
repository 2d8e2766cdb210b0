import { describe, expect, it } from 'vitest';
import { Redactor } from './redact.js';

const SECRET = 'sk-live-0123456789abcdef';

describe('Redactor', () => {
  it('masks a secret as is and JSON-escaped, and leaves short values alone', () => {
    const r = new Redactor(
      new Map([
        ['KEY', SECRET],
        ['QUOTED', 'pa"ss\\word'],
        ['PIN', '123'],
      ]),
    );
    expect(r.redact(`token=${SECRET} again ${SECRET}`)).toBe('token=[redacted:KEY] again [redacted:KEY]');
    expect(r.redact(JSON.stringify({ v: 'pa"ss\\word' }))).toBe('{"v":"[redacted:QUOTED]"}');
    expect(r.redact('pin 123')).toBe('pin 123');
  });

  it('masks every string of a value, keys too, and keeps it a value', () => {
    const r = new Redactor(
      new Map([
        ['API', 'sk-12345'],
        ['PIN', '98765'],
        ['QUOTE', 'pa"ss'],
      ]),
    );
    const event = {
      kind: 'tool_call',
      name: 'Bash',
      input: { command: 'curl -H "x: sk-12345"', 'sk-12345': ['ok', 'pa"ss', 2, null, true] },
      code: 98765,
      other: 1,
    };
    expect(r.redactValue(event)).toEqual({
      kind: 'tool_call',
      name: 'Bash',
      input: { command: 'curl -H "x: [redacted:API]"', '[redacted:API]': ['ok', '[redacted:QUOTE]', 2, null, true] },
      code: '[redacted:PIN]',
      other: 1,
    });
    expect(event.input.command).toBe('curl -H "x: sk-12345"'); // the original is not changed
    // A harness that echoes JSON text inside a string: the escaped form is caught too.
    expect(r.redactValue({ text: JSON.stringify({ q: 'pa"ss' }) })).toEqual({ text: '{"q":"[redacted:QUOTE]"}' });
    const none = new Redactor(new Map());
    expect(none.redactValue(event)).toBe(event);
  });

  it('catches a secret split across chunks, at every split point', () => {
    const r = new Redactor(new Map([['KEY', SECRET]]));
    const text = `before ${SECRET} after`;
    for (let cut = 1; cut < text.length; cut++) {
      const s = r.stream();
      const out = s.push(text.slice(0, cut)) + s.push(text.slice(cut)) + s.flush();
      expect(out, `cut at ${cut}`).toBe('before [redacted:KEY] after');
    }
  });

  it('holds back only what could still become a secret, and flushes it at the end', () => {
    const r = new Redactor(new Map([['KEY', SECRET]]));
    const s = r.stream();
    expect(s.push('plain text sk-li')).toBe('plain text ');
    expect(s.flush()).toBe('sk-li');
    const none = new Redactor(new Map()).stream();
    expect(none.push('anything')).toBe('anything');
  });
});
