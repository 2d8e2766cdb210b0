import { useState } from 'preact/hooks';
import { fingerprint } from '@fabric/vault';
import { passkeyOffered, type Screen, type VaultModel } from '../../model/vault.js';
import { Head, ProblemBox, Rich } from './bits.js';
import { dispatch, stored, unlock, verified } from './controller.js';

type LockedScreen = Extract<Screen, { kind: 'locked' }>;

const REASONS: Record<LockedScreen['reason'], string> = {
  fresh: 'keys are kept in memory only, so every new page starts locked',
  user: 'locked: the keys were dropped from memory',
  idle: 'locked after 15 minutes without activity',
  hidden: 'locked when the page was left',
};

/**
 * Unlock with the passkey (one prompt) or the passphrase. A passkey that
 * gives no or a different key is refused with the reason, the passphrase is
 * offered, and nothing stored is touched.
 */
export function Unlock({ screen, model }: { screen: LockedScreen; model: VaultModel }) {
  const [passphrase, setPassphrase] = useState('');
  const s = stored.value;
  if (!s) return null;
  const offered = passkeyOffered(model);
  const refused = model.passkeyRefused;
  const busy = screen.busy;
  const submit = async (e: Event) => {
    e.preventDefault();
    await unlock('passphrase', passphrase);
    setPassphrase('');
  };
  // Why the passkey was refused stays up, above the passphrase, for as long as it is refused.
  const problem = screen.problem === refused ? null : screen.problem;
  return (
    <div data-testid="vault-locked">
      <section class="panel">
        <div class="v-status">
          <span class="lamp locked" aria-hidden="true" />
          <span class="state grow" data-testid="vault-state">
            LOCKED
          </span>
        </div>
        <div class="v-meta">
          <span>{REASONS[screen.reason]}</span>
          <span>
            {s.label}
            {verified.value ? ` · set v${verified.value.version} verified` : ''} ·{' '}
            <span class="fp">{fingerprint(s.recipient)}</span>
          </span>
        </div>
      </section>
      <div class="v-grid">
        <section class="panel" aria-label="unlock">
          <Head title="unlock" />
          {refused && (
            <div class="v-warn" role="alert" data-testid="vault-passkey-refused" data-code={refused.code}>
              <span class="k">passkey refused</span>
              <Rich text={refused.text} />
            </div>
          )}
          {offered && (
            <div class="v-actions" style="margin-top: 0;">
              <button
                class="primary"
                type="button"
                disabled={busy !== null}
                onClick={() => void unlock('passkey')}
                data-testid="vault-unlock-passkey"
              >
                {busy === 'passkey' ? 'waiting for the passkey…' : 'unlock with passkey'}
              </button>
            </div>
          )}
          {offered && <div class="v-or">OR</div>}
          <form
            onSubmit={(e) => {
              void submit(e);
            }}
          >
            <label for="vault-unlock-passphrase">vault passphrase</label>
            <div class="v-pass">
              <input
                id="vault-unlock-passphrase"
                type="password"
                autoComplete="current-password"
                value={passphrase}
                onInput={(e) => setPassphrase(e.currentTarget.value)}
                required
                disabled={busy !== null}
              />
              <button
                class={offered ? '' : 'primary'}
                type="submit"
                disabled={busy !== null || passphrase === ''}
                data-testid="vault-unlock-passphrase"
              >
                {busy === 'passphrase' ? 'opening…' : 'unlock'}
              </button>
            </div>
          </form>
          <ProblemBox problem={problem} onDismiss={() => dispatch({ type: 'dismiss' })} />
          {!s.passkey && <p class="tiny muted">No passkey is enrolled here; add one once unlocked.</p>}
        </section>
        <section class="panel" aria-label="recovery">
          <Head title="lost the passphrase and the passkey?" />
          <p class="tiny muted">
            The recovery phrase (the 24 words <code>optimal vault init</code> printed) enrols this browser again: a new
            key, passphrase and passkey replace the old ones.
          </p>
          <button type="button" onClick={() => dispatch({ type: 'recover' })} data-testid="vault-recover">
            use the recovery phrase
          </button>
        </section>
      </div>
    </div>
  );
}
