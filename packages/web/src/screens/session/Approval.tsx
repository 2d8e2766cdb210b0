import { useEffect, useMemo, useState } from 'preact/hooks';
import { api } from '../../api.js';
import { ErrorLine } from '../../components/ErrorLine.js';
import type { Item } from '../../model/stream.js';
import { describeApproval } from '../../model/tools.js';
import { ToolInput } from './ToolCall.js';
import './session.css';

type ApprovalItem = Extract<Item, { kind: 'approval' }>;

/**
 * A harness asking permission, loud until answered: what it wants to run or
 * change (the command, the diff) and two large buttons. The answer shows up
 * when its event comes back on the stream, so every open screen agrees.
 */
export function Approval({
  item,
  sessionId,
  ended,
  now,
}: {
  item: ApprovalItem;
  sessionId: string;
  ended: boolean;
  now: number;
}) {
  const [busy, setBusy] = useState<'allow' | 'deny' | null>(null);
  const [error, setError] = useState<unknown>(null);
  const view = useMemo(() => describeApproval(item.tool, item.input), [item.tool, item.input]);
  const expired = item.decision === null && item.expiresAt !== null && item.expiresAt <= now;
  const open = item.decision === null && !expired && !ended;
  const answer = async (decision: 'allow' | 'deny') => {
    setBusy(decision);
    setError(null);
    try {
      await api.decideApproval({ params: { id: sessionId, req: item.requestId }, body: { decision } });
    } catch (err) {
      setError(err);
      setBusy(null);
    }
  };
  return (
    <div
      class={`approval ${open ? 'pending' : 'answered'}`}
      id={`approval-${item.requestId}`}
      data-testid="approval"
      data-state={item.decision ?? (open ? 'pending' : 'closed')}
    >
      <div class="approval-title">
        <span class="badge">{open ? 'approval needed' : 'approval'}</span>
        <b>{item.tool}</b>
      </div>
      <div class="approval-summary">{item.summary}</div>
      {open && <ToolInput view={view} input={null} />}
      {item.decision ? (
        <div class={`approval-verdict ${item.decision === 'allow' ? 'ok' : 'bad'}`}>
          {item.decision === 'allow' ? '✓ allowed' : '✗ denied'}
          {item.reason ? `: ${item.reason}` : ''}
        </div>
      ) : !open ? (
        <div class="approval-verdict muted">{expired ? 'expired: denied' : 'not answered'}</div>
      ) : (
        <div class="approval-actions">
          <button type="button" class="primary" disabled={busy !== null} onClick={() => void answer('allow')}>
            {busy === 'allow' ? 'allowing…' : 'allow'}
          </button>
          <button type="button" class="danger" disabled={busy !== null} onClick={() => void answer('deny')}>
            {busy === 'deny' ? 'denying…' : 'deny'}
          </button>
        </div>
      )}
      <ErrorLine error={error} />
    </div>
  );
}

/** Pinned while requests wait and none of them is on screen: says so and jumps to the first. */
export function ApprovalBar({ pending }: { pending: ApprovalItem[] }) {
  const ids = pending.map((p) => p.requestId).join('\n');
  // null until the first look, so the bar does not flash up before it knows.
  const [onScreen, setOnScreen] = useState<boolean | null>(null);
  useEffect(() => {
    if (!ids) return undefined;
    if (typeof IntersectionObserver === 'undefined') {
      setOnScreen(false);
      return undefined;
    }
    const shown = new Set<Element>();
    const io = new IntersectionObserver((entries) => {
      for (const e of entries) {
        if (e.isIntersecting) shown.add(e.target);
        else shown.delete(e.target);
      }
      setOnScreen(shown.size > 0);
    });
    for (const id of ids.split('\n')) {
      const el = document.getElementById(`approval-${id}`);
      if (el) io.observe(el);
    }
    return () => {
      io.disconnect();
      setOnScreen(null);
    };
  }, [ids]);
  if (pending.length === 0 || onScreen !== false) return null;
  const jump = () =>
    document
      .getElementById(`approval-${pending[0]!.requestId}`)
      ?.scrollIntoView({ block: 'center', behavior: 'smooth' });
  return (
    <div class="approval-bar" role="status">
      <span>{pending.length === 1 ? 'waiting for your approval' : `${pending.length} approvals waiting`}</span>
      <button type="button" onClick={jump}>
        review
      </button>
    </div>
  );
}
