import { useEffect, useState } from 'preact/hooks';
import type { VaultPersonView } from '@fabric/protocol';
import { fingerprint } from '@fabric/vault';
import { me } from '../../store.js';
import { recipientRows, type RecipientRow } from '../../model/vault-chain.js';
import { ago, countdown, entryRows, idleLeft, type EntryRow, type Screen, type VaultModel } from '../../model/vault.js';
import { AddDrawer } from './AddDrawer.js';
import { Bar, Head, Notice, ProblemBox } from './bits.js';
import {
  dispatch,
  entries,
  finishRewrap,
  hideEntry,
  lock,
  reenrolPasskey,
  revealEntry,
  revealed,
  revokeRecipient,
  stored,
  toRotate,
  verified,
} from './controller.js';
import { lastActivity } from './keys.js';

type UnlockedScreen = Extract<Screen, { kind: 'unlocked' }>;

/** The open vault: entries (reveal, add), recipients (revoke), this browser's unlock methods. */
export function Unlocked({ screen, model }: { screen: UnlockedScreen; model: VaultModel }) {
  const [drawer, setDrawer] = useState(false);
  const set = verified.value;
  const s = stored.value;
  const owner = me.value?.role === 'owner';
  if (!s) return null;
  const busy = screen.task !== null;
  return (
    <div data-testid="vault-unlocked">
      <StatusBar label={s.label} recipient={s.recipient} version={set?.version ?? null} />
      {(screen.notice || screen.problem || screen.task || toRotate.value) && (
        <div class="v-messages" aria-live="polite">
          <Notice text={screen.notice} onDismiss={() => dispatch({ type: 'dismiss' })} />
          <ProblemBox problem={screen.problem} onDismiss={() => dispatch({ type: 'dismiss' })} />
          {screen.task && (
            <div class="v-taskbox" data-testid="vault-task">
              <p class="tiny">
                {screen.task.kind === 'revoke'
                  ? `revoking ${screen.task.subject}`
                  : screen.task.kind === 'repasskey'
                    ? 'enrolling a passkey'
                    : 're-encrypting entries'}{' '}
                · {screen.task.step}
              </p>
              {screen.task.total > 0 && (
                <Bar done={screen.task.done} total={screen.task.total} label="re-encrypting entries" />
              )}
            </div>
          )}
          {toRotate.value && <RotateList who={toRotate.value.who} names={toRotate.value.names} />}
        </div>
      )}
      <div class="v-grid">
        <EntriesPanel
          rows={entryRows(entries.value, set?.version ?? 0)}
          owner={owner}
          busy={busy}
          onAdd={() => setDrawer(true)}
        />
        <div>
          {set && (
            <RecipientsPanel
              rows={recipientRows(set, s.recipient, owner)}
              version={set.version}
              entryCount={entries.value.length}
              busy={busy}
            />
          )}
          <ThisBrowserPanel model={model} busy={busy} />
        </div>
      </div>
      {drawer && <AddDrawer onClose={() => setDrawer(false)} />}
    </div>
  );
}

function StatusBar({ label, recipient, version }: { label: string; recipient: string; version: number | null }) {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(t);
  }, []);
  return (
    <section class="panel" aria-label="vault status">
      <div class="v-status">
        <span class="lamp on" aria-hidden="true" />
        <span class="state grow" data-testid="vault-state">
          UNLOCKED
        </span>
        <span class="v-countdown" title="locks itself after 15 minutes without activity">
          <span class="k">auto-lock</span> {countdown(idleLeft(lastActivity.value, now))}
        </span>
        <button type="button" class="small" onClick={lock} data-testid="vault-lock">
          lock
        </button>
      </div>
      <div class="v-meta">
        <span>
          {label}
          {version !== null ? ` · set v${version} verified` : ''}
        </span>
        <span class="fp">{fingerprint(recipient)}</span>
      </div>
    </section>
  );
}

