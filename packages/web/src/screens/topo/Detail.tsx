import type { JSX } from 'preact';
import type { DeviceView, SessionView } from '@fabric/protocol';
import { statusTone } from '../../model/board.js';
import { FLYING, glowFor } from '../../model/topo.js';
import type { Selection } from './TopoMap.js';
import { visible, visibleBlock } from '../../model/text.js';

const GiB = 1024 ** 3;
const gib = (n: number) => (n / GiB).toFixed(1);

/** What a tap on the map opens: a device, a session (ship) or a credential (depot). */
export function Detail({
  selected,
  devices,
  sessions,
  onSelect,
}: {
  selected: NonNullable<Selection>;
  devices: readonly DeviceView[];
  sessions: readonly SessionView[];
  onSelect: (s: Selection) => void;
}) {
  const close = (
    <button type="button" class="icon close" aria-label="close detail" onClick={() => onSelect(null)}>
      ✕
    </button>
  );
  if (selected.kind === 'device') {
    const d = devices.find((x) => x.id === selected.id);
    if (!d) return <Gone what="device" close={close} />;
    return (
      <DeviceDetail d={d} sessions={sessions.filter((s) => s.deviceId === d.id)} close={close} onSelect={onSelect} />
    );
  }
  if (selected.kind === 'ship') {
    const s = sessions.find((x) => x.id === selected.id);
    if (!s) return <Gone what="session" close={close} />;
    return <ShipDetail s={s} close={close} onSelect={onSelect} />;
  }
  const using = sessions.filter((s) => FLYING.includes(s.status) && s.credentials.includes(selected.id));
  return (
    <section class="panel topo-detail" aria-label={`fuel depot ${selected.id}`} data-testid="topo-detail">
      <div class="detail-head">
        <span class="kicker">fuel depot</span>
        {close}
      </div>
      <h3>{selected.id}</h3>
      <p class="tiny muted">
        A vault entry, injected into a session's environment on its device. The server never sees it in the clear.
      </p>
      <div class="kicker">feeding {using.length} ship(s)</div>
      <SessionLinks list={using} onSelect={onSelect} />
    </section>
  );
}

function Gone({ what, close }: { what: string; close: JSX.Element }) {
  return (
    <section class="panel topo-detail" data-testid="topo-detail">
      <div class="detail-head">
        <span class="kicker">{what}</span>
        {close}
      </div>
      <p class="muted">this {what} is no longer on the map</p>
    </section>
  );
}

function DeviceDetail({
  d,
  sessions,
  close,
  onSelect,
}: {
  d: DeviceView;
  sessions: SessionView[];
  close: JSX.Element;
  onSelect: (s: Selection) => void;
}) {
  const c = d.capabilities;
  const state = d.revoked ? 'revoked' : !d.online ? 'offline' : d.draining ? 'draining' : 'online';
  const used = c && c.ramTotal > 0 ? 1 - c.ramFree / c.ramTotal : 0;
  const flying = sessions.filter((s) => FLYING.includes(s.status));
  return (
    <section
      class="panel topo-detail"
      aria-label={`device ${d.name}`}
      data-testid="topo-detail"
      data-device-detail={d.id}
    >
      <div class="detail-head">
        <span class="kicker">planet · device</span>
        {close}
      </div>
      <h3 class="row">
        <span class="grow">{visible(d.name)}</span>
        <span class={`badge ${state === 'online' ? 'ok' : state === 'revoked' ? 'bad' : 'warn'}`}>{state}</span>
      </h3>
      {c ? (
        <dl class="readouts">
          <div class="wide">
            <dt>ram</dt>
            <dd>
              {gib(c.ramTotal - c.ramFree)} / {gib(c.ramTotal)} GiB <span class="muted">({gib(c.ramFree)} free)</span>
            </dd>
            <div class="bar" aria-hidden="true">
              <i style={{ width: `${Math.round(used * 100)}%` }} />
            </div>
          </div>
          <div class="wide">
            <dt>load 1 · 5 · 15 min</dt>
            <dd>
              {c.load.map((l) => l.toFixed(2)).join(' · ')} <span class="muted">on {c.cpus} cpu</span>
            </dd>
            <div class="bar" aria-hidden="true">
              <i style={{ width: `${Math.round(glowFor(d) * 100)}%` }} />
            </div>
          </div>
          <div>
            <dt>system</dt>
            <dd>
              {c.platform}/{c.arch}
            </dd>
          </div>
          <div>
            <dt>daemon</dt>
            <dd>{c.daemonVersion}</dd>
          </div>
          <div class="wide">
            <dt>harnesses</dt>
            <dd class="chips">
              {c.harnesses.map((h) => (
                <span class="chip">
                  {h.name}
                  {h.version ? <span class="muted"> {h.version.split(' ')[0]}</span> : null}
                </span>
              ))}
            </dd>
          </div>
          {Object.keys(c.labels).length > 0 && (
            <div class="wide">
              <dt>labels</dt>
              <dd class="chips">
                {Object.entries(c.labels).map(([k, v]) => (
                  <span class="chip">
                    {k}={v}
                  </span>
                ))}
              </dd>
            </div>
          )}
        </dl>
      ) : (
        <p class="muted tiny">no health report yet</p>
      )}
      {!d.online && d.lastSeenAt && <p class="tiny muted">last seen {new Date(d.lastSeenAt).toLocaleString()}</p>}
      <div class="kicker">running sessions · {flying.length}</div>
      <SessionLinks list={flying} onSelect={onSelect} />
    </section>
  );
}

