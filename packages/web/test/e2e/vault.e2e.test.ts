import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, BrowserContext, CDPSession, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validatePhrase } from '@fabric/vault';
import {
  RESULTS,
  SIZES,
  launchBrowser,
  openPage,
  screenshot,
  signIn,
  startStack,
  type Size,
  type Stack,
} from './harness.js';

/**
 * The cockpit's Vault screen in headless Chromium against a real control
 * plane and device: the vault is made with the CLI (`optimal vault init`),
 * then each browser (phone size, then desktop size, each its own profile)
 * enrols with the recovery phrase, a passphrase and a passkey on a CDP
 * virtual authenticator with PRF, reads and writes entries the CLI reads
 * back, locks and unlocks both ways, meets the changed-passkey path, and
 * revokes the other browser. Everything the pages send is recorded: no
 * secret, phrase or unwrapped key ever reaches the server.
 *
 * The tests of one size build on each other (as a person would go through
 * the screen); the sizes run in order on one vault.
 */

const CLI_PASSPHRASE = 'cli vault passphrase, long enough';
const BROWSER_PASSPHRASE: Record<Size, string> = {
  phone: 'phone passphrase: amber lamps',
  desktop: 'desktop passphrase: black panel',
};
const OPENAI = 'sk-proj-7f3a9c2e1b4d6f8a0c2e4b6d8f1a3c5e';
const ADDED: Record<Size, { name: string; value: string }> = {
  phone: { name: 'PHONE_TOKEN', value: 'ghp_phoneZx81Qw72Er63Ty54Ui45Op36As27' },
  desktop: { name: 'DESKTOP_TOKEN', value: 'ghp_deskZx81Qw72Er63Ty54Ui45Op36As27Df' },
};
const label = (size: Size) => `e2e ${size}`;

const AUTHENTICATOR = {
  protocol: 'ctap2',
  ctap2Version: 'ctap2_1',
  transport: 'internal',
  hasResidentKey: true,
  hasUserVerification: true,
  isUserVerified: true,
  hasPrf: true,
} as const;

interface Tab {
  context: BrowserContext;
  page: Page;
  cdp: CDPSession;
  authenticatorId: string;
  /** "METHOD path body" of every request the page sent to the control plane. */
  sent: string[];
  errors: string[];
}

let stack: Stack;
let browser: Browser;
let phrase = '';
const tabs: Partial<Record<Size, Tab>> = {};

beforeAll(async () => {
  stack = await startStack({ env: { OPTIMAL_VAULT_PASSPHRASE: CLI_PASSPHRASE } });
  browser = await launchBrowser();
}, 90_000);

afterAll(async () => {
  for (const t of Object.values(tabs)) await t?.context.close().catch(() => {});
  await browser?.close();
  await stack?.stop();
});

async function cliJson<T>(args: string[]): Promise<T> {
  const r = await stack.cli([...args, '--json']);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as T;
}

interface Recipients {
  version: number;
  recipients: { id: string; kind: string; label: string; fingerprint: string }[];
}

/** A phrase of real words whose checksum fails: two words swapped. */
function swappedPhrase(): string {
  const words = phrase.split(' ');
  for (let i = 1; i < words.length; i++) {
    if (words[i] === words[0]) continue;
    const w = [...words];
    [w[0], w[i]] = [w[i]!, w[0]!];
    try {
      validatePhrase(w.join(' '));
    } catch (err) {
      if ((err as { code?: string }).code === 'phrase_checksum') return w.join(' ');
    }
  }
  throw new Error('no swap broke the checksum');
}

async function openTab(size: Size): Promise<Tab> {
  const { context, page, errors } = await openPage(browser, size);
  const sent: string[] = [];
  page.on('request', (r) => {
    const url = new URL(r.url());
    if (url.pathname.startsWith('/api/')) sent.push(`${r.method()} ${url.pathname}${url.search} ${r.postData() ?? ''}`);
  });
  const cdp = await context.newCDPSession(page);
  await cdp.send('WebAuthn.enable', { enableUI: false });
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', { options: AUTHENTICATOR });
  return { context, page, cdp, authenticatorId, sent, errors };
}

