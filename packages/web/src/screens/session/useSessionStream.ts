import { useEffect, useRef, useState } from 'preact/hooks';
import type { StreamEvent } from '@fabric/protocol';
import { api } from '../../api.js';

const KINDS = ['stdout', 'stderr', 'event', 'status', 'exit', 'input', 'usage', 'approval'] as const;
/** Events arriving within this window render together (a replay of thousands is one render, not thousands). */
const BATCH_MS = 30;

export interface SessionStreamState {
  /** Every event so far, in sequence order, each once. */
  events: StreamEvent[];
  /** The EventSource is open. */
  live: boolean;
  /** The session is over and its stream has ended. */
  ended: boolean;
  /** Times a connection opened (1 + reconnects): shown to tests and the curious. */
  connects: number;
  /** Events the server sent again that were already here (should stay 0: `Last-Event-ID` resumes exactly). */
  repeats: number;
}

/**
 * A session's stored events, live. The server numbers events per session
 * and resumes after the `Last-Event-ID` an EventSource sends when it
 * reconnects by itself; when the browser gives up instead (some do when
 * offline), this opens a new one at `?after=<last seq>`, so a dropped
 * network loses nothing. `onChange` fires for events that change the
 * session's summary (status, exit, approvals) and at the end.
 */
export function useSessionStream(id: string, onChange: () => void): SessionStreamState {
  const [state, setState] = useState<SessionStreamState>({
    events: [],
    live: false,
    ended: false,
    connects: 0,
    repeats: 0,
  });
  const changed = useRef(onChange);
  changed.current = onChange;

  useEffect(() => {
    let source: EventSource | null = null;
    let lastSeq = 0;
    let ended = false;
    let stopped = false;
    let retry: ReturnType<typeof setTimeout> | null = null;
    let attempt = 0;
    let batch: StreamEvent[] = [];
    let repeats = 0;
    let flushTimer: ReturnType<typeof setTimeout> | null = null;

    const flush = () => {
      flushTimer = null;
      if (stopped) return;
      const add = batch;
      batch = [];
      setState((s) => ({ ...s, events: add.length ? [...s.events, ...add] : s.events, repeats }));
    };
    const schedule = () => {
      flushTimer ??= setTimeout(flush, BATCH_MS);
    };

    const onEvent = (m: MessageEvent) => {
      let e: StreamEvent;
      try {
        e = JSON.parse(String(m.data)) as StreamEvent;
      } catch {
        return;
      }
      if (typeof e.seq !== 'number') return;
      if (e.seq <= lastSeq) {
        repeats++;
        schedule();
        return;
      }
      lastSeq = e.seq;
      batch.push(e);
      schedule();
      if (e.kind === 'status' || e.kind === 'exit' || e.kind === 'approval') changed.current();
    };

    const open = () => {
      if (stopped || ended) return;
      retry = null;
      source?.close();
      const s = new EventSource(
        api.$url('streamSession', { params: { id }, ...(lastSeq ? { query: { after: String(lastSeq) } } : {}) }),
      );
      source = s;
      for (const kind of KINDS) s.addEventListener(kind, onEvent as EventListener);
      s.addEventListener('end', () => {
        ended = true;
        s.close();
        if (flushTimer) {
          clearTimeout(flushTimer);
          flush();
        }
        setState((st) => ({ ...st, live: false, ended: true }));
        changed.current();
      });
      s.onopen = () => {
        attempt = 0;
        setState((st) => ({ ...st, live: true, connects: st.connects + 1 }));
      };
      s.onerror = () => {
        // Show everything that arrived before the drop, then say it dropped.
        if (flushTimer) {
          clearTimeout(flushTimer);
          flush();
        }
        setState((st) => (st.live ? { ...st, live: false } : st));
        // CONNECTING: the browser is retrying with Last-Event-ID. CLOSED: it gave up; we do not.
        if (s.readyState === EventSource.CLOSED && !ended && !stopped && !retry) {
          retry = setTimeout(open, Math.min(10_000, 500 * 2 ** attempt++));
        }
      };
    };

    // Back online: reconnect now rather than at the next retry.
    const online = () => {
      if (ended || stopped || source?.readyState === EventSource.OPEN) return;
      if (retry) clearTimeout(retry);
      open();
    };
    addEventListener('online', online);
    open();
    return () => {
      stopped = true;
      removeEventListener('online', online);
      if (retry) clearTimeout(retry);
      if (flushTimer) clearTimeout(flushTimer);
      source?.close();
    };
  }, [id]);

  return state;
}