function ShipDetail({ s, close, onSelect }: { s: SessionView; close: JSX.Element; onSelect: (s: Selection) => void }) {
  const since = s.startedAt ?? s.createdAt;
  return (
    <section class="panel topo-detail" aria-label={`session ${s.id}`} data-testid="topo-detail" data-ship-detail={s.id}>
      <div class="detail-head">
        <span class="kicker">ship · session</span>
        {close}
      </div>
      <h3 class="row">
        <span class="grow mono-id">{s.id}</span>
        <span class={`badge ${statusTone(s.status)}`}>{s.status}</span>
      </h3>
      <pre class="mono-out prompt">{visibleBlock(s.prompt)}</pre>
      <dl class="readouts">
        <div>
          <dt>harness</dt>
          <dd>{s.harness}</dd>
        </div>
        <div>
          <dt>orbiting</dt>
          <dd>
            {s.deviceId ? (
              <button type="button" class="linkish" onClick={() => onSelect({ kind: 'device', id: s.deviceId! })}>
                {visible(s.deviceName ?? s.deviceId)}
              </button>
            ) : (
              'no device'
            )}
          </dd>
        </div>
        <div>
          <dt>since</dt>
          <dd>{new Date(since).toLocaleTimeString()}</dd>
        </div>
        <div>
          <dt>permissions</dt>
          <dd>{s.permissionMode}</dd>
        </div>
        {s.pendingApprovals > 0 && (
          <div class="wide">
            <dt>waiting on you</dt>
            <dd class="warn">{s.pendingApprovals} approval(s)</dd>
          </div>
        )}
        {s.credentials.length > 0 && (
          <div class="wide">
            <dt>fuel</dt>
            <dd class="chips">
              {s.credentials.map((n) => (
                <button type="button" class="chip linkish" onClick={() => onSelect({ kind: 'depot', id: n })}>
                  ◆ {n}
                </button>
              ))}
            </dd>
          </div>
        )}
      </dl>
      <a class="open-session" href={`/sessions/${s.id}`}>
        open session →
      </a>
    </section>
  );
}

function SessionLinks({ list, onSelect }: { list: SessionView[]; onSelect: (s: Selection) => void }) {
  if (list.length === 0) return <p class="tiny muted">none</p>;
  return (
    <ul class="list ship-list">
      {list.map((s) => (
        <li class="row">
          <span class={`badge ${statusTone(s.status)}`}>{s.status}</span>
          <button type="button" class="linkish grow" onClick={() => onSelect({ kind: 'ship', id: s.id })}>
            {visible(s.prompt)}
          </button>
          <a href={`/sessions/${s.id}`} class="tiny" aria-label={`open session ${s.id}`}>
            open →
          </a>
        </li>
      ))}
    </ul>
  );
}
