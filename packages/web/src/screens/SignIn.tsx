import { useEffect, useRef, useState } from 'preact/hooks';
import { api, ApiError } from '../api.js';
import { passkeysSupported, signInWithPasskey, trustState, type TrustState } from '../account/passkeys.js';
import { ErrorLine } from '../components/ErrorLine.js';
import { loadMe } from '../store.js';

/**
 * Sign in with a passkey (no name needed), with a name and password, or
 * finish the owner setup / accept an invite with a code (`/setup`). The
 * session is an HttpOnly cookie the page never sees.
 *
 * The rule shown here and enforced by the server: once an account has a
 * passkey, a browser may use the password only within 30 days of its last
 * passkey sign-in; otherwise the server answers `passkey_required` and this
 * screen asks for the passkey.
 */
export function SignIn({ setup }: { setup: boolean }) {
  const [name, setName] = useState('');
  const [password, setPassword] = useState('');
  const [code, setCode] = useState('');
  const [withCode, setWithCode] = useState(setup);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const [needPasskey, setNeedPasskey] = useState(false);
  const [trust, setTrust] = useState<TrustState | null>(null);
  const passkeyButton = useRef<HTMLButtonElement>(null);
  const canPasskey = passkeysSupported();

  useEffect(() => {
    trustState().then(setTrust, () => setTrust(null));
  }, []);

  const run = async (work: () => Promise<unknown>) => {
    setBusy(true);
    setError(null);
    try {
      await work();
      await loadMe();
    } catch (err) {
      if (err instanceof ApiError && err.code === 'passkey_required') {
        setNeedPasskey(true);
        setTimeout(() => passkeyButton.current?.focus(), 0);
      }
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  const submit = (e: Event) => {
    e.preventDefault();
    void run(() =>
      withCode
        ? api.redeem({ body: { code, name, password, client: 'browser' } })
        : api.login({ body: { name, password, client: 'browser' } }),
    );
  };

  return (
    <main class="panel" style="max-width: 420px; margin: 48px auto;">
      <h2>FABRIC · {withCode ? 'set up / accept invite' : 'sign in'}</h2>

      {!withCode && needPasskey && (
        <div
          class="warn"
          role="alert"
          data-testid="passkey-required"
          style="border: 1px solid var(--warn); padding: 8px; margin: 8px 0;"
        >
          {canPasskey
            ? 'This browser needs your passkey: it is new here, or 30 days have passed since it last used one. Sign in with the passkey below.'
            : 'This browser needs your passkey, but it cannot use passkeys here (it needs https or http://localhost). Sign in from a browser where your passkey works, or with "optimal login" in a terminal.'}
        </div>
      )}

      {!withCode && canPasskey && (
        <div style="margin: 8px 0 4px;">
          <button
            ref={passkeyButton}
            type="button"
            class={needPasskey ? 'primary' : ''}
            style="width: 100%;"
            data-testid="passkey-sign-in"
            disabled={busy}
            onClick={() => void run(signInWithPasskey)}
          >
            sign in with a passkey
          </button>
        </div>
      )}

      <form onSubmit={submit} aria-label={withCode ? 'set up with a code' : 'sign in with a password'}>
        {withCode && (
          <>
            <label for="code">setup or invite code</label>
            <input
              id="code"
              name="code"
              autoComplete="one-time-code"
              value={code}
              onInput={(e) => setCode(e.currentTarget.value)}
              required
            />
          </>
        )}
        <label for="name">name</label>
        <input
          id="name"
          name="username"
          autoComplete="username"
          value={name}
          onInput={(e) => setName(e.currentTarget.value)}
          required
        />
        <label for="password">{withCode ? 'choose a password' : 'password'}</label>
        <input
          id="password"
          type="password"
          name="password"
          autoComplete={withCode ? 'new-password' : 'current-password'}
          value={password}
          onInput={(e) => setPassword(e.currentTarget.value)}
          required
          minLength={withCode ? 8 : 1}
        />
        {!(needPasskey && error instanceof ApiError && error.code === 'passkey_required') && (
          <ErrorLine error={error} />
        )}
        <div class="row" style="margin-top: 12px;">
          <button class={needPasskey && canPasskey ? 'grow' : 'primary grow'} type="submit" disabled={busy}>
            {withCode ? 'create account' : 'sign in with password'}
          </button>
        </div>
      </form>

      {!withCode && (
        <p class="tiny muted" data-testid="trust-rule">
          A browser that signs in with a passkey is trusted for 30 days: the password works there until then. After 30
          days, or on a new browser, sign in with your passkey. Accounts without a passkey use the password.
          {trust?.trusted && trust.expiresAt ? (
            <>
              {' '}
              <span class="ok">This browser is trusted until {new Date(trust.expiresAt).toLocaleDateString()}.</span>
            </>
          ) : null}
        </p>
      )}
      <p class="tiny muted">
        {withCode ? 'have an account? ' : 'first time, or invited? '}
        <a
          href="#"
          onClick={(e) => {
            e.preventDefault();
            setWithCode(!withCode);
            setError(null);
            setNeedPasskey(false);
          }}
        >
          {withCode ? 'sign in' : 'use a code'}
        </a>
      </p>
    </main>
  );
}
