import { describe, expect, it } from 'vitest';
import { printable, renderPlain, table, truncate } from './format.js';

describe('printable', () => {
  it('turns control and invisible formatting characters into visible escapes', () => {
    expect(printable('a\u001b[2Jb')).toBe('a\\x1b[2Jb');
    expect(printable('nul\u0000')).toBe('nul\\x00');
    expect(printable('two\nlines\r\tx')).toBe('two\\nlines\\r\\tx');
    expect(printable('rtl\u202eexe')).toBe('rtl\\u202eexe');
    expect(printable('del\u007f csi\u009b iso\u2066 zw\u200b bom\ufeff ls\u2028')).toBe('del\\x7f csi\\x9b iso\\u2066 zw\\u200b bom\\ufeff ls\\u2028');
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
    expect(renderPlain({ name: 'a\u001bb', text: 'one\ntwo\u202e' })).toBe('name: a\\x1bb\ntext: |\n  one\n  two\\u202e');
  });
});
