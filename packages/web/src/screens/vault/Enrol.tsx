import { useEffect, useState } from 'preact/hooks';
import { me } from '../../store.js';
import { recipientRows } from '../../model/vault-chain.js';
import { checklist, defaultBrowserLabel, phraseWordCount, type Screen } from '../../model/vault.js';
import { Bar, Head, ProblemBox } from './bits.js';
import { dispatch, forgetThisBrowser, phraseCheck, submitEnrol, submitPhrase } from './controller.js';

type EnrolScreen = Extract<Screen, { kind: 'enrol' }>;

const TITLES: Record<EnrolScreen['why'], string> = {
  new: 'enrol this browser',
  recover: 'recover with the phrase',
  revoked: 'this browser was revoked',
  'other-vault': 'a different vault',
};

/**
 * Enrolment, which is also recovery on a new browser: prove the recovery
 * phrase, check the set's chain and its fingerprints, choose a passphrase
 * and a passkey, and watch the steps run.
 */
export function Enrol({ screen }: { screen: EnrolScreen }) {
  // The phrase lives in this component only, until the enrolment is done.
  const [phrase, setPhrase] = useState('');
  const owner = me.value?.role === 'owner';
  useEffect(() => {
    window.scrollTo(0, 0);
  }, [screen.step]);
  return (
    <div data-testid="vault-enrol" data-step={screen.step}>
      <section class="panel">
        <div class="v-status">
          <span class={`lamp ${screen.why === 'new' || screen.why === 'recover' ? '' : 'alert'}`} aria-hidden="true" />
          <div class="readout">
            <span class="state">{TITLES[screen.why].toUpperCase()}</span>
            <span class="meta">
              step {screen.step === 'phrase' ? 1 : screen.step === 'setup' ? 2 : 3} of 3 · all of it in this browser
            </span>
          </div>
        </div>
        <Why why={screen.why} />
        {!owner && (
          <div class="v-warn">
            <span class="k">owners only</span>Enrolling a browser changes who can decrypt the vault, so it needs an
            owner's account.
          </div>
        )}
      </section>
      {screen.step === 'phrase' && (
        <div class="v-grid">
          <PhraseStep phrase={phrase} setPhrase={setPhrase} problem={screen.problem} />
          <Plan />
        </div>
      )}
      {screen.step === 'setup' && <SetupStep phrase={phrase} problem={screen.problem} done={() => setPhrase('')} />}
      {screen.step === 'working' && (
        <div class="v-grid">
          <Working screen={screen} />
          <Plan />
        </div>
      )}
    </div>
  );
}

function Why({ why }: { why: EnrolScreen['why'] }) {
  if (why === 'revoked') {
    return (
      <p class="lede">
        Another enrolled client removed this browser from the vault's recipients, so it can no longer decrypt anything.
        If that was you on purpose, there is nothing to do; to use the vault here again, enrol it with the recovery
        phrase.
      </p>
    );
  }
  if (why === 'other-vault') {
    return (
      <>
        <p class="lede">
          This browser was enrolled in another vault; the server now holds a different one (it was reset, or this is
          another server). Nothing of the old one is used. Enrol with the new vault's recovery phrase.
        </p>
        <button class="link" type="button" onClick={() => void forgetThisBrowser()}>
          forget the old enrolment
        </button>
      </>
    );
  }
  return (
    <p class="lede">
      {why === 'recover' ? 'Lost the passphrase and the passkey? ' : ''}
      The recovery phrase makes this browser a recipient of the vault: it signs the new recipient set and re-encrypts
      every entry so this browser can read them. The server stores only ciphertext and keys wrapped by your passphrase
      and passkey.
    </p>
  );
}

/** What enrolling does, step by step, and what never leaves the page. */
function Plan() {
  return (
    <section class="panel" aria-label="what enrolling does">
      <Head title="what happens" />
      <ol class="v-plan">
        <li>The phrase is checked here; its words never leave this page.</li>
        <li>Every recipient set since v1 is verified, and you compare the fingerprints.</li>
        <li>This browser gets its own key and signing key, wrapped by your passphrase and a passkey.</li>
        <li>Only the wrapped keys are stored on the server.</li>
        <li>The phrase's signing key signs the next recipient set, adding this browser.</li>
        <li>Every entry is re-encrypted so this browser can read it.</li>
      </ol>
      <p class="tiny muted">
        The server never sees the phrase, the passphrase, the passkey's output or any unwrapped key.
      </p>
    </section>
  );
}

function PhraseStep({
  phrase,
  setPhrase,
  problem,
}: {
  phrase: string;
  setPhrase: (s: string) => void;
  problem: EnrolScreen['problem'];
}) {
  const [busy, setBusy] = useState(false);
  const words = phraseWordCount(phrase);
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    await submitPhrase(phrase);
    setBusy(false);
  };
  return (
    <section class="panel" aria-label="recovery phrase">
      <Head title="1 · recovery phrase" />
      <div class="v-note">
        <strong>Where is it?</strong> <code>optimal vault init</code> printed 24 words once, when the vault was created,
        and asked you to write them down. Nobody else has them: not the server, not Fabric. Without the sheet, ask
        whoever ran <code>vault init</code>.
      </div>
      <form
        onSubmit={(e) => {
          void submit(e);
        }}
      >
        <label for="vault-phrase">the 24 words, in order</label>
        <textarea
          id="vault-phrase"
          class="v-phrase"
          value={phrase}
          onInput={(e) => setPhrase(e.currentTarget.value)}
          autoComplete="off"
          autoCapitalize="none"
          autoCorrect="off"
          spellcheck={false}
          rows={4}
          data-testid="vault-phrase"
          placeholder="word1 word2 word3 …"
          aria-describedby="vault-phrase-count"
        />
        <div class="v-field-hint" id="vault-phrase-count">
          <span>
            <strong class={words === 24 ? 'ok' : ''}>{words}/24</strong> words · spaces or new lines between them; case
            does not matter
          </span>
        </div>
        <ProblemBox problem={problem} />
        <div class="v-actions">
          <button class="primary" type="submit" disabled={busy || words === 0}>
            {busy ? 'checking the vault…' : 'verify phrase'}
          </button>
        </div>
      </form>
    </section>
  );
}

