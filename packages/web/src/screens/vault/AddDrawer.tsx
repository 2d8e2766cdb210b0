import { useEffect, useRef, useState } from 'preact/hooks';
import type { Problem } from '../../model/vault-errors.js';
import { entryNameProblem, suggestEntryName } from '../../model/vault-names.js';
import { ProblemBox } from './bits.js';
import { entries, saveEntry, verified } from './controller.js';

/**
 * Add or replace an entry: the value is encrypted here to the verified set's
 * recipients and stored against that set's version and the entry version on
 * screen, so a concurrent change is refused (409) instead of lost.
 */
export function AddDrawer({ onClose }: { onClose: () => void }) {
  const [name, setName] = useState('');
  const [value, setValue] = useState('');
  const [show, setShow] = useState(false);
  const [touched, setTouched] = useState(false);
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<Problem | null>(null);
  const first = useRef<HTMLInputElement>(null);
  useEffect(() => {
    first.current?.focus();
    const onKey = (e: KeyboardEvent) => {
      if (e.key === 'Escape' && !busy) onClose();
    };
    addEventListener('keydown', onKey);
    return () => removeEventListener('keydown', onKey);
  }, [busy]);
  const nameProblem = entryNameProblem(name);
  const suggestion = suggestEntryName(name);
  const existing = entries.value.find((e) => e.name === name);
  const set = verified.value;
  const submit = async (e: Event) => {
    e.preventDefault();
    setTouched(true);
    if (nameProblem || value === '') return;
    setBusy(true);
    setProblem(null);
    const p = await saveEntry(name, value);
    setBusy(false);
    if (p) setProblem(p);
    else {
      setValue('');
      onClose();
    }
  };
  return (
    <>
      <div
        class="v-scrim"
        onClick={() => {
          if (!busy) onClose();
        }}
      />
      <aside class="v-drawer" role="dialog" aria-modal="true" aria-label="add an entry" data-testid="vault-drawer">
        <div class="v-head">
          <h2>{existing ? 'replace an entry' : 'add an entry'}</h2>
          <button type="button" class="small" onClick={onClose} disabled={busy}>
            close
          </button>
        </div>
        <form
          onSubmit={(e) => {
            void submit(e);
          }}
          autoComplete="off"
        >
          <label for="vault-entry-name">name (an environment variable)</label>
          <input
            id="vault-entry-name"
            ref={first}
            value={name}
            maxLength={200}
            spellcheck={false}
            autoCapitalize="characters"
            autoCorrect="off"
            onInput={(e) => setName(e.currentTarget.value)}
            onBlur={() => setTouched(true)}
            placeholder="OPENAI_API_KEY"
            aria-invalid={touched && nameProblem !== null}
            aria-describedby="vault-entry-name-hint"
          />
          <div id="vault-entry-name-hint" class={`v-field-hint ${touched && nameProblem ? 'bad' : ''}`}>
            <span>
              {touched && nameProblem
                ? nameProblem
                : existing
                  ? `replaces version ${existing.version}`
                  : 'letters, digits and _, not starting with a digit'}
            </span>
          </div>
          {touched && suggestion && (
            <button type="button" class="link v-suggest" onClick={() => setName(suggestion)}>
              → use {suggestion}
            </button>
          )}
          <label for="vault-entry-value">value</label>
          <div class="v-pass">
            <input
              id="vault-entry-value"
              type={show ? 'text' : 'password'}
              value={value}
              autoComplete="new-password"
              spellcheck={false}
              onInput={(e) => setValue(e.currentTarget.value)}
              required
            />
            <button type="button" class="small" onClick={() => setShow(!show)} aria-pressed={show}>
              {show ? 'hide' : 'show'}
            </button>
          </div>
          <div class="v-field-hint">
            <span>
              {set
                ? `encrypted in this browser to the ${set.recipients.length} recipients of set v${set.version}; the server stores ciphertext only`
                : ''}
            </span>
          </div>
          <ProblemBox problem={problem} />
          <div class="v-actions">
            <button
              class="primary"
              type="submit"
              disabled={busy || (touched && nameProblem !== null) || value === ''}
              data-testid="vault-save"
            >
              {busy ? 'encrypting…' : existing ? `replace ${name}` : 'encrypt and save'}
            </button>
            <button type="button" onClick={onClose} disabled={busy}>
              cancel
            </button>
          </div>
        </form>
      </aside>
    </>
  );
}
