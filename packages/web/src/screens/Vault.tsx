import type { FunctionComponent } from 'preact';
import { useEffect, useState } from 'preact/hooks';

/**
 * The Vault screen. Its code and the vault's cryptography (age, scrypt,
 * Ed25519, the BIP39 word list) load on the first visit, so the cockpit's
 * first load stays small; the module is kept once loaded.
 */
let loaded: FunctionComponent | null = null;

export function VaultScreen() {
  const [Screen, setScreen] = useState<FunctionComponent | null>(() => loaded);
  const [failed, setFailed] = useState(false);
  useEffect(() => {
    if (loaded) return;
    import('./vault/VaultApp.js').then(
      (m) => {
        loaded = m.VaultApp;
        setScreen(() => m.VaultApp);
      },
      () => setFailed(true),
    );
  }, []);
  if (Screen) return <Screen />;
  return (
    <section class="panel" aria-busy={!failed}>
      <h2>vault</h2>
      {failed ? (
        <p class="bad" role="alert">
          The vault module did not load. Check your connection, then{' '}
          <a
            href="/vault"
            onClick={(e) => {
              e.preventDefault();
              location.reload();
            }}
          >
            reload
          </a>
          .
        </p>
      ) : (
        <p class="muted">loading the vault…</p>
      )}
    </section>
  );
}
