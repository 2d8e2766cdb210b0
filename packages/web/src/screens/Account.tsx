import { useEffect, useState } from 'preact/hooks';
import { api } from '../api.js';
import {
  addPasskey,
  listPasskeys,
  passkeysSupported,
  removePasskey,
  trustState,
  type PasskeyView,
  type TrustState,
} from '../account/passkeys.js';
import { disablePush, enablePush, pushState, type PushState } from '../account/push.js';
import { ErrorLine } from '../components/ErrorLine.js';
import type { Mode } from '../mode.js';
import { navigate } from '../router.js';
import { me } from '../store.js';

/** Account and settings: who is signed in, passkeys, this browser's trust, and notifications. */
export function AccountScreen({ mode }: { mode: Mode }) {
  const user = me.value;
  const signOut = async () => {
    await api.logout().catch(() => {});
    navigate('/', true);
    me.value = null;
  };
  return (
    <div class="two-screen">
      <div>
        <section class="panel" aria-label="account">
          <h2>account</h2>
          {user && (
            <p style="margin: 0 0 8px;">
              <strong data-testid="account-name">{user.name}</strong> <span class="badge">{user.role}</span>
              <br />
              <span class="tiny muted">
                signed in on this browser until {new Date(user.expiresAt).toLocaleString()}
              </span>
            </p>
          )}
          <button type="button" onClick={() => void signOut()}>
            sign out
          </button>
        </section>
        <PasskeysPanel />
      </div>
      <NotificationsPanel mode={mode} />
    </div>
  );
}

function PasskeysPanel() {
  const [passkeys, setPasskeys] = useState<PasskeyView[] | null>(null);
  const [trust, setTrust] = useState<TrustState | null>(null);
  const [label, setLabel] = useState(defaultLabel());
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const refresh = async () => {
    const [list, t] = await Promise.all([listPasskeys(), trustState()]);
    setPasskeys(list);
    setTrust(t);
  };
  useEffect(() => {
    refresh().catch(setError);
  }, []);
  const act = async (fn: () => Promise<unknown>) => {
    setBusy(true);
    setError(null);
    try {
      await fn();
      await refresh();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  const supported = passkeysSupported();
  return (
    <section class="panel" aria-label="passkeys">
      <h2>passkeys</h2>
      <p class="tiny muted" style="margin-top: 0;">
        A passkey signs you in without a name or password. A browser that signs in with one (or adds one) is trusted for
        30 days: your password works there until then. After that, or on a new browser, use the passkey again.
      </p>
      {trust && (
        <p class="tiny" data-testid="trust">
          {trust.trusted && trust.expiresAt ? (
            <span class="ok">this browser is trusted until {new Date(trust.expiresAt).toLocaleDateString()}</span>
          ) : (
            <span class="muted">this browser is not trusted yet</span>
          )}
        </p>
      )}
      {passkeys?.length === 0 && (
        <p class="tiny muted" data-testid="no-passkeys">
          no passkeys yet: add one to sign in with it
        </p>
      )}
      <ul class="list" data-testid="passkey-list">
        {passkeys?.map((p) => (
          <li data-passkey={p.id}>
            <div class="row">
              <strong class="grow">{p.label}</strong>
              {p.backedUp && <span class="badge">synced</span>}
              <button
                type="button"
                class="danger"
                disabled={busy}
                onClick={() => {
                  if (confirm(`remove the passkey "${p.label}"?`)) void act(() => removePasskey(p.id));
                }}
              >
                remove
              </button>
            </div>
            <div class="tiny muted">
              added {new Date(p.createdAt).toLocaleDateString()} ·{' '}
              {p.lastUsedAt ? `last used ${new Date(p.lastUsedAt).toLocaleString()}` : 'not used yet'}
            </div>
          </li>
        ))}
      </ul>
      {supported ? (
        <form
          onSubmit={(e) => {
            e.preventDefault();
            void act(async () => {
              await addPasskey(label);
              setLabel(defaultLabel());
            });
          }}
        >
          <label for="passkey-label">name for the new passkey</label>
          <input id="passkey-label" value={label} maxLength={64} onInput={(e) => setLabel(e.currentTarget.value)} />
          <div class="row" style="margin-top: 8px;">
            <button class="primary grow" type="submit" disabled={busy}>
              add a passkey
            </button>
          </div>
        </form>
      ) : (
        <p class="tiny warn">
          this browser cannot make passkeys here (it needs https or http://localhost, and WebAuthn)
        </p>
      )}
      <ErrorLine error={error} />
    </section>
  );
}

function NotificationsPanel({ mode }: { mode: Mode }) {
  const [state, setState] = useState<PushState | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [step, setStep] = useState<string | null>(null);
  useEffect(() => {
    pushState().then(setState, setError);
  }, []);
  const act = async (fn: () => Promise<void>, doing: string) => {
    setBusy(true);
    setError(null);
    setStep(doing);
    try {
      await fn();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
      setStep(null);
      setState(await pushState().catch(() => null));
    }
  };
  return (
    <section class="panel" aria-label="notifications">
      <h2>notifications</h2>
      <p class="tiny muted" style="margin-top: 0;">
        Opt in per browser: a notification when a session finishes or fails, or when one asks for your approval.
      </p>
      {mode === 'local' ? (
        <p class="tiny muted">notifications come from the fabric (cloud) control plane; this one runs in local mode</p>
      ) : !state ? null : state.kind === 'unsupported' ? (
        <p class="tiny warn" data-testid="push-state">
          {state.why}
        </p>
      ) : state.kind === 'blocked' ? (
        <p class="tiny warn" data-testid="push-state">
          notifications are blocked for this site; allow them in the browser's site settings, then come back
        </p>
      ) : state.kind === 'on' ? (
        <div>
          <p class="tiny ok" data-testid="push-state">
            on for this browser (via {state.endpointOrigin})
          </p>
          <button type="button" disabled={busy} onClick={() => void act(disablePush, 'turning off…')}>
            turn off notifications
          </button>
        </div>
      ) : (
        <div>
          <p class="tiny muted" data-testid="push-state">
            off for this browser
          </p>
          <button
            type="button"
            class="primary"
            disabled={busy}
            onClick={() => void act(enablePush, 'asking the browser…')}
          >
            turn on notifications
          </button>
        </div>
      )}
      {step && (
        <p class="tiny muted" role="status">
          {step}
        </p>
      )}
      <ErrorLine error={error} />
    </section>
  );
}

/** A starting name for a new passkey: the platform this browser says it runs on. */
function defaultLabel(): string {
  const platform =
    (navigator as { userAgentData?: { platform?: string } }).userAgentData?.platform ||
    // eslint-disable-next-line @typescript-eslint/no-deprecated -- the fallback for browsers without User-Agent Client Hints
    navigator.platform ||
    'this device';
  return `passkey on ${platform}`.slice(0, 64);
}
