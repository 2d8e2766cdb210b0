import { useState } from 'preact/hooks';
import { harnessNames, type HarnessName, type PermissionMode } from '@fabric/protocol';
import { api } from '../api.js';
import { ErrorLine } from '../components/ErrorLine.js';
import { navigate } from '../router.js';
import { devices, refreshSessions, sessions } from '../store.js';
import { parseLabels } from './labels.js';
import { SessionScreen } from './Session.js';
import { Dictate } from './session/Dictate.js';
import { visible } from '../model/text.js';

const STATUS_CLASS: Record<string, string> = {
  succeeded: 'ok',
  failed: 'bad',
  refused: 'bad',
  lost: 'warn',
  cancelled: 'muted',
  queued: 'warn',
};

export function StartForm() {
  const online = devices.value.filter((d) => d.online && !d.revoked);
  const installed = new Set(online.flatMap((d) => d.capabilities?.harnesses.map((h) => h.name) ?? []));
  const [harness, setHarness] = useState<HarnessName>('shell');
  const [device, setDevice] = useState('');
  const [labels, setLabels] = useState('');
  const [prompt, setPrompt] = useState('');
  const [mode, setMode] = useState<PermissionMode>('ask');
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    const parsed = parseLabels(labels);
    if (!parsed) {
      setError(new Error('labels look like key=value, key=value'));
      return;
    }
    setBusy(true);
    setError(null);
    try {
      const view = await api.createSession({
        body: {
          harness,
          prompt,
          permissionMode: mode,
          ...(device ? { deviceId: device } : {}),
          ...(Object.keys(parsed).length ? { labels: parsed } : {}),
        },
      });
      setPrompt('');
      await refreshSessions();
      navigate(`/sessions/${view.id}`);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <section class="panel" aria-label="start a session">
      <h2>start a session</h2>
      <form
        onSubmit={(e) => {
          void submit(e);
        }}
      >
        <div class="row">
          <div class="grow">
            <label for="harness">harness</label>
            <select id="harness" value={harness} onChange={(e) => setHarness(e.currentTarget.value as HarnessName)}>
              {harnessNames.map((h) => (
                <option value={h} disabled={!installed.has(h)}>
                  {h}
                  {installed.has(h) ? '' : ' (not installed)'}
                </option>
              ))}
            </select>
          </div>
          <div class="grow">
            <label for="device">device</label>
            <select id="device" value={device} onChange={(e) => setDevice(e.currentTarget.value)}>
              <option value="">best available</option>
              {online.map((d) => (
                <option value={d.id}>{visible(d.name)}</option>
              ))}
            </select>
          </div>
        </div>
        <div class="prompt-label">
          <label for="prompt">{harness === 'shell' ? 'command (one allowlisted program, no shell)' : 'prompt'}</label>
          <Dictate value={prompt} onChange={setPrompt} />
        </div>
        <textarea
          id="prompt"
          value={prompt}
          onInput={(e) => setPrompt(e.currentTarget.value)}
          required
          placeholder={harness === 'shell' ? 'echo hello' : 'what should the agent do?'}
        />
        <div class="row">
          <div class="grow">
            <label for="labels">labels</label>
            <input id="labels" value={labels} onInput={(e) => setLabels(e.currentTarget.value)} placeholder="gpu=yes" />
          </div>
          <div class="grow">
            <label for="mode">permissions</label>
            <select id="mode" value={mode} onChange={(e) => setMode(e.currentTarget.value as PermissionMode)}>
              <option value="ask">ask me</option>
              <option value="auto-edit">auto-edit files</option>
              <option value="full">full (never ask)</option>
            </select>
          </div>
        </div>
        <ErrorLine error={error} />
        <div class="row" style="margin-top: 12px;">
          <button class="primary grow" type="submit" disabled={busy}>
            launch
          </button>
        </div>
      </form>
    </section>
  );
}

export function SessionList() {
  const list = sessions.value;
  return (
    <section class="panel" aria-label="sessions">
      <h2>sessions</h2>
      {list.length === 0 ? (
        <p class="muted">no sessions yet</p>
      ) : (
        <ul class="list" data-testid="session-list">
          {list.map((s) => (
            <li>
              <a href={`/sessions/${s.id}`} style="text-decoration: none; display: block;">
                <div class="row">
                  <span class={`badge ${STATUS_CLASS[s.status] ?? ''}`}>{s.status}</span>
                  <span class="muted tiny">
                    {s.harness} · {s.deviceName === null ? 'unplaced' : visible(s.deviceName)}
                  </span>
                </div>
                <div style="white-space: nowrap; overflow: hidden; text-overflow: ellipsis;">{visible(s.prompt)}</div>
              </a>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

/** Phone: one panel at a time. Desk: the list and the selected session side by side. */
export function SessionsScreen({ id }: { id: string | null }) {
  return (
    <div class="two-screen">
      <div class={id ? 'hide-on-phone' : ''}>
        <StartForm />
        <SessionList />
      </div>
      {id ? <SessionScreen key={id} id={id} /> : null}
    </div>
  );
}
