import type { Browser, BrowserContext, CDPSession, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PASSWORD, launchBrowser, openPage, screenshot, startStack, type Size, type Stack } from './harness.js';

// Passkeys in Debian's headless Chromium against `optimal up`: a CDP
// virtual authenticator (internal, resident keys, user verification) stands
// in for the phone's platform authenticator; the cockpit drives it through
// @simplewebauthn/browser exactly as with a real one. Notifications (the
// account screen's other panel) are in push.e2e.test.ts.

let stack: Stack;
let browser: Browser;

beforeAll(async () => {
  stack = await startStack();
  browser = await launchBrowser();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await stack?.stop();
});

const AUTHENTICATOR = {
  protocol: 'ctap2',
  ctap2Version: 'ctap2_1',
  transport: 'internal',
  hasResidentKey: true,
  hasUserVerification: true,
  isUserVerified: true,
} as const;

async function virtualAuthenticator(context: BrowserContext, page: Page): Promise<{ cdp: CDPSession; id: string }> {
  const cdp = await context.newCDPSession(page);
  await cdp.send('WebAuthn.enable', { enableUI: false });
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', { options: AUTHENTICATOR });
  return { cdp, id: authenticatorId };
}

/** A new person, invited by the owner from the CLI; returns the invite code. */
async function invite(): Promise<string> {
  const out = await stack.cli(['invite', '--role', 'member', '--json']);
  expect(out.code, out.stderr).toBe(0);
  return (JSON.parse(out.stdout) as { code: string }).code;
}

async function signedInScreen(page: Page): Promise<void> {
  await page.waitForSelector('text=start a session');
}

describe.each(['phone', 'desktop'] as Size[])('account and sign-in at %s size', (size) => {
  it('accepts an invite, enrols a passkey, signs out, signs back in with it, and trusts the browser for 30 days', async () => {
    const name = `grace-${size}`;
    const code = await invite();
    const { page, context, errors } = await openPage(browser, size);
    const { cdp, id: authenticatorId } = await virtualAuthenticator(context, page);

    // The sign-in screen: passkey button (this browser has WebAuthn), password form, the rule.
    await page.goto(`${stack.url}/sessions`);
    await page.waitForSelector('[data-testid=passkey-sign-in]');
    expect(await page.textContent('[data-testid=trust-rule]')).toContain('trusted for 30 days');
    await screenshot(page, `${size}-signin`);

    // The setup/invite code form makes the account and signs in (no passkey yet: the password is enough).
    await page.click('text=use a code');
    await page.fill('#code', code);
    await page.fill('#name', name);
    await page.fill('#password', PASSWORD);
    await page.click('button[type=submit]');
    await signedInScreen(page);

    // Account: add a passkey (the virtual authenticator makes a resident, user-verified credential).
    await page.goto(`${stack.url}/account`);
    await page.waitForSelector('[data-testid=no-passkeys]');
    await page.fill('#passkey-label', `${size} passkey`);
    await page.click('button:has-text("add a passkey")');
    await page.waitForSelector(`[data-testid=passkey-list] li >> text=${size} passkey`);
    const { credentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
    expect(credentials).toHaveLength(1);
    expect(credentials[0]).toMatchObject({ isResidentCredential: true, rpId: 'localhost' });
    const me = await page.evaluate(() => fetch('/api/auth/me').then((r) => r.json() as Promise<{ id: string }>));
    expect(Buffer.from(credentials[0]!.userHandle!, 'base64').toString('utf8')).toBe(me.id);
    await page.waitForSelector('[data-testid=trust] >> text=this browser is trusted until');
    await screenshot(page, `${size}-account`);

    // Sign out, then sign in with the passkey alone: no name, no password.
    await page.click('button:has-text("sign out")');
    await page.waitForSelector('[data-testid=passkey-sign-in]');
    const asserted: string[] = [];
    cdp.on('WebAuthn.credentialAsserted', (e) => asserted.push(e.credential.credentialId));
    await page.click('[data-testid=passkey-sign-in]');
    await signedInScreen(page);
    expect(asserted).toEqual([credentials[0]!.credentialId]);
    expect(
      await page.evaluate(() => fetch('/api/auth/me').then((r) => r.json() as Promise<{ name: string }>)),
    ).toMatchObject({ name });

    // The trusted-browser cookie: HttpOnly, SameSite=Strict, 30 days, only for /api/auth.
    const cookies = await context.cookies();
    const trust = cookies.find((c) => c.name === 'fabric_trust');
    expect(trust).toMatchObject({ httpOnly: true, sameSite: 'Strict', path: '/api/auth' });
    const days = (trust!.expires * 1000 - Date.now()) / 86_400_000;
    expect(days).toBeGreaterThan(29.9);
    expect(days).toBeLessThanOrEqual(30);
    expect(cookies.find((c) => c.name === 'fabric_session')).toMatchObject({ httpOnly: true, sameSite: 'Strict' });
    expect(await page.evaluate(() => document.cookie)).toBe(''); // no script sees either

    // This (trusted) browser may still use the password.
    await page.goto(`${stack.url}/account`);
    await page.click('button:has-text("sign out")');
    await page.waitForSelector('[data-testid=passkey-sign-in]');
    await page.waitForSelector('[data-testid=trust-rule] >> text=This browser is trusted until');
    await page.fill('#name', name);
    await page.fill('#password', PASSWORD);
    await page.click('button[type=submit]');
    await signedInScreen(page);
    expect(errors).toEqual([]);
    await context.close();

    // A browser that never used the passkey: the password is refused and the screen asks for the passkey.
    const other = await openPage(browser, size);
    await other.page.goto(`${stack.url}/sessions`);
    await other.page.fill('#name', name);
    await other.page.fill('#password', PASSWORD);
    await other.page.click('button[type=submit]');
    await other.page.waitForSelector('[data-testid=passkey-required]');
    expect(await other.page.textContent('[data-testid=passkey-required]')).toContain('This browser needs your passkey');
    await other.page.waitForFunction(() => document.activeElement?.getAttribute('data-testid') === 'passkey-sign-in');
    await screenshot(other.page, `${size}-signin-passkey-required`);
    expect(other.errors).toEqual([]);
    await other.context.close();
  }, 60_000);
});
