import type { ComponentChildren, VNode } from 'preact';
import { useMemo } from 'preact/hooks';
import { parseMarkdown, type Block, type Inline } from '../../model/markdown.js';
import './session.css';

/**
 * An agent's reply drawn from the Markdown tree as Preact elements. Text is
 * only ever a text node and an address only ever an `href` that
 * `safeHref` let through, so a reply cannot inject markup or script.
 */
export function Markdown({ text }: { text: string }) {
  const blocks = useMemo(() => parseMarkdown(text), [text]);
  return <div class="md">{renderBlocks(blocks)}</div>;
}

/** The elements for a list of blocks (exported for tests, which inspect the vnodes). */
export function renderBlocks(blocks: readonly Block[]): VNode[] {
  return blocks.map(renderBlock);
}

function renderBlock(b: Block): VNode {
  switch (b.type) {
    case 'paragraph':
      return <p>{renderInline(b.children)}</p>;
    case 'heading': {
      // Replies sit under the screen's own headings: a reply's `#` is the third level of the page.
      const Tag = `h${Math.min(6, b.level + 2)}` as 'h3';
      return <Tag class={`md-h${b.level}`}>{renderInline(b.children)}</Tag>;
    }
    case 'code':
      return (
        <div class="md-code">
          {b.lang && <span class="md-lang">{b.lang}</span>}
          <pre tabIndex={0}>
            <code>{b.text}</code>
          </pre>
        </div>
      );
    case 'list': {
      const items = b.items.map((item) => <li>{renderBlocks(item)}</li>);
      return b.ordered ? <ol start={b.start === 1 ? undefined : b.start}>{items}</ol> : <ul>{items}</ul>;
    }
    case 'quote':
      return <blockquote>{renderBlocks(b.children)}</blockquote>;
    case 'table':
      return (
        <div class="md-table" tabIndex={0}>
          <table>
            <thead>
              <tr>
                {b.head.map((c, k) => (
                  <th style={alignStyle(b.align[k])}>{renderInline(c)}</th>
                ))}
              </tr>
            </thead>
            <tbody>
              {b.rows.map((r) => (
                <tr>
                  {r.map((c, k) => (
                    <td style={alignStyle(b.align[k])}>{renderInline(c)}</td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      );
    case 'rule':
      return <hr />;
  }
}

function alignStyle(a: string | null | undefined): string | undefined {
  return a ? `text-align: ${a}` : undefined;
}

function renderInline(nodes: readonly Inline[]): ComponentChildren[] {
  return nodes.map((n): ComponentChildren => {
    switch (n.type) {
      case 'text':
        return n.text;
      case 'code':
        return <code>{n.text}</code>;
      case 'em':
        return <em>{renderInline(n.children)}</em>;
      case 'strong':
        return <strong>{renderInline(n.children)}</strong>;
      case 'del':
        return <del>{renderInline(n.children)}</del>;
      case 'link':
        return (
          <a href={n.href} target="_blank" rel="noopener noreferrer">
            {renderInline(n.children)}
          </a>
        );
      case 'br':
        return <br />;
    }
  });
}
