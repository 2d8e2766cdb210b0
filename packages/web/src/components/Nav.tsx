import { path } from '../router.js';
import type { Mode } from '../mode.js';

const TABS: { href: string; label: string; fabricOnly?: boolean }[] = [
  { href: '/sessions', label: 'SESSIONS' },
  { href: '/topo', label: 'TOPO' },
  { href: '/board', label: 'BOARD' },
  { href: '/vault', label: 'VAULT', fabricOnly: true },
  { href: '/devices', label: 'DEVICES' },
];

export function Nav({ mode }: { mode: Mode }) {
  const here = path.value;
  return (
    <nav class="nav" aria-label="screens">
      {TABS.filter((t) => mode === 'fabric' || !t.fabricOnly).map((t) => (
        <a
          href={t.href}
          class={here === t.href || here.startsWith(`${t.href}/`) ? 'active' : ''}
          aria-current={here.startsWith(t.href) ? 'page' : undefined}
        >
          {t.label}
        </a>
      ))}
    </nav>
  );
}
