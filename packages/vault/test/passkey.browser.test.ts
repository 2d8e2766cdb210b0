import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { isBuiltin } from 'node:module';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, extname, join, normalize, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type CDPSession, type Page } from 'playwright-core';
import { build, type Plugin } from 'vite';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { FabricVaultPage } from './browser/page.js';

// The passkey path in a real browser: the vault package, bundled by Vite for
// the browser, runs in Debian's headless Chromium against a CDP virtual
// authenticator with PRF. The test plays the server (it keeps what enrol
// returns and hands it back) and the user's hardware (the authenticator).
//
// No network: the page comes from a loopback server started here, and the
// browser is the system one, never a download. A missing /usr/bin/chromium
// fails the suite (CI installs Debian's `chromium` package); it never skips.

const CHROMIUM = '/usr/bin/chromium';
const browserDir = resolve(dirname(fileURLToPath(import.meta.url)), 'browser');
const PASSPHRASE = 'correct horse battery staple';
const SECRET = 'ghp_browser-roundtrip-0123456789';

// As this machine's notes say: without the background-networking flags
// Chromium keeps dialling hosts the closed network refuses.
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

const AUTHENTICATOR = {
  protocol: 'ctap2',
  ctap2Version: 'ctap2_1',
  transport: 'internal',
  hasResidentKey: true,
  hasUserVerification: true,
  isUserVerified: true,
  hasPrf: true,
} as const;

let outDir: string | undefined;
let bundle: string;
let server: Server | undefined;
let origin: string;
let browser: Browser | undefined;
let setupFailure: unknown;

// A setup failure (no Chromium, a bundle that imports Node) is rethrown by
// every test, so each one fails: a failed beforeAll alone would leave them
// counted as skipped.
beforeAll(async () => {
  try {
    if (!existsSync(CHROMIUM)) {
      throw new Error(`${CHROMIUM} is missing: install Debian's chromium (apt-get install -y chromium)`);
    }
    outDir = mkdtempSync(join(tmpdir(), 'fabric-vault-page-'));
    bundle = await buildPage(outDir);
    server = await serveStatic(outDir);
    origin = `http://localhost:${(server.address() as AddressInfo).port}`;
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
  } catch (err) {
    setupFailure = err;
  }
});

beforeEach(() => {
  if (setupFailure !== undefined) throw setupFailure;
});

afterAll(async () => {
  await browser?.close();
  if (server) await new Promise<void>((closed) => server!.close(() => closed()));
  if (outDir) rmSync(outDir, { recursive: true, force: true });
});

