import { useMemo } from 'preact/hooks';
import { diffLines, hunks } from '../../model/diff.js';
import type { FileEdit } from '../../model/tools.js';
import './session.css';

/** Texts longer than this are not diffed line by line on a phone; the head is shown instead. */
const MAX_CHARS = 200_000;

/** One file edit as a line diff: removals red, additions green, long unchanged runs folded. */
export function DiffView({ edit }: { edit: FileEdit }) {
  const view = useMemo(() => {
    const clip = (s: string) => (s.length > MAX_CHARS ? s.slice(0, MAX_CHARS) : s);
    const d = diffLines(clip(edit.before), clip(edit.after));
    return { d, rows: hunks(d), clipped: edit.before.length > MAX_CHARS || edit.after.length > MAX_CHARS };
  }, [edit.before, edit.after]);
  const { d, rows } = view;
  return (
    <div class="diff" data-testid="diff">
      <div class="diff-head">
        <span class="muted">{edit.kind === 'write' ? 'write' : 'edit'}</span>
        <span class="diff-path" title={edit.path}>
          {'\u200e'}
          {edit.path}
        </span>
        <span class="diffstat">
          <span class="a">+{d.added}</span>
          <span class="d">−{d.removed}</span>
        </span>
      </div>
      <div class="diff-body" tabIndex={0}>
        <div class="diff-rows">
          {rows.map((r) =>
            r.op === 'skip' ? (
              <div class="dl skip">
                <span class="ln" />
                <span class="sg" />
                <span>
                  ⋯ {r.count} unchanged line{r.count === 1 ? '' : 's'}
                </span>
              </div>
            ) : (
              <div class={`dl ${r.op}`}>
                <span class="ln">{r.op === 'add' ? r.newNo : r.oldNo}</span>
                <span class="sg">{r.op === 'add' ? '+' : r.op === 'del' ? '−' : ' '}</span>
                <span>{r.text}</span>
              </div>
            ),
          )}
          {(d.approximate || view.clipped) && (
            <div class="dl skip">
              <span class="ln" />
              <span class="sg" />
              <span>
                {view.clipped ? 'file too large: showing its start' : 'large change: shown as a block replacement'}
              </span>
            </div>
          )}
        </div>
      </div>
    </div>
  );
}

/** A patch in a tool's own text format (`*** Update File:`, `@@`, `+`, `-`), coloured by line. */
export function PatchView({ patch }: { patch: string }) {
  const lines = patch.split('\n').slice(0, 1000);
  const kind = (l: string) =>
    l.startsWith('***') || l.startsWith('@@') || l.startsWith('diff ') || l.startsWith('+++') || l.startsWith('---')
      ? 'hdr'
      : l.startsWith('+')
        ? 'add'
        : l.startsWith('-')
          ? 'del'
          : 'same';
  return (
    <div class="diff" data-testid="diff">
      <div class="diff-body" tabIndex={0}>
        <div class="diff-rows">
          {lines.map((l) => (
            <div class={`dl ${kind(l)}`}>
              <span>{l}</span>
            </div>
          ))}
        </div>
      </div>
    </div>
  );
}
