import { describe, expect, it } from 'vitest';
import { duration, humanNumber, localTime, printable, renderPlain, table, truncate } from './format.js';

describe('printable', () => {
  it('turns control and invisible formatting characters into visible escapes', () => {
    expect(printable('a\u001b[2Jb')).toBe('a\\x1b[2Jb');
    expect(printable('nul\u0000')).toBe('nul\\x00');
    expect(printable('two\nlines\r\tx')).toBe('two\\nlines\\r\\tx');
    expect(printable('rtl\u202eexe')).toBe('rtl\\u202eexe');
    expect(printable('del\u007f csi\u009b iso\u2066 zw\u200b bom\ufeff ls\u2028')).toBe(
      'del\\x7f csi\\x9b iso\\u2066 zw\\u200b bom\\ufeff ls\\u2028',
    );
  });

  it('leaves ordinary text alone, including accents, emoji and CJK', () => {
    expect(printable('Ada’s Pi 🍓 café 日本')).toBe('Ada’s Pi 🍓 café 日本');
  });

  it('keeps newlines in a multi-line field but escapes the rest', () => {
    expect(printable('a\nb\u001b', true)).toBe('a\nb\\x1b');
  });

  it('is applied to every table cell, truncated text and outline value', () => {
    expect(table([['NAME'], ['x\u001b[31m']])).toBe('NAME\nx\\x1b[31m');
    expect(truncate('echo\u001b[2J\nnext', 40)).toBe('echo\\x1b[2J next');
    expect(renderPlain({ name: 'a\u001bb', text: 'one\ntwo\u202e' })).toBe(
      'name: a\\x1bb\ntext: |\n  one\n  two\\u202e',
    );
    // Keys too, of nested objects as of scalars: a stored ledger payload can hold any key.
    expect(renderPlain({ payload: { 'k\u001b[2J': { 'x\u001b': 1 } } })).toBe('payload:\n  k\\x1b[2J:\n    x\\x1b: 1');
  });
});

describe('human output', () => {
  const t = new Date(2026, 11, 2, 5, 7, 9).getTime(); // local time

  it('shows an epoch-millisecond time as a local date and time', () => {
    expect(localTime(t)).toBe('2026-12-02 05:07:09');
  });

  it('shows sizes, times and durations by their key, and other numbers as they are', () => {
    expect(humanNumber('totalBytes', 8 * 1024 ** 3)).toBe('8.0 GiB');
    expect(humanNumber('bytes', 1536)).toBe('1.5 KiB');
    expect(humanNumber('createdAt', t)).toBe('2026-12-02 05:07:09');
    expect(humanNumber('ts', t)).toBe('2026-12-02 05:07:09');
    expect(humanNumber('uptimeSeconds', 3 * 86400 + 4 * 3600 + 5)).toBe('3d 4h');
    expect(humanNumber('seq', t)).toBe(String(t));
    expect(humanNumber('usePercent', 42)).toBe('42');
    expect(humanNumber('usagePercent', 15.789473684210526)).toBe('15.79');
    expect(duration(42)).toBe('42s');
  });

  it('renders a health answer without raw byte counts or epoch milliseconds', () => {
    const text = renderPlain({
      ram: { totalBytes: 16 * 1024 ** 3, usedBytes: 512 * 1024 ** 2 },
      disk: [{ mount: '/', sizeBytes: 100 * 1024 ** 3 }],
      uptimeSeconds: 7260,
      at: t,
    });
    expect(text).toBe(
      'ram:\n  totalBytes: 16 GiB\n  usedBytes: 512 MiB\ndisk:\n  - mount: /\n    sizeBytes: 100 GiB\nuptimeSeconds: 2h 1m\nat: 2026-12-02 05:07:09',
    );
  });
});
