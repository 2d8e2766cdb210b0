import { useCallback, useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { isTerminal, type SessionView } from '@fabric/protocol';
import { api } from '../api.js';
import { ErrorLine } from '../components/ErrorLine.js';
import { pendingApprovals, toItems } from '../model/stream.js';
import { navigate } from '../router.js';
import { ApprovalBar } from './session/Approval.js';
import { ItemView } from './session/ItemView.js';
import { useSessionStream } from './session/useSessionStream.js';
import './session/session.css';
import { visible, visibleBlock } from '../model/text.js';

const STATUS_CLASS: Record<string, string> = {
  succeeded: 'ok',
  failed: 'bad',
  refused: 'bad',
  lost: 'warn',
  cancelled: 'muted',
  queued: 'warn',
  running: 'ok',
};

/**
 * One session, live: its stored events folded into items (agent text as
 * Markdown, tool calls folded, edits as diffs, approvals with Allow/Deny),
 * follow-up input and stop while it runs, resume once it is over. The
 * stream resumes after a drop from the last event it has, so nothing is
 * lost or repeated (see `useSessionStream`).
 */
export function SessionScreen({ id }: { id: string }) {
  const [view, setView] = useState<SessionView | null>(null);
  const [error, setError] = useState<unknown>(null);
  /** A failed background refresh; cleared by the next one that works. */
  const [loadError, setLoadError] = useState<unknown>(null);
  const [input, setInput] = useState('');
  const [resumePrompt, setResumePrompt] = useState('');
  const loading = useRef<{ timer: ReturnType<typeof setTimeout> | null; alive: boolean }>({ timer: null, alive: true });

  /** Refresh the summary (status, exit code, pending approvals), coalescing bursts. */
  const load = useCallback(() => {
    const l = loading.current;
    if (l.timer) return;
    l.timer = setTimeout(() => {
      l.timer = null;
      api.getSession({ params: { id } }).then(
        (v) => {
          if (l.alive) {
            setView(v);
            setLoadError(null);
          }
        },
        (err: unknown) => {
          if (l.alive) setLoadError(err);
        },
      );
    }, 100);
  }, [id]);
  useEffect(() => {
    const l = loading.current;
    l.alive = true;
    api.getSession({ params: { id } }).then(
      (v) => {
        if (l.alive) setView(v);
      },
      (err: unknown) => {
        if (l.alive) setLoadError(err);
      },
    );
    return () => {
      l.alive = false;
      if (l.timer) clearTimeout(l.timer);
    };
  }, [id]);

  const stream = useSessionStream(id, load);
  const items = useMemo(() => toItems(stream.events), [stream.events]);
  const ended = view ? isTerminal(view.status) : stream.ended;
  const running = view !== null && !ended;
  const now = useNow(items);
  const pending = ended ? [] : pendingApprovals(items, now);
  const end = useFollowTail(items.length, running);

  const act = async (fn: () => Promise<unknown>) => {
    setError(null);
    try {
      await fn();
    } catch (err) {
      setError(err);
    }
  };
  const placement = view?.placement?.text ?? null;

  return (
    <section class="panel ses" aria-label="session" data-testid="session">
      <div class="row">
        <a href="/sessions" class="tiny">
          ← sessions
        </a>
        <span class="grow" />
        <span class={`ses-live ${stream.live ? 'on' : ''}`} data-testid="live">
          {stream.live
            ? '● live'
            : stream.ended || ended
              ? 'ended'
              : stream.connects
                ? '○ reconnecting'
                : '○ connecting'}
        </span>
      </div>
      <div class="ses-head">
        <h2>
          {view?.harness ?? '…'} <span class="muted">on {view?.deviceName ? visible(view.deviceName) : '…'}</span>
        </h2>
        <span class={`badge ${STATUS_CLASS[view?.status ?? ''] ?? ''}`} data-testid="session-status">
          {view?.status ?? '…'}
        </span>
      </div>
      <div class="ses-prompt">{view ? visibleBlock(view.prompt) : null}</div>
      <div class="ses-meta">
        {view && (
          <>
            permissions: {view.permissionMode}
            {view.model ? ` · ${view.model}` : ''}
            {view.exitCode !== null ? ` · exit ${view.exitCode}` : ''}
            {view.signal ? ` · ${view.signal}` : ''}
          </>
        )}
        {placement && <div>placement: {placement}</div>}
        {view?.parentId && (
          <div>
            resumed from{' '}
            <a href={`/sessions/${view.parentId}`} data-testid="parent-link">
              {view.parentId}
            </a>
          </div>
        )}
      </div>
      <ErrorLine error={error ?? loadError} />
      <div
        class="ses-stream"
        data-testid="stream"
        data-last-seq={stream.events.at(-1)?.seq ?? 0}
        data-connects={stream.connects}
        data-repeats={stream.repeats}
      >
        {items.map((item) => (
          <ItemView key={item.seq} item={item} sessionId={id} running={!ended} now={now} />
        ))}
      </div>
      <div class="ses-end" ref={end} />
      {running && (
        <form
          class="ses-form"
          onSubmit={(e) => {
            e.preventDefault();
            void act(async () => {
              await api.sendInput({ params: { id }, body: { data: `${input}\n` } });
              setInput('');
            });
          }}
        >
          <input
            aria-label="follow-up input"
            placeholder="follow-up…"
            value={input}
            onInput={(e) => setInput(e.currentTarget.value)}
          />
          <button type="submit" disabled={!input}>
            send
          </button>
          <button
            type="button"
            class="danger"
            onClick={() => void act(() => api.cancelSession({ params: { id }, body: {} }))}
          >
            stop
          </button>
        </form>
      )}
      {view && ended && view.harnessSessionId && (
        <form
          class="ses-form"
          onSubmit={(e) => {
            e.preventDefault();
            void act(async () => {
              const next = await api.createSession({
                body: { harness: view.harness, prompt: resumePrompt, resumeFrom: id },
              });
              navigate(`/sessions/${next.id}`);
            });
          }}
        >
          <input
            aria-label="resume with"
            placeholder="continue the conversation…"
            value={resumePrompt}
            onInput={(e) => setResumePrompt(e.currentTarget.value)}
          />
          <button type="submit" disabled={!resumePrompt}>
            resume
          </button>
        </form>
      )}
      <ApprovalBar pending={pending} />
    </section>
  );
}

/** The time, read again when the next pending approval expires, so its buttons go away on time. */
function useNow(items: ReturnType<typeof toItems>): number {
  const [, setTick] = useState(0);
  const now = Date.now();
  const next = items.reduce(
    (min, i) =>
      i.kind === 'approval' && i.decision === null && i.expiresAt !== null && i.expiresAt > now
        ? Math.min(min, i.expiresAt)
        : min,
    Infinity,
  );
  useEffect(() => {
    if (next === Infinity) return undefined;
    const timer = setTimeout(() => setTick((n) => n + 1), Math.min(2 ** 31 - 1, next - Date.now() + 50));
    return () => clearTimeout(timer);
  }, [next]);
  return now;
}

/**
 * Keep the end of a running stream in view while the reader is at the end:
 * when new items arrive and the end marker was on screen, scroll it back
 * into view. A reader who scrolled up to read stays where they are.
 */
function useFollowTail(count: number, running: boolean) {
  const ref = useRef<HTMLDivElement>(null);
  const visible = useRef(true);
  useEffect(() => {
    const el = ref.current;
    if (!el || typeof IntersectionObserver === 'undefined') return undefined;
    const io = new IntersectionObserver(
      ([entry]) => {
        visible.current = entry?.isIntersecting ?? false;
      },
      { rootMargin: '0px 0px 120px 0px' },
    );
    io.observe(el);
    return () => io.disconnect();
  }, []);
  useEffect(() => {
    if (running && visible.current && count > 0) ref.current?.scrollIntoView({ block: 'end' });
  }, [count, running]);
  return ref;
}
