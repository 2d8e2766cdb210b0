import { useState } from 'preact/hooks';
import { MAX_LEDGER_PAGE, type CodeResponse, type DeviceView } from '@fabric/protocol';
import { api } from '../api.js';
import { ErrorLine } from '../components/ErrorLine.js';
import { shortCount } from '../model/fuel.js';
import { devices, me, refreshDevices } from '../store.js';
import type { Mode } from '../mode.js';
import { visible } from '../model/text.js';
import { checkDeviceLedger, ledgerLine } from '../model/ledger.js';

const GiB = 1024 ** 3;

export function DevicesScreen({ mode }: { mode: Mode }) {
  const [error, setError] = useState<unknown>(null);
  const [pairing, setPairing] = useState<CodeResponse | null>(null);
  const owner = me.value?.role === 'owner';
  const act = async (fn: () => Promise<unknown>) => {
    setError(null);
    try {
      await fn();
      await refreshDevices();
    } catch (err) {
      setError(err);
    }
  };
  return (
    <div>
      {mode === 'fabric' && (
        <section class="panel" aria-label="pair a device">
          <h2>pair a device</h2>
          <p class="tiny muted">Make a single-use pairing token (10 minutes) and run on the device:</p>
          <button onClick={() => void act(async () => setPairing(await api.createPairingToken()))}>
            new pairing token
          </button>
          {pairing && (
            <div style="margin-top: 8px;" data-testid="pairing">
              <pre class="mono-out tiny" style="user-select: all;">
                optimal pair --server {location.origin} --token {pairing.code}
              </pre>
              <div class="tiny muted">valid until {new Date(pairing.expiresAt).toLocaleTimeString()}</div>
            </div>
          )}
        </section>
      )}
      <section class="panel" aria-label="devices">
        <h2>devices</h2>
        <ErrorLine error={error} />
        <ul class="list" data-testid="device-list">
          {devices.value.map((d) => (
            <DeviceRow d={d} owner={owner} mine={d.ownerId === me.value?.id} act={act} />
          ))}
        </ul>
        {devices.value.length === 0 && <p class="muted">no devices yet</p>}
      </section>
    </div>
  );
}

/**
 * One device. Who may do what is the server's policy; the page only hides
 * what would be refused: owners manage and share every device, a member
 * manages (rename, drain, revoke) the devices they paired.
 */
function DeviceRow({
  d,
  owner,
  mine,
  act,
}: {
  d: DeviceView;
  owner: boolean;
  mine: boolean;
  act: (fn: () => Promise<unknown>) => Promise<void>;
}) {
  const c = d.capabilities;
  const state = d.revoked ? 'revoked' : !d.online ? 'offline' : d.draining ? 'draining' : 'online';
  return (
    <li data-device={d.name}>
      <div class="row">
        <strong class="grow">{visible(d.name)}</strong>
        <span class={`badge ${state === 'online' ? 'ok' : state === 'revoked' ? 'bad' : 'warn'}`}>{state}</span>
      </div>
      {c && (
        <div class="tiny muted">
          RAM {(c.ramFree / GiB).toFixed(1)}/{(c.ramTotal / GiB).toFixed(1)} GiB · load {c.load[0].toFixed(2)} ·{' '}
          {c.cpus} cpu · {d.runningSessions} running · {c.harnesses.map((h) => h.name).join(' ')}
        </div>
      )}
      {c && (
        <div class={`tiny ${c.isolation === 'none' ? 'warn' : 'muted'}`} data-isolation={c.isolation}>
          {c.isolation === 'none' ? 'isolation: none — install bubblewrap' : 'isolation: bwrap'}
        </div>
      )}
      {d.ownerName !== undefined && (
        <div class="tiny muted" data-testid="device-access">
          paired by {visible(d.ownerName ?? 'a removed account')}
          {(d.sharedWith ?? []).length > 0 && (
            <> · shared with {(d.sharedWith ?? []).map((n) => visible(n)).join(', ')}</>
          )}
        </div>
      )}
      {owner && !d.revoked && (
        <div class="row" style="margin-top: 6px;" aria-label={`sharing of ${d.name}`}>
          <button
            onClick={() => {
              const user = prompt(`share ${d.name} with (account name)`);
              if (user) void act(() => api.shareDevice({ params: { id: d.id }, body: { user } }));
            }}
          >
            share
          </button>
          {(d.sharedWith ?? []).map((n) => (
            <button
              data-unshare={n}
              onClick={() => void act(() => api.unshareDevice({ params: { id: d.id, user: n } }))}
            >
              unshare {visible(n)}
            </button>
          ))}
        </div>
      )}
      {(owner || mine) && !d.revoked && (
        <div class="row" style="margin-top: 6px;">
          <button
            onClick={() => {
              const name = prompt('new name', d.name);
              if (name) void act(() => api.updateDevice({ params: { id: d.id }, body: { name } }));
            }}
          >
            rename
          </button>
          <button
            onClick={() => void act(() => api.updateDevice({ params: { id: d.id }, body: { draining: !d.draining } }))}
          >
            {d.draining ? 'undrain' : 'drain'}
          </button>
          <button
            class="danger"
            onClick={() => {
              if (confirm(`revoke ${d.name}? It is disconnected at once.`))
                void act(() => api.revokeDevice({ params: { id: d.id } }));
            }}
          >
            revoke
          </button>
        </div>
      )}
      {owner && <LedgerCheck id={d.id} name={d.name} />}
      <div class="tiny muted">{shortCount(d.runningSessions)} session(s)</div>
    </li>
  );
}

/**
 * The device's signed ledger checkpoints, fetched from the control plane and
 * verified here: a store that was tampered with shows as the checkpoint
 * that fails. Owners only (the route is theirs).
 */
function LedgerCheck({ id, name }: { id: string; name: string }) {
  const [line, setLine] = useState<{ text: string; ok: boolean } | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const check = async () => {
    setBusy(true);
    setError(null);
    try {
      const verdict = await checkDeviceLedger((afterSeq) =>
        api.deviceLedger({ params: { id }, query: { afterSeq, limit: MAX_LEDGER_PAGE } }),
      );
      setLine({ text: ledgerLine(verdict, (ms) => new Date(ms).toLocaleString()), ok: verdict.ok });
    } catch (err) {
      setLine(null);
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <div style="margin-top: 6px;" aria-label={`ledger of ${name}`}>
      <button disabled={busy} onClick={() => void check()}>
        {busy ? 'checking…' : 'check ledger'}
      </button>
      <ErrorLine error={error} />
      {line && (
        <div class={`tiny ${line.ok ? 'muted' : 'warn'}`} data-testid="ledger-check" data-ok={String(line.ok)}>
          {line.text}
        </div>
      )}
    </div>
  );
}
