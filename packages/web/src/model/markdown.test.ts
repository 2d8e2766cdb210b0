import { describe, expect, it } from 'vitest';
import { parseInline, parseMarkdown, safeHref, type Inline } from './markdown.js';

const text = (t: string): Inline => ({ type: 'text', text: t });

/**
 * CPU milliseconds this process spent in `fn`. Unlike wall time, other
 * processes on a busy machine do not add to it. (The tests run in Node.)
 */
function cpuMs(fn: () => void): number {
  interface Usage {
    user: number;
    system: number;
  }
  const { process } = globalThis as unknown as { process: { cpuUsage(previous?: Usage): Usage } };
  const before = process.cpuUsage();
  fn();
  const used = process.cpuUsage(before);
  return (used.user + used.system) / 1000;
}

describe('parseMarkdown blocks', () => {
  it('splits paragraphs on blank lines and keeps single newlines as line breaks', () => {
    expect(parseMarkdown('one\ntwo\n\nthree')).toEqual([
      { type: 'paragraph', children: [text('one'), { type: 'br' }, text('two')] },
      { type: 'paragraph', children: [text('three')] },
    ]);
  });

  it('reads ATX headings of every level, dropping closing hashes', () => {
    expect(parseMarkdown('# One\n### Three ###\n###### six')).toEqual([
      { type: 'heading', level: 1, children: [text('One')] },
      { type: 'heading', level: 3, children: [text('Three')] },
      { type: 'heading', level: 6, children: [text('six')] },
    ]);
    expect(parseMarkdown('#hashtag')[0]).toMatchObject({ type: 'paragraph' });
  });

  it('keeps fenced code verbatim with its language, including markdown and html inside', () => {
    const blocks = parseMarkdown('before\n```ts\nconst a = 1;\n  **not bold** <b>x</b>\n```\nafter');
    expect(blocks).toEqual([
      { type: 'paragraph', children: [text('before')] },
      { type: 'code', lang: 'ts', text: 'const a = 1;\n  **not bold** <b>x</b>' },
      { type: 'paragraph', children: [text('after')] },
    ]);
  });

  it('treats an unclosed fence (a reply still streaming) as code to the end, and tildes as fences', () => {
    expect(parseMarkdown('```\nline 1\nline 2')).toEqual([{ type: 'code', lang: null, text: 'line 1\nline 2' }]);
    expect(parseMarkdown('~~~\n```\n~~~')).toEqual([{ type: 'code', lang: null, text: '```' }]);
  });

  it('reads bullet and numbered lists, with nesting by indentation and continuation lines', () => {
    const blocks = parseMarkdown('- one\n- two\n  - two.a\n  - two.b\n- three\n  continued\n\n3. c\n4. d');
    expect(blocks).toEqual([
      {
        type: 'list',
        ordered: false,
        start: 1,
        items: [
          [{ type: 'paragraph', children: [text('one')] }],
          [
            { type: 'paragraph', children: [text('two')] },
            {
              type: 'list',
              ordered: false,
              start: 1,
              items: [
                [{ type: 'paragraph', children: [text('two.a')] }],
                [{ type: 'paragraph', children: [text('two.b')] }],
              ],
            },
          ],
          [{ type: 'paragraph', children: [text('three'), { type: 'br' }, text('continued')] }],
        ],
      },
      {
        type: 'list',
        ordered: true,
        start: 3,
        items: [[{ type: 'paragraph', children: [text('c')] }], [{ type: 'paragraph', children: [text('d')] }]],
      },
    ]);
  });

  it('keeps a list going across blank lines between items, and holds code blocks inside items', () => {
    const blocks = parseMarkdown('1. first\n\n2. second\n   ```sh\n   npm test\n   ```');
    expect(blocks).toHaveLength(1);
    expect(blocks[0]).toMatchObject({
      type: 'list',
      ordered: true,
      items: [[{ type: 'paragraph' }], [{ type: 'paragraph' }, { type: 'code', lang: 'sh', text: 'npm test' }]],
    });
  });

  it('reads block quotes recursively, with lazy continuation', () => {
    expect(parseMarkdown('> quoted **bold**\nlazy\n> > inner')).toEqual([
      {
        type: 'quote',
        children: [
          {
            type: 'paragraph',
            children: [text('quoted '), { type: 'strong', children: [text('bold')] }, { type: 'br' }, text('lazy')],
          },
          { type: 'quote', children: [{ type: 'paragraph', children: [text('inner')] }] },
        ],
      },
    ]);
  });

  it('reads rules and GFM tables with alignment', () => {
    const blocks = parseMarkdown('---\n| file | lines |\n|:-----|------:|\n| `a.ts` | 12 |\n| b \\| c | 3 |');
    expect(blocks[0]).toEqual({ type: 'rule' });
    expect(blocks[1]).toEqual({
      type: 'table',
      align: ['left', 'right'],
      head: [[text('file')], [text('lines')]],
      rows: [
        [[{ type: 'code', text: 'a.ts' }], [text('12')]],
        [[text('b | c')], [text('3')]],
      ],
    });
  });

  it('keeps raw HTML as literal text', () => {
    expect(parseMarkdown('<script>alert(1)</script>\n<img src=x onerror=alert(1)>')).toEqual([
      {
        type: 'paragraph',
        children: [text('<script>alert(1)</script>'), { type: 'br' }, text('<img src=x onerror=alert(1)>')],
      },
    ]);
  });

  it('gives a tree for any input, however deeply it nests', () => {
    expect(() => parseMarkdown('>'.repeat(5000) + ' deep')).not.toThrow();
    expect(() => parseMarkdown('- '.repeat(3000) + 'deep')).not.toThrow();
    expect(() => parseInline('['.repeat(3000) + 'x' + '](https://a.b)'.repeat(3000))).not.toThrow();
    expect(parseMarkdown('')).toEqual([]);
  });

  it('stays fast on hostile input: openers that never close', () => {
    const used = cpuMs(() => {
      for (const unit of ['*a ', '_a ', '[a', '`a ', '**a ', '~~a ', '***a ', 'https://x.y/ ', '> ', '- '])
        parseMarkdown(unit.repeat(40_000));
    });
    expect(used).toBeLessThan(3000);
  });
});

