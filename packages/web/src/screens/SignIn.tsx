import { useState } from 'preact/hooks';
import { post } from '../api.js';
import { ErrorLine } from '../components/ErrorLine.js';
import { loadMe } from '../store.js';

/**
 * Sign in with a name and password, or finish the owner setup / accept an
 * invite with a code (`/setup`). The session is an HttpOnly cookie the page
 * never sees.
 */
export function SignIn({ setup }: { setup: boolean }) {
  const [name, setName] = useState('');
  const [password, setPassword] = useState('');
  const [code, setCode] = useState('');
  const [withCode, setWithCode] = useState(setup);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      if (withCode) await post('/api/auth/redeem', { code, name, password, client: 'browser' });
      else await post('/api/auth/login', { name, password, client: 'browser' });
      await loadMe();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <main class="panel" style="max-width: 420px; margin: 48px auto;">
      <h2>FABRIC · {withCode ? 'set up / accept invite' : 'sign in'}</h2>
      <form onSubmit={submit}>
        {withCode && (<>
          <label for="code">setup or invite code</label>
          <input id="code" name="code" autoComplete="one-time-code" value={code} onInput={(e) => setCode(e.currentTarget.value)} required />
        </>)}
        <label for="name">name</label>
        <input id="name" name="username" autoComplete="username" value={name} onInput={(e) => setName(e.currentTarget.value)} required />
        <label for="password">{withCode ? 'choose a password' : 'password'}</label>
        <input id="password" type="password" name="password" autoComplete={withCode ? 'new-password' : 'current-password'} value={password} onInput={(e) => setPassword(e.currentTarget.value)} required minLength={withCode ? 8 : 1} />
        <ErrorLine error={error} />
        <div class="row" style="margin-top: 12px;">
          <button class="primary grow" type="submit" disabled={busy}>{withCode ? 'create account' : 'sign in'}</button>
        </div>
      </form>
      <p class="tiny muted">
        {withCode ? 'have an account? ' : 'first time, or invited? '}
        <a href="#" onClick={(e) => { e.preventDefault(); setWithCode(!withCode); }}>{withCode ? 'sign in' : 'use a code'}</a>
      </p>
    </main>
  );
}