function EntriesPanel({
  rows,
  owner,
  busy,
  onAdd,
}: {
  rows: EntryRow[];
  owner: boolean;
  busy: boolean;
  onAdd: () => void;
}) {
  const stale = rows.filter((r) => r.stale).length;
  const rotate = rows.filter((r) => r.needsRotation).length;
  return (
    <section class="panel" aria-label="entries">
      <Head
        title={
          <>
            entries <span class="count">{rows.length}</span>
          </>
        }
      >
        <button class="primary small" type="button" onClick={onAdd} disabled={busy} data-testid="vault-add">
          + add entry
        </button>
      </Head>
      {stale > 0 && (
        <div class="v-warn">
          <span class="k">not yet re-encrypted</span>
          {stale} entr{stale === 1 ? 'y is' : 'ies are'} still encrypted to an older recipient set: recipients added
          since cannot read {stale === 1 ? 'it' : 'them'}, and any removed since still could.
          {owner && (
            <div class="row" style="margin-top: 8px;">
              <button type="button" class="small" disabled={busy} onClick={() => void finishRewrap()}>
                re-encrypt now
              </button>
            </div>
          )}
        </div>
      )}
      {rotate > 0 && (
        <p class="tiny warn">
          ROTATE: a revoked recipient could read {rotate === 1 ? 'this entry' : 'these entries'}; change the credential
          at its source, then save the new value here.
        </p>
      )}
      <ul class="v-rows" data-testid="vault-entries">
        {rows.map((r) => (
          <EntryItem row={r} busy={busy} />
        ))}
      </ul>
      {rows.length === 0 && (
        <p class="muted">
          The vault is empty. Add an entry here or with <code>optimal vault add NAME</code>.
        </p>
      )}
      <p class="tiny muted" style="margin-top: 10px;">
        Sessions get entries as environment variables: <code>--credential NAME</code>.
      </p>
    </section>
  );
}

/** "bob (member)": a person as the vault names them. */
function person(p: VaultPersonView): string {
  return `${p.name ?? p.id}${p.role ? ` (${p.role})` : ''}`;
}

function EntryItem({ row, busy }: { row: EntryRow; busy: boolean }) {
  // Writer, flag and shares come with the server's view of the entry (EntryRow carries only what sorting needs).
  const view = entries.value.find((e) => e.name === row.name);
  const [loading, setLoading] = useState(false);
  const [copied, setCopied] = useState(false);
  const shown = revealed.value?.name === row.name ? revealed.value.value : null;
  const reveal = async () => {
    setLoading(true);
    await revealEntry(row.name);
    setLoading(false);
  };
  const copy = async () => {
    if (shown === null) return;
    try {
      await navigator.clipboard.writeText(shown);
      setCopied(true);
      setTimeout(() => setCopied(false), 1500);
    } catch {
      /* no clipboard permission: the value is selectable */
    }
  };
  return (
    <li data-entry={row.name}>
      <div class="v-row">
        <div class="main">
          <span class="name">{row.name}</span>
          <span class="v-flags">
            {row.needsRotation && (
              <span class="badge rotate" title="a revoked recipient could read it">
                rotate
              </span>
            )}
            {row.stale && (
              <span class="badge stale" title="encrypted to an older recipient set">
                old set
              </span>
            )}
            {view?.flagged && (
              <span class="badge flagged" title={view.flagReason ?? ''} data-testid="vault-flagged">
                not by its creator
              </span>
            )}
          </span>
          <div class="sub">
            v{row.version} · {ago(row.updatedAt, Date.now())}
            {view?.writtenBy && (
              <>
                {' '}
                · by {person(view.writtenBy)}
                {view.writtenBy.client ? ` via ${view.writtenBy.client}` : ''}
              </>
            )}
            {view && view.sharedWith.length > 0 && (
              <>
                {' '}
                · shared with {view.sharedWith.map((p) => `${p.name ?? p.id}${p.write ? ' (write)' : ''}`).join(', ')}
              </>
            )}
          </div>
          {view?.flagReason && (
            <div class="tiny warn" data-testid="vault-flag-reason">
              {view.flagReason}
            </div>
          )}
        </div>
        {shown === null ? (
          <button
            type="button"
            class="small"
            onClick={() => void reveal()}
            disabled={loading || busy}
            aria-label={`reveal ${row.name}`}
          >
            {loading ? '…' : 'reveal'}
          </button>
        ) : (
          <button type="button" class="small" onClick={hideEntry} aria-label={`hide ${row.name}`}>
            hide
          </button>
        )}
      </div>
      {shown !== null && (
        <div class="v-secret">
          <output data-testid="vault-secret" aria-label={`value of ${row.name}`}>
            {shown}
          </output>
          <div class="row tiny muted">
            <span class="grow">decrypted here · read reported to the access log · hides in a minute</span>
            {'clipboard' in navigator && (
              <button type="button" class="small" onClick={() => void copy()}>
                {copied ? 'copied' : 'copy'}
              </button>
            )}
          </div>
        </div>
      )}
    </li>
  );
}