describe('parseInline', () => {
  it('reads emphasis, strong, both, strikethrough and inline code', () => {
    expect(parseInline('a *em* **strong** ***both*** ~~gone~~ `co*de*`')).toEqual([
      text('a '),
      { type: 'em', children: [text('em')] },
      text(' '),
      { type: 'strong', children: [text('strong')] },
      text(' '),
      { type: 'strong', children: [{ type: 'em', children: [text('both')] }] },
      text(' '),
      { type: 'del', children: [text('gone')] },
      text(' '),
      { type: 'code', text: 'co*de*' },
    ]);
  });

  it('leaves snake_case, lone asterisks and arithmetic alone', () => {
    expect(parseInline('snake_case_name and 2 * 3 * 4 and a*')).toEqual([text('snake_case_name and 2 * 3 * 4 and a*')]);
    expect(parseInline('_em_ here')).toEqual([{ type: 'em', children: [text('em')] }, text(' here')]);
  });

  it('honours backslash escapes and longer backtick runs', () => {
    expect(parseInline('\\*not em\\* ``a ` b``')).toEqual([text('*not em* '), { type: 'code', text: 'a ` b' }]);
    expect(parseInline('an `unclosed span')).toEqual([text('an `unclosed span')]);
  });

  it('makes links of http, https and mailto addresses, and of bare URLs', () => {
    expect(
      parseInline('see [the **docs**](https://example.com/a_(b)) or <mailto:ada@example.com>, https://x.dev/p?q=1.'),
    ).toEqual([
      text('see '),
      {
        type: 'link',
        href: 'https://example.com/a_(b)',
        children: [text('the '), { type: 'strong', children: [text('docs')] }],
      },
      text(' or '),
      { type: 'link', href: 'mailto:ada@example.com', children: [text('ada@example.com')] },
      text(', '),
      { type: 'link', href: 'https://x.dev/p?q=1', children: [text('https://x.dev/p?q=1')] },
      text('.'),
    ]);
  });

  it('keeps the words but drops the link for any other scheme', () => {
    expect(parseInline('[click](javascript:alert(1)) [data](data:text/html,x) [rel](/etc/passwd)')).toEqual([
      text('click'),
      text(' '),
      text('data'),
      text(' '),
      text('rel'),
    ]);
    expect(parseInline('<javascript:alert(1)>')).toEqual([text('<javascript:alert(1)>')]);
  });
});

describe('safeHref', () => {
  it('lets through only http(s) with a host and mailto', () => {
    expect(safeHref('https://example.com')).toBe('https://example.com');
    expect(safeHref(' HTTP://example.com/x ')).toBe('HTTP://example.com/x');
    expect(safeHref('mailto:ada@example.com')).toBe('mailto:ada@example.com');
    for (const bad of [
      'javascript:alert(1)',
      'JaVaScRiPt:alert(1)',
      'java\tscript:alert(1)',
      'vbscript:x',
      'data:text/html,<b>',
      'file:///etc/passwd',
      '/relative',
      '//evil.com',
      'https:/evil',
      'https://',
      'http://a b',
      'java&#115;cript:x',
      '',
    ]) {
      expect(safeHref(bad), bad).toBeNull();
    }
  });
});