function SetupStep({ phrase, problem, done }: { phrase: string; problem: EnrolScreen['problem']; done: () => void }) {
  const check = phraseCheck.value;
  const [label, setLabel] = useState(() => defaultBrowserLabel(navigator.userAgent));
  const [passphrase, setPassphrase] = useState('');
  const [confirm, setConfirm] = useState('');
  const [withPasskey, setWithPasskey] = useState(typeof PublicKeyCredential !== 'undefined');
  const [busy, setBusy] = useState(false);
  if (!check) return null;
  const rows = recipientRows(check.set, null, false);
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    if (await submitEnrol({ phrase, passphrase, confirm, label, withPasskey })) done();
    setBusy(false);
  };
  const first = check.checked[0];
  const last = check.checked[check.checked.length - 1];
  return (
    <div class="v-grid">
      <section class="panel" aria-label="verified recipient set" data-testid="vault-chain">
        <Head title="2 · who can decrypt the vault">
          <span class="badge ok">verified</span>
        </Head>
        <p class="tiny muted">
          Vault <code>{check.set.vaultId}</code> · recipient set v{check.set.version}
          {check.checked.length === 1
            ? ` · signature checked (v${first})`
            : check.checked.length > 1
              ? ` · signatures checked v${first}→v${last}`
              : ''}
          {check.firstContact ? ' · trust on first use' : " · from this browser's last check"}
        </p>
        <ul class="v-rows">
          {rows.map((r) => (
            <li class="v-row v-recipient" data-recipient={r.label}>
              <span class="badge kind">{r.kind}</span>
              <div class="main">
                <span class="name">{r.label}</span>
                {r.canSign && (
                  <span class="v-flags">
                    <span class="badge" title="can sign the next recipient set">
                      signs
                    </span>
                  </span>
                )}
                <div class="sub">
                  <span class="fp">{r.fingerprint}</span>
                </div>
              </div>
            </li>
          ))}
        </ul>
        {check.firstContact && (
          <div class="v-note">
            <strong>Compare the fingerprints</strong> with <code>optimal vault recipients</code> on a machine you trust.
            They match unless the server showed this browser a forged vault, which is the one thing a first contact
            cannot check by itself.
          </div>
        )}
      </section>
      <section class="panel" aria-label="unlock methods">
        <Head title="3 · how this browser unlocks" />
        <form
          onSubmit={(e) => {
            void submit(e);
          }}
        >
          <label for="vault-label">name for this browser</label>
          <input
            id="vault-label"
            value={label}
            maxLength={128}
            onInput={(e) => setLabel(e.currentTarget.value)}
            autoComplete="off"
          />
          <label for="vault-passphrase">vault passphrase for this browser</label>
          <input
            id="vault-passphrase"
            type="password"
            autoComplete="new-password"
            value={passphrase}
            onInput={(e) => setPassphrase(e.currentTarget.value)}
            minLength={8}
            required
          />
          <label for="vault-passphrase2">the same passphrase again</label>
          <input
            id="vault-passphrase2"
            type="password"
            autoComplete="new-password"
            value={confirm}
            onInput={(e) => setConfirm(e.currentTarget.value)}
            required
          />
          <div class="v-field-hint">
            <span>
              at least 8 characters · not your sign-in password · it opens this browser's key when a passkey cannot
            </span>
          </div>
          <label class="v-check">
            <input
              type="checkbox"
              checked={withPasskey}
              onChange={(e) => setWithPasskey(e.currentTarget.checked)}
              data-testid="vault-with-passkey"
            />
            also unlock with a passkey (one prompt, recommended)
          </label>
          <ProblemBox problem={problem} />
          <div class="v-actions">
            <button class="primary" type="submit" disabled={busy} data-testid="vault-enrol-submit">
              {withPasskey ? 'create passkey and enrol' : 'enrol with the passphrase'}
            </button>
            <button type="button" onClick={() => dispatch({ type: 'enrol_back' })} disabled={busy}>
              back
            </button>
          </div>
        </form>
      </section>
    </div>
  );
}

function Working({ screen }: { screen: EnrolScreen }) {
  const p = screen.progress;
  const steps = checklist(p);
  return (
    <section class="panel" aria-label="enrolling" aria-live="polite" data-testid="vault-progress">
      <Head title="enrolling" />
      <ul class="v-steps">
        {steps.map((s) => (
          <li class={s.state}>
            <span class="mark">
              {s.state === 'done'
                ? '[ OK ]'
                : s.state === 'active'
                  ? '[ >> ]'
                  : s.state === 'skipped'
                    ? '[ -- ]'
                    : '[    ]'}
            </span>
            <span>{s.label}</span>
            {s.detail && <span class="detail">{s.detail}</span>}
          </li>
        ))}
      </ul>
      {p?.step === 'passkey' && <p class="tiny">Follow your browser's passkey prompt.</p>}
      {p?.step === 'wrap' && <p class="tiny muted">Deriving the passphrase key takes a few seconds on purpose.</p>}
      {p?.step === 'rewrap' && <Bar done={p.done} total={p.total} label="re-encrypting entries" />}
    </section>
  );
}
