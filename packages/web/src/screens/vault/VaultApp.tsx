import { useEffect } from 'preact/hooks';
import { VAULT_NOT_INITIALIZED } from '../../model/vault-errors.js';
import { Head, ProblemBox, Rich } from './bits.js';
import { load, model } from './controller.js';
import { Enrol } from './Enrol.js';
import { Unlock } from './Unlock.js';
import { Unlocked } from './Unlocked.js';
import './vault.css';

/** The Vault screen, loaded on first visit with the vault library (see ../Vault.tsx). */
export function VaultApp() {
  useEffect(() => {
    void load();
  }, []);
  const m = model.value;
  const s = m.screen;
  return (
    <div class="vault" data-testid="vault" data-state={s.kind}>
      {s.kind === 'loading' && (
        <section class="panel">
          <Head title="vault" />
          <p class="muted">verifying the recipient set…</p>
        </section>
      )}
      {s.kind === 'uninitialized' && <Uninitialized />}
      {s.kind === 'failed' && (
        <section class="panel v-narrow">
          <div class="v-status">
            <span class="lamp alert" aria-hidden="true" />
            <div class="readout">
              <span class="state">VAULT UNAVAILABLE</span>
            </div>
          </div>
          <ProblemBox problem={s.problem} />
          <button type="button" onClick={() => void load()}>
            try again
          </button>
        </section>
      )}
      {s.kind === 'enrol' && <Enrol screen={s} />}
      {s.kind === 'locked' && <Unlock screen={s} model={m} />}
      {s.kind === 'unlocked' && <Unlocked screen={s} model={m} />}
    </div>
  );
}

function Uninitialized() {
  return (
    <section class="panel v-narrow" data-testid="vault-uninitialized">
      <div class="v-status">
        <span class="lamp" aria-hidden="true" />
        <div class="readout">
          <span class="state">NO VAULT YET</span>
          <span class="meta">the server has no recipient set</span>
        </div>
      </div>
      <p class="lede">
        <Rich text={VAULT_NOT_INITIALIZED} />
      </p>
      <pre class="mono-out" style="border: 1px solid var(--line); padding: 10px; user-select: all;">
        optimal vault init
      </pre>
      <div class="v-note">
        Write the 24 words down and keep them offline: they are shown once, and they are the only way back in if every
        enrolled device and browser is lost. Add <code>--pq</code> for post-quantum recipients.
      </div>
      <button type="button" onClick={() => void load()}>
        check again
      </button>
    </section>
  );
}