async function problemText(page: Page): Promise<string> {
  await page.waitForSelector('[data-testid=vault-problem]');
  return (await page.textContent('[data-testid=vault-problem]')) ?? '';
}

async function lock(page: Page): Promise<void> {
  await page.click('[data-testid=vault-lock]');
  await page.waitForSelector('[data-testid=vault-locked]');
}

async function unlockWithPassphrase(page: Page, passphrase: string): Promise<void> {
  await page.fill('#vault-unlock-passphrase', passphrase);
  await page.click('[data-testid=vault-unlock-passphrase]');
}

/** Every secret this run handled; none may appear in anything a page sent or stored. */
function secrets(): string[] {
  return [
    OPENAI,
    ADDED.phone.value,
    ADDED.desktop.value,
    BROWSER_PASSPHRASE.phone,
    BROWSER_PASSPHRASE.desktop,
    CLI_PASSPHRASE,
    phrase,
    phrase.split(' ').slice(0, 3).join(' '),
    'AGE-SECRET-KEY',
    'FABRIC-SIGNER-SECRET-KEY',
  ];
}

describe('before the vault exists', () => {
  it('explains `optimal vault init`; the CLI then creates the vault and prints the phrase once', async () => {
    const { context, page, errors } = await openPage(browser, 'phone');
    try {
      await signIn(page, stack.url);
      await page.click('nav >> text=VAULT');
      await page.waitForSelector('[data-testid=vault-uninitialized]');
      expect(await page.textContent('[data-testid=vault-uninitialized]')).toContain('optimal vault init');
      await screenshot(page, 'phone-vault-uninitialized');
      expect(errors).toEqual([]);
    } finally {
      await context.close();
    }
    const init = await stack.cli(['vault', 'init']);
    expect(init.code, init.stderr).toBe(0);
    phrase = [...init.stdout.matchAll(/\d+\. ([a-z]+)/g)].map((m) => m[1]).join(' ');
    expect(phrase.split(' ')).toHaveLength(24);
    const added = await stack.cli(['vault', 'add', 'OPENAI_API_KEY'], OPENAI);
    expect(added.code, added.stderr).toBe(0);
  }, 60_000);
});

