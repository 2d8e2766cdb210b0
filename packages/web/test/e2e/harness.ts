import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
const BIN = join(ROOT, 'packages/cli/bin/optimal.js');
export const CHROMIUM = '/usr/bin/chromium';
/** Screenshots of every screen, at both sizes, on every run. */
export const RESULTS = join(ROOT, 'test-results');

export const SIZES = {
  phone: { viewport: { width: 375, height: 812 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true },
  desktop: { viewport: { width: 1440, height: 900 }, deviceScaleFactor: 1, isMobile: false, hasTouch: false },
} as const;
export type Size = keyof typeof SIZES;

function run(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => {
      stdout += c.toString();
    });
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString();
    });
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

export interface Stack {
  url: string;
  dir: string;
  /** Run `optimal ...` against this stack's data dir (the owner's CLI). */
  cli(args: string[], input?: string): Promise<{ code: number | null; stdout: string; stderr: string }>;
  stop(): Promise<void>;
}

/**
 * A control plane and a local device in another process (`optimal up`), on
 * a free port, with the owner's password set through the setup code — what
 * a person gets from `npm start` and `optimal invite`.
 */
export async function startStack(
  opts: { allow?: string; env?: Record<string, string>; mode?: 'cloud' | 'local' } = {},
): Promise<Stack> {
  const dir = mkdtempSync(join(tmpdir(), 'fabric-web-e2e-'));
  // This run serves its own copy of the cockpit build, so a rebuild elsewhere cannot empty it mid-test.
  const webRoot = join(dir, 'web');
  cpSync(join(ROOT, 'packages/web/dist'), webRoot, { recursive: true });
  const child: ChildProcess = spawn(
    process.execPath,
    [
      BIN,
      'up',
      '--data',
      dir,
      '--port',
      '0',
      '--allow',
      opts.allow ?? 'echo,cat,sleep,node',
      ...(opts.mode ? ['--mode', opts.mode] : []),
    ],
    {
      env: { ...process.env, FABRIC_WEB_ROOT: webRoot, ...opts.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let out = '';
  child.stdout!.on('data', (c: Buffer) => {
    out += c.toString();
  });
  child.stderr!.on('data', (c: Buffer) => {
    out += c.toString();
  });
  const url = await new Promise<string>((resolve, reject) => {
    const started = Date.now();
    const tick = setInterval(() => {
      const m = out.match(/fabric is up at (http:\/\/127\.0\.0\.1:\d+)/);
      if (m && out.includes('device online')) {
        clearInterval(tick);
        resolve(m[1]!.replace('127.0.0.1', 'localhost'));
      } else if (Date.now() - started > 20_000 || child.exitCode !== null) {
        clearInterval(tick);
        reject(new Error(`optimal up did not start:\n${out}`));
      }
    }, 50);
  });
  const setup = await run(['invite', '--data', dir, '--json']);
  const code = (JSON.parse(setup.stdout) as { code: string }).code;
  const redeem = await fetch(`${url}/api/auth/redeem`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ code, name: 'ada', password: PASSWORD, client: 'cli' }),
  });
  if (!redeem.ok) throw new Error(`setup failed: ${await redeem.text()}`);
  return {
    url,
    dir,
    cli: (args, input) =>
      new Promise((resolve) => {
        const c = spawn(process.execPath, [BIN, ...args, '--data', dir], { env: { ...process.env, ...opts.env } });
        let stdout = '';
        let stderr = '';
        c.stdout.on('data', (b: Buffer) => {
          stdout += b.toString();
        });
        c.stderr.on('data', (b: Buffer) => {
          stderr += b.toString();
        });
        c.on('close', (code) => resolve({ code, stdout, stderr }));
        c.stdin.end(input ?? '');
      }),
    async stop() {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export const PASSWORD = 'correct horse battery';

const FLAGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Debian's Chromium, headless, with this workplace's flags; fails clearly when it is missing. */
export async function launchBrowser(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium`);
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: FLAGS });
}

/**
 * Chromium with a profile of its own on disk (a normal window, not the
 * off-the-record contexts of `launchBrowser`: Chromium has no Push API off
 * the record), at a size, with extra switches; `close` also deletes the profile.
 */
export async function openProfile(
  size: Size,
  args: readonly string[] = [],
): Promise<{ context: BrowserContext; page: Page; errors: string[]; close(): Promise<void> }> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium`);
  const profile = mkdtempSync(join(tmpdir(), 'fabric-web-profile-'));
  try {
    const context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: [...FLAGS, ...args],
      ...SIZES[size],
    });
    const page = context.pages()[0] ?? (await context.newPage());
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    return {
      context,
      page,
      errors,
      async close() {
        await context.close();
        rmSync(profile, { recursive: true, force: true });
      },
    };
  } catch (err) {
    rmSync(profile, { recursive: true, force: true });
    throw err;
  }
}

/** A fresh browser context at a size, with console errors collected for assertions. */
export async function openPage(
  browser: Browser,
  size: Size,
): Promise<{ context: BrowserContext; page: Page; errors: string[] }> {
  const context = await browser.newContext({ ...SIZES[size] });
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  return { context, page, errors };
}

/** Sign in through the form, as a person would. */
export async function signIn(page: Page, url: string): Promise<void> {
  await page.goto(`${url}/sessions`);
  await page.fill('#name', 'ada');
  await page.fill('#password', PASSWORD);
  await page.click('button[type=submit]');
  await page.waitForSelector('text=start a session');
}

export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(RESULTS, { recursive: true });
  await page.screenshot({ path: join(RESULTS, `${name}.png`), fullPage: false });
}