describe('the passkey path in headless Chromium', () => {
  it('runs in Debian chromium from /usr/bin/chromium, headless, on a browser bundle of the vault', async () => {
    const { page, context, seen } = await openPage();
    expect(await page.evaluate(() => navigator.userAgent)).toContain('HeadlessChrome/');
    expect(await page.evaluate(() => window.isSecureContext)).toBe(true);

    await page.goto('chrome://version');
    const about = await page.evaluate(() => ({
      executable: document.getElementById('executable_path')?.textContent ?? '',
      commandLine: document.getElementById('command_line')?.textContent ?? '',
      version: document.getElementById('version')?.textContent ?? '',
    }));
    expect(about.executable).toBe('/usr/lib/chromium/chromium'); // what Debian's /usr/bin/chromium wrapper runs
    expect(about.commandLine.split(/\s+/)).toContain('--headless');
    expect(about.version).toContain('built on Debian');
    expect(about.version).toContain(browser!.version());
    await context.close();
    expectOnlyLocalReads(seen);

    // The bundle holds the vault (its canary text) and no stand-in for a Node
    // module: the build itself refuses any Node built-in (refuseNodeBuiltins).
    expect(bundle).toContain('fabric-vault-canary-v1');
    expect(bundle).not.toContain('__vite-browser-external');
  });

  it('enrols a passkey, unlocks with it, and the unlocked identity reads an entry', async () => {
    const { page, context, seen } = await openPage();
    await addAuthenticator(await webauthn(context, page));

    const enrolled = await call(page, 'enrol', PASSPHRASE);
    const material = enrolled.material;
    expect(material.recipient).toMatch(/^age1[02-9ac-hj-np-z]+$/);
    expect(material.credentialId).toMatch(/^[\w-]+$/);
    expect(material.salt).toMatch(/^[\w-]{43}$/); // 32 bytes
    // What goes to the server holds no secret key.
    expect(JSON.stringify(material)).not.toContain('AGE-SECRET-KEY');

    const entry = await call(page, 'addEntry', material.recipient, SECRET);
    await call(page, 'lock');
    expect(await call(page, 'readEntry', entry)).toEqual({ ok: false, code: 'locked' });

    const unlock = await call(page, 'unlockWithPasskey', material);
    expect(unlock).toEqual({ ok: true, recipient: material.recipient, prfCheck: enrolled.prfCheck });
    expect(await call(page, 'readEntry', entry)).toEqual({ ok: true, text: SECRET });

    // The same credential and salt give the same PRF output every time.
    expect(await call(page, 'unlockWithPasskey', material)).toEqual(unlock);
    await context.close();
    expectOnlyLocalReads(seen);
  });

  it('refuses a wrong passphrase with passphrase_wrong and opens with the right one', async () => {
    const { page, context, seen } = await openPage();
    await addAuthenticator(await webauthn(context, page));
    const { material } = await call(page, 'enrol', PASSPHRASE);
    const entry = await call(page, 'addEntry', material.recipient, SECRET);

    expect(await call(page, 'unlockWithPassphrase', material, 'correct horse battery stapler')).toEqual({
      ok: false,
      code: 'passphrase_wrong',
    });
    expect(await call(page, 'readEntry', entry)).toEqual({ ok: false, code: 'locked' });

    expect(await call(page, 'unlockWithPassphrase', material, PASSPHRASE)).toEqual({
      ok: true,
      recipient: material.recipient,
    });
    expect(await call(page, 'readEntry', entry)).toEqual({ ok: true, text: SECRET });
    await context.close();
    expectOnlyLocalReads(seen);
  });

  // VAULT.md expected a *different* PRF output here. Chromium's virtual
  // authenticator keeps each credential's PRF secret (CTAP CredRandom) beside
  // it, makes it only at create(), and neither WebAuthn.getCredentials nor
  // WebAuthn.addCredential carries it: the moved credential still signs but
  // has no PRF secret, so get() returns `prf: {}` with no output at all.
  it('refuses the passkey when the same credential, moved to a new authenticator, brings no PRF output; the passphrase still opens', async () => {
    const { page, context, seen } = await openPage();
    const cdp = await webauthn(context, page);
    const first = await addAuthenticator(cdp);
    const { material } = await call(page, 'enrol', PASSPHRASE);
    const entry = await call(page, 'addEntry', material.recipient, SECRET);

    // Export the credential, then move it to a fresh authenticator: same id,
    // private key, rpId, user handle and sign count.
    const { credentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId: first });
    expect(credentials).toHaveLength(1);
    const credential = credentials[0]!;
    expect(base64ToBase64url(credential.credentialId)).toBe(material.credentialId);
    expect(credential).toMatchObject({ isResidentCredential: true, rpId: 'localhost' });
    await cdp.send('WebAuthn.removeVirtualAuthenticator', { authenticatorId: first });
    const second = await addAuthenticator(cdp);
    await cdp.send('WebAuthn.addCredential', {
      authenticatorId: second,
      credential: {
        credentialId: credential.credentialId,
        isResidentCredential: credential.isResidentCredential,
        rpId: credential.rpId!,
        privateKey: credential.privateKey,
        userHandle: credential.userHandle!,
        signCount: credential.signCount,
      },
    });
    const asserted: string[] = [];
    cdp.on('WebAuthn.credentialAsserted', (e) => asserted.push(`${e.authenticatorId}:${e.credential.credentialId}`));

    // The new authenticator holds the credential and signs with it, but
    // without a PRF output the passkey path is refused.
    const refused = await call(page, 'unlockWithPasskey', material);
    expect(refused).toEqual({ ok: false, code: 'prf_unavailable' });
    expect(asserted).toEqual([`${second}:${credential.credentialId}`]);
    const [moved] = (await cdp.send('WebAuthn.getCredentials', { authenticatorId: second })).credentials;
    expect(moved).toMatchObject({
      credentialId: credential.credentialId,
      privateKey: credential.privateKey,
      userHandle: credential.userHandle,
    });
    expect(moved!.signCount).toBeGreaterThan(credential.signCount);
    expect(await call(page, 'readEntry', entry)).toEqual({ ok: false, code: 'locked' });

    // Nothing was written (no request but reads: expectOnlyLocalReads) and
    // the stored material, as it was, still opens with the passphrase.
    expect(await call(page, 'unlockWithPassphrase', material, PASSPHRASE)).toEqual({
      ok: true,
      recipient: material.recipient,
    });
    expect(await call(page, 'readEntry', entry)).toEqual({ ok: true, text: SECRET });
    await context.close();
    expectOnlyLocalReads(seen);
  });

  // The virtual authenticator cannot give one credential a second PRF secret
  // (see above), so a changed output comes from a real second credential: its
  // PRF over the stored salt is another 32 bytes, as a credential whose PRF
  // changed (Safari, export/import) would give.
  it('refuses a PRF output that differs from the enrolled one, changes nothing, and the passphrase still opens', async () => {
    const { page, context, seen } = await openPage();
    await addAuthenticator(await webauthn(context, page));
    const enrolled = await call(page, 'enrol', PASSPHRASE);
    const material = enrolled.material;
    const entry = await call(page, 'addEntry', material.recipient, SECRET);
    const other = (await call(page, 'enrol', 'another passphrase')).material;
    expect(other.credentialId).not.toBe(material.credentialId);

    // The enrolled salt and blobs, answered by a passkey whose PRF differs.
    const presented = { ...material, credentialId: other.credentialId };
    const refused = await call(page, 'unlockWithPasskey', presented);
    expect(refused.prfCheck).toMatch(/^[0-9a-f]{16}$/);
    expect(refused.prfCheck).not.toBe(enrolled.prfCheck);
    // The derived key is not the one the browser identity was wrapped to, so
    // the unwrap fails before the canary is reached: age files are
    // authenticated, a wrong key never yields a wrong identity.
    expect(refused).toEqual({ ok: false, code: 'decrypt_failed', prfCheck: refused.prfCheck });
    expect(await call(page, 'readEntry', entry)).toEqual({ ok: false, code: 'locked' });
    expect(await call(page, 'unlockWithPasskey', presented)).toEqual(refused);

    // Nothing was written (no request but reads: expectOnlyLocalReads) and
    // the stored material still opens with the enrolled passkey and the passphrase.
    expect(await call(page, 'unlockWithPasskey', material)).toEqual({
      ok: true,
      recipient: material.recipient,
      prfCheck: enrolled.prfCheck,
    });
    expect(await call(page, 'unlockWithPassphrase', material, PASSPHRASE)).toEqual({
      ok: true,
      recipient: material.recipient,
    });
    expect(await call(page, 'readEntry', entry)).toEqual({ ok: true, text: SECRET });
    await context.close();
    expectOnlyLocalReads(seen);
  });
});

