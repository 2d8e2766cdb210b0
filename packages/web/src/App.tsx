import { useEffect } from 'preact/hooks';
import { FuelMeter } from './components/FuelMeter.js';
import { Nav } from './components/Nav.js';
import { currentMode } from './mode.js';
import { match, navigate, onLinkClick, path } from './router.js';
import { DevicesScreen } from './screens/Devices.js';
import { AccountLink } from './account/AccountLink.js';
import { AccountScreen } from './screens/Account.js';
import { BoardScreen } from './screens/Board.js';
import { SessionsScreen } from './screens/Sessions.js';
import { TopoScreen } from './screens/Topo.js';
import { VaultScreen } from './screens/Vault.js';
import { SignIn } from './screens/SignIn.js';
import { connectFleet, live, loadMe, me } from './store.js';

const mode = currentMode();

export function App() {
  useEffect(() => {
    void loadMe();
  }, []);
  useEffect(() => (me.value ? connectFleet() : undefined), [Boolean(me.value)]);
  const p = path.value;
  if (me.value === undefined) return <p class="panel muted">connecting…</p>;
  if (me.value === null) return <SignIn setup={p === '/setup'} />;
  if (p === '/' || p === '/setup') {
    navigate('/sessions', true);
    return null;
  }
  const session = match('/sessions/:id', p);
  let screen;
  if (p === '/sessions' || session) screen = <SessionsScreen id={session?.id ?? null} />;
  else if (p === '/devices') screen = <DevicesScreen mode={mode} />;
  else if (p === '/topo') screen = <TopoScreen />;
  else if (p === '/board') screen = <BoardScreen />;
  else if (p === '/vault' && mode === 'fabric') screen = <VaultScreen />;
  else if (p === '/account') screen = <AccountScreen mode={mode} />;
  else
    screen = (
      <section class="panel">
        <h2>not found</h2>
        <a href="/sessions">sessions</a>
      </section>
    );
  return (
    <div class="shell-wrap" onClick={onLinkClick} data-mode={mode} data-live={live.value}>
      {mode === 'fabric' && <FuelMeter />}
      <AccountLink />
      <div class="shell">
        <Nav mode={mode} />
        <main class="content">{screen}</main>
      </div>
    </div>
  );
}