describe.each(['phone', 'desktop'] as Size[])('the vault screen at %s size', (size) => {
  it('enrols this browser with the recovery phrase, a passphrase and a passkey', async () => {
    const tab = (tabs[size] = await openTab(size));
    const { page } = tab;
    await signIn(page, stack.url);
    await page.click('nav >> text=VAULT');
    await page.waitForSelector('[data-testid=vault-enrol][data-step=phrase]');
    expect(await page.textContent('[data-testid=vault-enrol]')).toContain('optimal vault init');

    // A misspelled word is found by its position, a swapped pair by the checksum.
    const typo = phrase.split(' ');
    typo[4] = `${typo[4]}x`;
    await page.fill('#vault-phrase', typo.join(' '));
    await page.click('button:has-text("verify phrase")');
    expect(await problemText(page)).toContain('Word 5 is not a recovery word; check its spelling.');
    await page.fill('#vault-phrase', swappedPhrase());
    await page.click('button:has-text("verify phrase")');
    await page.waitForSelector('[data-testid=vault-problem][data-code=phrase_checksum]');
    expect(await problemText(page)).toContain('one is wrong or two are swapped');
    await screenshot(page, `${size}-vault-phrase`);

    // The right phrase: the chain is verified from version 1 and shown with fingerprints.
    await page.fill('#vault-phrase', phrase.toUpperCase().replace(/ /g, '  \n'));
    await page.click('button:has-text("verify phrase")');
    await page.waitForSelector('[data-testid=vault-chain]');
    const chain = (await page.textContent('[data-testid=vault-chain]')) ?? '';
    const before = await cliJson<Recipients>(['vault', 'recipients']);
    for (const r of before.recipients) expect(chain).toContain(r.fingerprint);
    expect(chain).toContain(`recipient set v${before.version}`);
    expect(chain).toMatch(/signatures? checked (\(v1\)|v1→v\d)/);
    await screenshot(page, `${size}-vault-enrol`);

    await page.fill('#vault-label', label(size));
    await page.fill('#vault-passphrase', BROWSER_PASSPHRASE[size]);
    await page.fill('#vault-passphrase2', `${BROWSER_PASSPHRASE[size]}!`);
    await page.click('[data-testid=vault-enrol-submit]');
    expect(await problemText(page)).toContain('The two passphrases differ');
    await page.fill('#vault-passphrase2', BROWSER_PASSPHRASE[size]);
    // On the desktop the first rewrap request is lost on the way: the browser is enrolled anyway and finishes it on request.
    let rewraps = 0;
    if (size === 'desktop')
      await page.route('**/api/vault/rewrap', (route) => (rewraps++ === 0 ? route.abort() : route.continue()));
    await page.click('[data-testid=vault-enrol-submit]');
    await page.waitForSelector('[data-testid=vault-progress]');
    await page.waitForSelector('[data-testid=vault-unlocked]', { timeout: 60_000 });
    expect(await page.textContent('[data-testid=vault-state]')).toBe('UNLOCKED');
    if (size === 'desktop') {
      expect(await problemText(page)).toContain('This browser is enrolled, but re-encrypting the entries stopped');
      await page.waitForSelector('[data-entry=OPENAI_API_KEY] .badge.stale');
      await screenshot(page, 'desktop-vault-rewrap-stopped');
      await page.click('button:has-text("re-encrypt now")');
      await page.waitForSelector(
        '[data-testid=vault-notice] >> text=Every entry is encrypted to the current recipient set',
      );
      await page.unroute('**/api/vault/rewrap');
      expect(rewraps).toBe(2);
      // Nobody was removed, so nothing is flagged for rotation.
      expect(await page.locator('[data-testid=vault-entries] .badge.stale').count()).toBe(0);
      expect(await page.locator('[data-testid=vault-entries] .badge.rotate').count()).toBe(0);
    }

    // The CLI verifies the set this browser signed (with the recovery signer) and lists it, same fingerprint.
    const after = await cliJson<Recipients>(['vault', 'recipients']);
    expect(after.version).toBe(before.version + 1);
    const me = after.recipients.find((r) => r.label === label(size));
    expect(me).toMatchObject({ kind: 'browser' });
    const row = page.locator(`[data-testid=vault-recipients] [data-recipient="${label(size)}"]`);
    expect(await row.locator('.fp').textContent()).toBe(me!.fingerprint);
    expect(await row.textContent()).toContain('this browser');

    // The wrapped material and the set went to the server; the phrase, passphrase and keys did not.
    const enrolled = tab.sent.find((s) => s.startsWith('POST /api/vault/identities '))!;
    const body = JSON.parse(enrolled.slice(enrolled.indexOf(' {') + 1)) as Record<string, unknown>;
    expect(body).toMatchObject({ id: me!.id, kind: 'browser', label: label(size) });
    for (const k of ['wrappedByPassphrase', 'wrappedByPasskey', 'canary'])
      expect(body[k]).toMatch(/^-----BEGIN AGE ENCRYPTED FILE-----/);
    expect(body.prfSalt).toMatch(/^[\w-]{43}$/);
    expect(body.credentialId).toMatch(/^[\w-]+$/);
    expect(tab.sent.some((s) => s.startsWith('PUT /api/vault/set '))).toBe(true);
    expect(tab.sent.some((s) => s.startsWith('POST /api/vault/rewrap '))).toBe(true);
  }, 120_000);

  it('lists entries, reveals a value, and adds one in the drawer that the CLI reads back', async () => {
    const { page } = tabs[size]!;
    await page.waitForSelector('[data-testid=vault-entries] [data-entry=OPENAI_API_KEY]');
    await screenshot(page, `${size}-vault`);

    await page.click('[data-entry=OPENAI_API_KEY] >> button:has-text("reveal")');
    await page.waitForSelector('[data-testid=vault-secret]');
    expect(await page.textContent('[data-testid=vault-secret]')).toBe(OPENAI);
    await screenshot(page, `${size}-vault-reveal`);
    await page.click('[data-entry=OPENAI_API_KEY] >> button:has-text("hide")');
    expect(await page.isVisible('[data-testid=vault-secret]')).toBe(false);
    // The read happened here, so the page reported it: the server logged it as told.
    const log = await cliJson<{ action: string; entry: string | null; detail: string | null }[]>(['vault', 'log']);
    expect(
      log.some(
        (l) => l.action === 'entry.read' && l.entry === 'OPENAI_API_KEY' && l.detail === 'reported by the client',
      ),
    ).toBe(true);

    // The drawer: the name is checked as an environment variable name.
    const { name, value } = ADDED[size];
    await page.click('[data-testid=vault-add]');
    await page.waitForSelector('[data-testid=vault-drawer]');
    await page.fill('#vault-entry-name', `${name.toLowerCase().replace('_', '-')}`);
    await page.fill('#vault-entry-value', value);
    await page.click('#vault-entry-value');
    expect(await page.textContent('#vault-entry-name-hint')).toContain('"-" at position');
    await screenshot(page, `${size}-vault-add`);
    await page.click(`.v-suggest >> text=use ${name}`);
    expect(await page.inputValue('#vault-entry-name')).toBe(name);
    await page.click('[data-testid=vault-save]');
    await page.waitForSelector('[data-testid=vault-drawer]', { state: 'detached' });
    await page.waitForSelector(`[data-testid=vault-entries] [data-entry=${name}]`);
    await page.waitForSelector(`[data-testid=vault-notice] >> text=${name} saved (version 1`);
    // The row names who wrote the value and through which client.
    expect(await page.textContent(`[data-entry=${name}] .sub`)).toContain('by ada (owner) via browser');
    const got = await stack.cli(['vault', 'get', name]);
    expect(got.code, got.stderr).toBe(0);
    expect(got.stdout).toBe(value);

    // A write against a version this page has not seen is refused (409) and explained; the retry works.
    const race = `${size.toUpperCase()}_RACE`;
    expect((await stack.cli(['vault', 'add', race], 'written by the cli')).code).toBe(0);
    await page.click('[data-testid=vault-add]');
    await page.fill('#vault-entry-name', race);
    await page.fill('#vault-entry-value', 'written by the browser');
    await page.click('[data-testid=vault-save]');
    await page.waitForSelector('[data-testid=vault-drawer] [data-testid=vault-problem][data-code=conflict]');
    expect(await page.textContent('[data-testid=vault-drawer]')).toContain(`Not saved: ${race} was changed elsewhere`);
    await screenshot(page, `${size}-vault-409`);
    await page.waitForSelector(`#vault-entry-name-hint >> text=replaces version 1`);
    await page.click('[data-testid=vault-save]');
    await page.waitForSelector('[data-testid=vault-drawer]', { state: 'detached' });
    expect((await stack.cli(['vault', 'get', race])).stdout).toBe('written by the browser');
  }, 90_000);

  it('locks, unlocks with the passkey, refuses a wrong passphrase and opens with the right one', async () => {
    const { page } = tabs[size]!;
    await lock(page);
    expect(await page.textContent('[data-testid=vault-state]')).toBe('LOCKED');
    expect(await page.isVisible('[data-testid=vault-secret]')).toBe(false);
    await screenshot(page, `${size}-vault-locked`);

    await unlockWithPassphrase(page, 'not the passphrase');
    expect(await problemText(page)).toContain('Wrong passphrase');
    await unlockWithPassphrase(page, BROWSER_PASSPHRASE[size]);
    await page.waitForSelector('[data-testid=vault-unlocked]', { timeout: 30_000 });

    await lock(page);
    await page.click('[data-testid=vault-unlock-passkey]');
    await page.waitForSelector('[data-testid=vault-unlocked]', { timeout: 30_000 });
    await page.click('[data-entry=OPENAI_API_KEY] >> button:has-text("reveal")');
    expect(await page.textContent('[data-testid=vault-secret]')).toBe(OPENAI);
  }, 90_000);

  it('refuses a passkey moved to a new authenticator with the reason, the passphrase still opens, and the passkey can be re-enrolled', async () => {
    const tab = tabs[size]!;
    const { page, cdp } = tab;
    await lock(page);

    // The same credential on a fresh authenticator signs, but gives no PRF output.
    const { credentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId: tab.authenticatorId });
    expect(credentials).toHaveLength(1);
    const credential = credentials[0]!;
    await cdp.send('WebAuthn.removeVirtualAuthenticator', { authenticatorId: tab.authenticatorId });
    tab.authenticatorId = (
      await cdp.send('WebAuthn.addVirtualAuthenticator', { options: AUTHENTICATOR })
    ).authenticatorId;
    await cdp.send('WebAuthn.addCredential', {
      authenticatorId: tab.authenticatorId,
      credential: {
        credentialId: credential.credentialId,
        isResidentCredential: credential.isResidentCredential,
        rpId: credential.rpId!,
        privateKey: credential.privateKey,
        userHandle: credential.userHandle!,
        signCount: credential.signCount,
      },
    });

    const vaultWrites = () => tab.sent.filter((s) => s.includes(' /api/vault/') && !s.startsWith('GET ')).length;
    const writesBefore = vaultWrites();
    await page.click('[data-testid=vault-unlock-passkey]');
    await page.waitForSelector('[data-testid=vault-passkey-refused]');
    const refused = (await page.textContent('[data-testid=vault-passkey-refused]')) ?? '';
    expect(refused).toContain(
      'This passkey now gives a different key — this happens after restoring it to a new device or with some Safari versions',
    );
    expect(refused).toContain('Unlock with your passphrase, then re-enrol the passkey');
    expect(refused).toContain('Nothing was changed');
    // The passkey is not offered again on this page; the passphrase is.
    expect(await page.isVisible('[data-testid=vault-unlock-passkey]')).toBe(false);
    expect(await page.isVisible('#vault-unlock-passphrase')).toBe(true);
    await screenshot(page, `${size}-vault-canary`);
    // Nothing was written: only the unlock material was read.
    expect(vaultWrites()).toBe(writesBefore);

    await unlockWithPassphrase(page, BROWSER_PASSPHRASE[size]);
    await page.waitForSelector('[data-testid=vault-unlocked]', { timeout: 30_000 });
    expect(await page.textContent('[aria-label="this browser"]')).toContain('gives a different key');

    // Re-enrol: a new passkey (on the new authenticator) wraps the same keys; it unlocks again.
    await page.click('[data-testid=vault-repasskey]');
    await page.waitForSelector('[data-testid=vault-notice] >> text=Passkey enrolled');
    await lock(page);
    await page.click('[data-testid=vault-unlock-passkey]');
    await page.waitForSelector('[data-testid=vault-unlocked]', { timeout: 30_000 });
    await page.click('[data-entry=OPENAI_API_KEY] >> button:has-text("reveal")');
    expect(await page.textContent('[data-testid=vault-secret]')).toBe(OPENAI);
    expect(tab.errors).toEqual([]);
  }, 90_000);
});

