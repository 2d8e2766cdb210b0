import { path } from '../router.js';
import { me } from '../store.js';

/**
 * The small "account" link for the header: who is signed in, and the way to
 * passkeys and notifications (/account). Styled inline so it needs nothing
 * from styles.css; a 44 px tap target on phones.
 */
export function AccountLink() {
  const user = me.value;
  if (!user) return null;
  const here = path.value === '/account';
  return (
    <div style="display: flex; justify-content: flex-end; padding: 0 8px; border-bottom: 1px solid var(--line);">
      <a
        href="/account"
        data-testid="account-link"
        aria-current={here ? 'page' : undefined}
        style={`display: inline-flex; align-items: center; min-height: 44px; padding: 0 4px; font-size: 12px; letter-spacing: 0.1em; text-transform: uppercase; text-decoration: none; color: ${here ? 'var(--amber)' : 'var(--amber-dim)'};`}
      >
        {user.name} · account
      </a>
    </div>
  );
}
