import type { VNode } from 'preact';
import { describe, expect, it } from 'vitest';
import { parseMarkdown } from '../../model/markdown.js';
import { renderBlocks } from './Markdown.js';

interface El {
  tag: string;
  props: Record<string, unknown>;
  children: (El | string)[];
}

/** The vnode tree as plain data: element tags, their props, and text. */
function tree(node: unknown): (El | string)[] {
  if (node === null || node === undefined || typeof node === 'boolean') return [];
  if (typeof node === 'string' || typeof node === 'number') return [String(node)];
  if (Array.isArray(node)) return node.flatMap(tree);
  const v = node as VNode<Record<string, unknown>>;
  if (typeof v.type !== 'string') throw new Error('markdown renders elements only');
  const { children, ...props } = v.props as Record<string, unknown>;
  return [{ tag: v.type, props, children: tree(children) }];
}
const render = (md: string) => tree(renderBlocks(parseMarkdown(md)));
const all = (nodes: (El | string)[]): El[] =>
  nodes.flatMap((n) => (typeof n === 'string' ? [] : [n, ...all(n.children)]));
const textOf = (nodes: (El | string)[]): string =>
  nodes.map((n) => (typeof n === 'string' ? n : textOf(n.children))).join('');

describe('Markdown rendering', () => {
  it('draws blocks and inline marks as the matching elements', () => {
    const els = all(
      render(
        '# Title\n\nSome **bold**, *em* and `code`.\n\n- a\n- b\n\n1. x\n\n> quote\n\n```js\nlet a = 1;\n```\n\n---',
      ),
    );
    expect(els.map((e) => e.tag)).toEqual([
      'h3',
      'p',
      'strong',
      'em',
      'code',
      'ul',
      'li',
      'p',
      'li',
      'p',
      'ol',
      'li',
      'p',
      'blockquote',
      'p',
      'div',
      'span',
      'pre',
      'code',
      'hr',
    ]);
    expect(els.find((e) => e.tag === 'pre')!.children).toEqual([{ tag: 'code', props: {}, children: ['let a = 1;'] }]);
  });

  it('opens links in a new tab without an opener or referrer', () => {
    const [link] = all(render('[docs](https://example.com/docs)')).filter((e) => e.tag === 'a');
    expect(link).toEqual({
      tag: 'a',
      props: { href: 'https://example.com/docs', target: '_blank', rel: 'noopener noreferrer' },
      children: ['docs'],
    });
  });

  it('never produces markup from the text: HTML stays text, unsafe links become their words', () => {
    const md =
      '<img src=x onerror=alert(1)> [x](javascript:alert(1)) <script>alert(2)</script>\n\n```html\n<script>alert(3)</script>\n```';
    const nodes = render(md);
    const els = all(nodes);
    expect(els.map((e) => e.tag)).toEqual(['p', 'div', 'span', 'pre', 'code']);
    expect(els.every((e) => !('dangerouslySetInnerHTML' in e.props))).toBe(true);
    expect(textOf(nodes)).toContain('<img src=x onerror=alert(1)> x <script>alert(2)</script>');
  });

  it('starts an ordered list at its first number and aligns table cells', () => {
    const els = all(render('4. four\n5. five\n\n| a | b |\n|---|--:|\n| 1 | 2 |'));
    expect(els.find((e) => e.tag === 'ol')!.props.start).toBe(4);
    expect(els.filter((e) => e.tag === 'td').map((e) => e.props.style)).toEqual([undefined, 'text-align: right']);
  });
});