describe('between browsers', () => {
  it('the CLI verifies every set the browsers signed, and an owner revokes a browser from another', async () => {
    const before = await cliJson<Recipients>(['vault', 'recipients']);
    expect(
      before.recipients
        .filter((r) => r.kind === 'browser')
        .map((r) => r.label)
        .sort(),
    ).toEqual([label('desktop'), label('phone')]);

    const { page } = tabs.desktop!;
    const phoneRow = page.locator(`[data-testid=vault-recipients] [data-recipient="${label('phone')}"]`);
    await phoneRow.locator('button:has-text("revoke")').click();
    await page.click('[data-testid=vault-revoke-confirm]');
    await page.waitForSelector('[data-testid=vault-rotate]', { timeout: 60_000 });
    const rotate = (await page.textContent('[data-testid=vault-rotate]')) ?? '';
    const names = ['OPENAI_API_KEY', 'PHONE_TOKEN', 'DESKTOP_TOKEN', 'PHONE_RACE', 'DESKTOP_RACE'];
    for (const n of names) expect(rotate).toContain(n);
    await page.waitForSelector(`[data-testid=vault-recipients] [data-recipient="${label('phone')}"]`, {
      state: 'detached',
    });
    await screenshot(page, 'desktop-vault-revoked');

    // The CLI verifies the set the desktop browser signed; the phone is gone and every entry is flagged.
    const after = await cliJson<Recipients>(['vault', 'recipients']);
    expect(after.version).toBe(before.version + 1);
    expect(after.recipients.map((r) => r.label)).not.toContain(label('phone'));
    const listed = await cliJson<{ name: string; needsRotation: boolean }[]>(['vault', 'ls']);
    expect(
      listed
        .filter((e) => e.needsRotation)
        .map((e) => e.name)
        .sort(),
    ).toEqual([...names].sort());
    expect((await stack.cli(['vault', 'get', 'PHONE_TOKEN'])).stdout).toBe(ADDED.phone.value);
    await page.waitForSelector('[data-testid=vault-entries] [data-entry=PHONE_TOKEN] .badge.rotate');

    // The phone learns it was revoked the next time it looks.
    const phone = tabs.phone!.page;
    await phone.reload();
    await phone.waitForSelector('[data-testid=vault-enrol]');
    expect(await phone.textContent('[data-testid=vault-enrol]')).toContain('THIS BROWSER WAS REVOKED');
    await screenshot(phone, 'phone-vault-revoked');
  }, 120_000);

  it('locks by itself after 15 minutes idle', async () => {
    // The desktop profile (its enrolment record and sign-in) in a page with a controllable clock.
    const state = await tabs.desktop!.context.storageState();
    const context = await browser.newContext({ ...SIZES.desktop, storageState: state });
    try {
      await context.clock.install();
      const page = await context.newPage();
      await page.goto(`${stack.url}/vault`);
      await page.waitForSelector('[data-testid=vault-locked]');
      await unlockWithPassphrase(page, BROWSER_PASSPHRASE.desktop);
      await page.waitForSelector('[data-testid=vault-unlocked]', { timeout: 30_000 });
      await page.clock.fastForward('14:00');
      expect(await page.isVisible('[data-testid=vault-unlocked]')).toBe(true);
      await page.clock.fastForward('01:30');
      await page.waitForSelector('[data-testid=vault-locked]');
      expect(await page.textContent('[data-testid=vault-locked]')).toContain(
        'locked after 15 minutes without activity',
      );
    } finally {
      await context.close();
    }
  }, 60_000);

  it('sent and stored nothing secret: no value, phrase, passphrase or key in any request or in localStorage', async () => {
    for (const size of ['phone', 'desktop'] as Size[]) {
      const tab = tabs[size]!;
      const sent = tab.sent.join('\n');
      const stored = await tab.page.evaluate(() => JSON.stringify({ ...localStorage }));
      for (const secret of secrets()) {
        expect(sent.includes(secret), `${size} sent ${secret.slice(0, 12)}…`).toBe(false);
        expect(stored.toUpperCase().includes(secret.toUpperCase()), `${size} stored ${secret.slice(0, 12)}…`).toBe(
          false,
        );
      }
    }
    expect(existsSync(join(RESULTS, 'phone-vault.png'))).toBe(true);
    expect(existsSync(join(RESULTS, 'desktop-vault.png'))).toBe(true);
  });
});
