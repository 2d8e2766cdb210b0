import { useEffect, useState } from 'preact/hooks';
import { isTerminal, type SessionView, type StreamEvent } from '@fabric/protocol';
import { get, post } from '../api.js';
import { ErrorLine } from '../components/ErrorLine.js';
import { pendingApprovals, toItems, type Item } from '../model/stream.js';
import { navigate } from '../router.js';

/**
 * One session, live. EventSource resumes after a drop by itself, sending
 * Last-Event-ID, and the server replays from there: nothing is lost or
 * repeated, so the screen simply folds every event it has into items.
 */
export function SessionScreen({ id }: { id: string }) {
  const [view, setView] = useState<SessionView | null>(null);
  const [events, setEvents] = useState<StreamEvent[]>([]);
  const [error, setError] = useState<unknown>(null);
  const [input, setInput] = useState('');
  const [resumePrompt, setResumePrompt] = useState('');
  const [connected, setConnected] = useState(false);

  useEffect(() => {
    let closed = false;
    const load = () => get<SessionView>(`/api/sessions/${id}`).then((v) => { if (!closed) setView(v); }, setError);
    void load();
    const source = new EventSource(`/api/sessions/${id}/stream`);
    const seen = new Set<number>();
    const onEvent = (m: MessageEvent) => {
      const e = JSON.parse(String(m.data)) as StreamEvent;
      if (seen.has(e.seq)) return;
      seen.add(e.seq);
      setEvents((prev) => [...prev, e]);
      if (e.kind === 'status' || e.kind === 'exit' || e.kind === 'approval') void load();
    };
    for (const kind of ['stdout', 'stderr', 'event', 'status', 'exit', 'input', 'usage', 'approval']) source.addEventListener(kind, onEvent as EventListener);
    source.addEventListener('end', () => { source.close(); setConnected(false); void load(); });
    source.onopen = () => setConnected(true);
    source.onerror = () => setConnected(false);
    return () => { closed = true; source.close(); };
  }, [id]);

  const items = toItems(events);
  const act = async (fn: () => Promise<unknown>) => {
    setError(null);
    try { await fn(); } catch (err) { setError(err); }
  };
  const running = view && !isTerminal(view.status);
  const placement = view?.placement ? (JSON.parse(view.placement) as { text?: string }).text : null;
  return (
    <section class="panel" aria-label="session" data-testid="session">
      <div class="row">
        <a href="/sessions" class="tiny">← sessions</a>
        <span class="grow" />
        <span class="tiny muted">{connected ? '● live' : '○'}</span>
      </div>
      <h2 style="margin-top: 8px;">{view?.harness ?? ''} on {view?.deviceName ?? '…'} · <span data-testid="session-status">{view?.status ?? '…'}</span></h2>
      <div class="muted tiny" style="white-space: pre-wrap;">{view?.prompt}</div>
      {placement && <div class="tiny muted">placement: {placement}</div>}
      {view && <div class="tiny muted">permissions: {view.permissionMode}{view.exitCode !== null ? ` · exit ${view.exitCode}` : ''}{view.signal ? ` · ${view.signal}` : ''}</div>}
      <ErrorLine error={error} />
      <div class="stream" data-testid="stream">
        {items.map((item) => <ItemView item={item} sessionId={id} onAct={act} />)}
      </div>
      {running && (
        <form class="row" style="margin-top: 12px;" onSubmit={(e) => { e.preventDefault(); void act(async () => { await post(`/api/sessions/${id}/input`, { data: `${input}\n` }); setInput(''); }); }}>
          <input class="grow" aria-label="follow-up input" placeholder="follow-up…" value={input} onInput={(e) => setInput(e.currentTarget.value)} />
          <button type="submit" disabled={!input}>send</button>
          <button type="button" class="danger" onClick={() => void act(() => post(`/api/sessions/${id}/cancel`, {}))}>stop</button>
        </form>
      )}
      {view && !running && view.harnessSessionId && (
        <form class="row" style="margin-top: 12px;" onSubmit={(e) => { e.preventDefault(); void act(async () => {
          const next = await post<SessionView>('/api/sessions', { harness: view.harness, prompt: resumePrompt, resumeFrom: id });
          navigate(`/sessions/${next.id}`);
        }); }}>
          <input class="grow" aria-label="resume with" placeholder="continue the conversation…" value={resumePrompt} onInput={(e) => setResumePrompt(e.currentTarget.value)} />
          <button type="submit" disabled={!resumePrompt}>resume</button>
        </form>
      )}
      {pendingApprovals(items, Date.now()).length > 0 && <p class="warn tiny">waiting for your approval</p>}
    </section>
  );
}

function ItemView({ item, sessionId, onAct }: { item: Item; sessionId: string; onAct: (fn: () => Promise<unknown>) => Promise<void> }) {
  switch (item.kind) {
    case 'output':
      return <pre class={`mono-out item ${item.stream === 'stderr' ? 'warn' : ''}`}>{item.text}</pre>;
    case 'text':
      return <div class="item text mono-out">{item.text}</div>;
    case 'reasoning':
      return <details class="item"><summary>thinking</summary><div class="mono-out muted">{item.text}</div></details>;
    case 'tool':
      return (
        <details class="item tool">
          <summary>{item.name} {item.result ? (item.result.isError ? '✗' : '✓') : '…'}</summary>
          <pre class="mono-out">{typeof item.input === 'string' ? item.input : JSON.stringify(item.input, null, 2)}</pre>
          {item.result && <pre class={`mono-out ${item.result.isError ? 'bad' : 'muted'}`}>{item.result.output}</pre>}
        </details>
      );
    case 'file':
      return <div class="item tiny">{item.change} <code>{item.path}</code></div>;
    case 'approval':
      return (
        <div class="item approval" data-testid="approval">
          <div><span class="badge warn">approval</span> {item.summary}</div>
          {item.decision ? <div class={item.decision === 'allow' ? 'ok' : 'bad'}>{item.decision === 'allow' ? 'allowed' : 'denied'}</div> : (
            <div class="row" style="margin-top: 8px;">
              <button class="primary" onClick={() => void onAct(() => post(`/api/sessions/${sessionId}/approvals/${item.requestId}`, { decision: 'allow' }))}>allow</button>
              <button class="danger" onClick={() => void onAct(() => post(`/api/sessions/${sessionId}/approvals/${item.requestId}`, { decision: 'deny' }))}>deny</button>
            </div>
          )}
        </div>
      );
    case 'input':
      return <div class="item input mono-out">› {item.text}</div>;
    case 'status':
      return <div class={`item tiny ${item.error ? 'error' : 'muted'}`}>[{item.status}]{item.message ? ` ${item.message}` : ''}</div>;
    case 'exit':
      return <div class="item tiny" data-testid="exit">exit {item.code ?? item.signal ?? '?'} · {item.status}</div>;
  }
}