/**
 * A fresh context (its own storage) on the test page. `seen` records every
 * request it makes ("METHOD url") and every uncaught page error.
 */
async function openPage(): Promise<{ context: BrowserContext; page: Page; seen: string[] }> {
  const context = await browser!.newContext();
  const page = await context.newPage();
  const seen: string[] = [];
  page.on('request', (req) => seen.push(`${req.method()} ${req.url()}`));
  page.on('pageerror', (err) => seen.push(`pageerror: ${err.message}`));
  await page.goto(`${origin}/`);
  await page.waitForFunction(() => document.getElementById('status')?.textContent === 'ready');
  return { context, page, seen };
}

async function webauthn(context: BrowserContext, page: Page): Promise<CDPSession> {
  const cdp = await context.newCDPSession(page);
  await cdp.send('WebAuthn.enable', { enableUI: false });
  return cdp;
}

async function addAuthenticator(cdp: CDPSession): Promise<string> {
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', { options: AUTHENTICATOR });
  return authenticatorId;
}

/** Call one of the page's functions (see browser/page.ts) with JSON-serialisable arguments. */
function call<K extends keyof FabricVaultPage>(
  page: Page,
  name: K,
  ...args: Parameters<FabricVaultPage[K]>
): Promise<Awaited<ReturnType<FabricVaultPage[K]>>> {
  return page.evaluate(
    ({ name, args }) =>
      (globalThis as unknown as { fabricVault: Record<string, (...a: unknown[]) => unknown> }).fabricVault[name]!(
        ...args,
      ),
    { name, args: args as unknown[] },
  ) as Promise<Awaited<ReturnType<FabricVaultPage[K]>>>;
}

/** Bundle browser/index.html (and page.ts with the vault) for the browser; returns the JavaScript. */
async function buildPage(dir: string): Promise<string> {
  const output = await build({
    root: browserDir,
    configFile: false,
    envFile: false,
    publicDir: false,
    cacheDir: join(dir, '.vite-cache'),
    base: './',
    logLevel: 'error',
    plugins: [refuseNodeBuiltins()],
    build: {
      outDir: join(dir, 'site'),
      emptyOutDir: true,
      minify: false,
      reportCompressedSize: false,
      modulePreload: false,
    },
  });
  const results = Array.isArray(output) ? output : [output];
  const chunks = results.flatMap((r) => ('output' in r ? r.output : [])).filter((o) => o.type === 'chunk');
  expect(chunks.length).toBeGreaterThan(0);
  return chunks.map((c) => c.code).join('\n');
}

/** A build plugin that fails on any import of a Node built-in, instead of Vite's silent browser stub. */
function refuseNodeBuiltins(): Plugin {
  return {
    name: 'refuse-node-builtins',
    enforce: 'pre',
    resolveId(source, importer) {
      if (isBuiltin(source)) this.error(`${importer ?? 'the page'} imports the node built-in "${source}"`);
      return null;
    },
  };
}

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
};

/** Serve the built site from 127.0.0.1 on a free port. */
async function serveStatic(dir: string): Promise<Server> {
  const site = join(dir, 'site');
  const srv = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    const file = normalize(join(site, path === '/' ? 'index.html' : decodeURIComponent(path)));
    const type = CONTENT_TYPES[extname(file)];
    if (!file.startsWith(site + sep) || type === undefined || !existsSync(file)) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': type, 'cache-control': 'no-store' }).end(readFileSync(file));
  });
  await new Promise<void>((listening) => srv.listen(0, '127.0.0.1', listening));
  return srv;
}

/**
 * The page only read from its own loopback origin (or chrome://version): no
 * other host, no write anywhere (so nothing re-enrolled or overwritten the
 * stored material), and no uncaught error.
 */
function expectOnlyLocalReads(seen: string[]): void {
  expect(seen.filter((s) => !s.startsWith(`GET ${origin}/`) && !s.startsWith('GET chrome://'))).toEqual([]);
}

function base64ToBase64url(b64: string): string {
  return b64.replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}
