import { useMemo, useState } from 'preact/hooks';
import { diffLines } from '../../model/diff.js';
import type { Item } from '../../model/stream.js';
import { describeTool, type ToolView } from '../../model/tools.js';
import { DiffView, PatchView } from './Diff.js';
import './session.css';

type ToolItem = Extract<Item, { kind: 'tool' }>;

/** Output past this many characters is cut, with a button to show the rest. */
const OUTPUT_PREVIEW = 8_000;

/**
 * A tool call, folded to one line (state, tool, key argument, +/− for
 * edits); unfolded it shows the input (command, diff or JSON) and the
 * result, errors in red. The body is built only when unfolded.
 */
export function ToolCall({ item, running }: { item: ToolItem; running: boolean }) {
  const [open, setOpen] = useState(false);
  const view = useMemo(() => describeTool(item.name, item.input), [item.name, item.input]);
  const stat = useMemo(() => (view.edits.length ? diffStat(view) : null), [view]);
  const failed = item.result?.isError ?? false;
  const state = item.result ? (failed ? 'bad' : 'ok') : 'run';
  return (
    <details
      class={`fold tool ${failed ? 'failed' : ''}`}
      data-testid="tool-call"
      open={open}
      onToggle={(e) => setOpen(e.currentTarget.open)}
    >
      <summary>
        <span
          class={`tool-state ${state}`}
          role="img"
          aria-label={state === 'ok' ? 'done' : state === 'bad' ? 'failed' : running ? 'running' : 'no result'}
        >
          {state === 'ok' ? '✓' : state === 'bad' ? '✗' : '…'}
        </span>
        <span class="tool-name">{item.name}</span>
        {isPath(view) ? (
          <span class="tool-subject path" title={view.subject}>
            {'\u200e'}
            {view.subject}
          </span>
        ) : (
          <span class="tool-subject">{view.subject}</span>
        )}
        {stat && (
          <span class="diffstat">
            <span class="a">+{stat.added}</span>
            <span class="d">−{stat.removed}</span>
          </span>
        )}
      </summary>
      {open && (
        <div class="fold-body">
          <ToolInput view={view} input={item.input} />
          {item.result && <ToolOutput output={item.result.output} isError={item.result.isError} />}
          {item.files.length > 0 && (
            <div class="ses-note">{item.files.map((f) => `${f.change} ${f.path}`).join(' · ')}</div>
          )}
        </div>
      )}
    </details>
  );
}

/** A subject that is a file path (edits, reads): shown cut at its start. */
function isPath(view: ToolView): boolean {
  return view.command === null && /^(?:[~.]?\/|[A-Za-z]:\\)\S*$/.test(view.subject);
}

function diffStat(view: ToolView): { added: number; removed: number } {
  let added = 0;
  let removed = 0;
  for (const e of view.edits) {
    if (e.before.length + e.after.length > 200_000) continue;
    const d = diffLines(e.before, e.after);
    added += d.added;
    removed += d.removed;
  }
  return { added, removed };
}

/** What a call was given: its command, its edits as diffs, a patch, or its input as JSON. */
export function ToolInput({ view, input }: { view: ToolView; input: unknown }) {
  if (view.edits.length)
    return (
      <>
        {view.edits.map((e) => (
          <DiffView edit={e} />
        ))}
      </>
    );
  if (view.patch) return <PatchView patch={view.patch} />;
  if (view.command !== null) return <pre class="cmd">$ {view.command}</pre>;
  if (input === null || input === undefined) return null;
  const text = inputText(input);
  if (text === '{}') return null;
  return (
    <div>
      <div class="k">input</div>
      <pre class="tool-in">{text.length > OUTPUT_PREVIEW ? `${text.slice(0, OUTPUT_PREVIEW)}\n…` : text}</pre>
    </div>
  );
}

/** A call's input as text: a string as it is, anything else as JSON, or as `String` makes it when JSON cannot (a BigInt, a cycle). */
function inputText(input: unknown): string {
  try {
    return typeof input === 'string' ? input : JSON.stringify(input, null, 2);
  } catch {
    return String(input);
  }
}

function ToolOutput({ output, isError }: { output: string; isError: boolean }) {
  const [all, setAll] = useState(false);
  const long = output.length > OUTPUT_PREVIEW;
  const shown = long && !all ? output.slice(0, OUTPUT_PREVIEW) : output;
  return (
    <div>
      <div class="k">{isError ? 'error' : 'result'}</div>
      <pre class={`tool-out ${isError ? 'err' : ''}`} tabIndex={0}>
        {shown || '(no output)'}
      </pre>
      {long && !all && (
        <button type="button" class="more" onClick={() => setAll(true)}>
          show all {output.length.toLocaleString()} characters
        </button>
      )}
    </div>
  );
}