function RecipientsPanel({
  rows,
  version,
  entryCount,
  busy,
}: {
  rows: RecipientRow[];
  version: number;
  entryCount: number;
  busy: boolean;
}) {
  const [confirming, setConfirming] = useState<string | null>(null);
  return (
    <section class="panel" aria-label="recipients">
      <Head
        title={
          <>
            recipients <span class="count">{rows.length}</span>
          </>
        }
      >
        <span class="tiny muted">set v{version}</span>
      </Head>
      <ul class="v-rows" data-testid="vault-recipients">
        {rows.map((r) => (
          <li class="v-recipient" data-recipient={r.label} data-kind={r.kind}>
            <div class="v-row">
              <span class="badge kind">{r.kind}</span>
              <div class="main">
                <span class="name">{r.label}</span>
                <span class="v-flags">
                  {r.isThisBrowser && <span class="badge me">this browser</span>}
                  {r.canSign && (
                    <span class="badge" title="can sign the next recipient set">
                      signs
                    </span>
                  )}
                </span>
                <div class="sub" title={`added ${ago(r.addedAt, Date.now())}`}>
                  <span class="fp">{r.fingerprint}</span>
                </div>
              </div>
              {r.revocable && confirming !== r.id && (
                <button
                  type="button"
                  class="danger small"
                  disabled={busy}
                  onClick={() => setConfirming(r.id)}
                  aria-label={`revoke ${r.label}`}
                >
                  revoke
                </button>
              )}
            </div>
            {confirming === r.id && (
              <div class="v-confirm" role="alertdialog" aria-label={`revoke ${r.label}`}>
                <p>
                  Revoke <strong>{r.label}</strong> (<span class="fp">{r.fingerprint}</span>)? This browser signs a new
                  recipient set without it and re-encrypts all {entryCount} entr{entryCount === 1 ? 'y' : 'ies'}; it
                  could read {entryCount === 1 ? 'it' : 'them'} until now, so {entryCount === 1 ? 'it is' : 'they are'}{' '}
                  flagged for rotation.
                </p>
                <div class="row">
                  <button
                    type="button"
                    class="danger"
                    onClick={() => {
                      setConfirming(null);
                      void revokeRecipient(r.id, r.label);
                    }}
                    data-testid="vault-revoke-confirm"
                  >
                    revoke
                  </button>
                  <button type="button" onClick={() => setConfirming(null)}>
                    cancel
                  </button>
                </div>
              </div>
            )}
          </li>
        ))}
      </ul>
      <p class="tiny muted" style="margin-top: 10px;">
        Compare fingerprints with <code>optimal vault recipients</code>. Only a recipient that can sign changes this
        list; the server cannot.
      </p>
    </section>
  );
}

function ThisBrowserPanel({ model, busy }: { model: VaultModel; busy: boolean }) {
  const s = stored.value!;
  const state = !model.hasPasskey ? 'none' : model.passkeyRefused !== null ? 'refused' : 'ok';
  return (
    <section class="panel" aria-label="this browser">
      <Head title="this browser" />
      <div class="tiny">
        <div>
          passphrase · <span class="ok">enrolled</span>
        </div>
        <div>
          passkey ·{' '}
          {state === 'ok' ? (
            <span class="ok">enrolled</span>
          ) : state === 'refused' ? (
            <span class="bad">gives a different key</span>
          ) : (
            <span class="muted">none</span>
          )}
        </div>
      </div>
      {state === 'refused' && (
        <p class="tiny warn">
          The passkey no longer opens this browser's key. Enrol it again: a new passkey wraps the same key, nothing else
          changes.
        </p>
      )}
      <div class="v-actions">
        <button
          type="button"
          class={state === 'refused' ? 'primary' : ''}
          disabled={busy}
          onClick={() => void reenrolPasskey()}
          data-testid="vault-repasskey"
        >
          {state === 'none' ? 'add a passkey' : 're-enrol the passkey'}
        </button>
      </div>
      <p class="tiny muted">
        Enrolled {ago(s.enrolledAt, Date.now())}. Keys stay in this tab's memory only and are dropped on lock, when the
        tab closes, or after 15 minutes idle.
      </p>
    </section>
  );
}

function RotateList({ who, names }: { who: string; names: string[] }) {
  if (names.length === 0) return <p class="tiny muted">{who} could read no entries: nothing to rotate.</p>;
  return (
    <div class="v-warn" data-testid="vault-rotate">
      <span class="k">rotate these at their source</span>
      {who} could read {names.length === 1 ? 'this credential' : 'these credentials'}; the copies it may have kept still
      work until they are changed:
      <ul class="v-chips">
        {names.map((n) => (
          <li>
            <code>{n}</code>
          </li>
        ))}
      </ul>
    </div>
  );
}
