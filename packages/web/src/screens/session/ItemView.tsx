import type { Item } from '../../model/stream.js';
import { Approval } from './Approval.js';
import { Markdown } from './Markdown.js';
import { ToolCall } from './ToolCall.js';
import './session.css';

const FILE_MARK: Record<string, string> = { add: '+', modify: '~', delete: '−', rename: '→' };

/** One display item of a session's stream. */
export function ItemView({
  item,
  sessionId,
  running,
  now,
}: {
  item: Item;
  sessionId: string;
  running: boolean;
  now: number;
}) {
  switch (item.kind) {
    case 'output':
      return (
        <pre class={`out ${item.stream}`} data-testid="output">
          {item.text}
        </pre>
      );
    case 'text':
      return (
        <div data-testid="agent-text">
          <Markdown text={item.text} />
        </div>
      );
    case 'reasoning':
      return (
        <details class="fold thinking">
          <summary>thinking</summary>
          <div class="fold-body">{item.text}</div>
        </details>
      );
    case 'tool':
      return <ToolCall item={item} running={running} />;
    case 'file':
      return (
        <div class="ses-file" data-testid="file-change">
          <span class={item.change === 'delete' ? 'bad' : item.change === 'add' ? 'ok' : 'warn'}>
            {FILE_MARK[item.change] ?? '~'}
          </span>
          <span class="muted">{item.change}</span>
          <code title={item.path}>{item.path}</code>
        </div>
      );
    case 'approval':
      return <Approval item={item} sessionId={sessionId} ended={!running} now={now} />;
    case 'input':
      return <div class="ses-input">› {item.text}</div>;
    case 'status':
      return (
        // A status with no shared name shows the harness's own word; otherwise that word is the tooltip.
        <div class={`ses-note ${item.error ? 'error' : ''}`} title={item.harnessStatus ?? undefined}>
          [{item.status === 'other' && item.harnessStatus ? item.harnessStatus : item.status}]
          {item.message ? ` ${item.message}` : ''}
        </div>
      );
    case 'exit':
      return (
        <div
          class={`ses-exit ${item.status === 'succeeded' ? 'ok' : item.status === 'failed' ? 'bad' : 'muted'}`}
          data-testid="exit"
        >
          exit {item.code ?? item.signal ?? '?'} · {item.status}
        </div>
      );
  }
}
