import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import type { SessionView } from '@fabric/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { harnessFixture, installFakeClis, type Step } from '../../../daemon/test/fake-cli/index.js';
import { SIZES, launchBrowser, openPage, screenshot, signIn, startStack, type Size, type Stack } from './harness.js';

/**
 * The session screen's interactive paths in real headless Chromium against
 * `optimal up` (control plane + device in another process) with fake
 * claude, codex and kimi binaries first on its PATH, replaying recorded
 * output: approvals answered in the browser, an agent's reply drawn as
 * Markdown with folded tool calls and diffs, a stream that survives a
 * network drop, and resuming a finished session.
 */
const lines = (name: string) => readFileSync(harnessFixture(name), 'utf8').split('\n').filter(Boolean);
const fixture = harnessFixture;

/** Claude's recorded session, with its last reply swapped for one that uses Markdown (same line shape). */
const REPLY = [
  '## Done',
  '',
  '**hello.txt** now says `hello, world` and *NOTES.md* explains it:',
  '',
  '- edited `hello.txt`',
  '- wrote `NOTES.md`',
  '',
  '```sh',
  'cat hello.txt   # prints: hello, world — and this comment is long enough to need scrolling sideways on a phone',
  '```',
  '',
  'See [the notes](https://example.com/notes), not [this](javascript:alert(1)) or <b>raw html</b>.',
].join('\n');
const claudeLines = lines('claude/session.jsonl');
const lastReply = claudeLines.findIndex((l) => l.includes('"text":"Done:'));
const markdownReply = (() => {
  const line = JSON.parse(claudeLines[lastReply]!) as { message: { content: { text: string }[] } };
  line.message.content[0]!.text = REPLY;
  return JSON.stringify(line);
})();

const scenarios: Record<string, { steps: Step[]; version: string }> = {
  claude: {
    version: '2.1.197',
    steps: [
      { read: 1 },
      { replay: fixture('claude/session.jsonl'), to: lastReply },
      { print: markdownReply },
      { replay: fixture('claude/session.jsonl'), from: lastReply + 1 },
      { read: 1 },
    ],
  },
  codex: {
    version: '0.169.0',
    steps: [
      { readUntilEof: true },
      { when: 'resume', steps: [{ replay: fixture('codex/exec-resume.jsonl') }, { exit: 0 }] },
      { replay: fixture('codex/exec-full.jsonl') },
    ],
  },
  kimi: {
    version: '1.49.0',
    // As in packages/cli/test/harnesses.e2e.test.ts: no initialize response, so the driver
    // keeps the safe "ask" mode and asks about both tools, each answer releasing the next part.
    steps: [
      { read: 2 },
      { replay: fixture('kimi/wire-approvals.jsonl'), from: 1, to: 7 },
      { read: 1 },
      { replay: fixture('kimi/wire-approvals.jsonl'), from: 7, to: 13 },
      { read: 1 },
      { replay: fixture('kimi/wire-approvals.jsonl'), from: 13 },
      { readUntilEof: true },
    ],
  },
};
const codexThread = (JSON.parse(lines('codex/exec-full.jsonl')[0]!) as { thread_id: string }).thread_id;

/** How long to wait for the stack to do something (it is usually done in well under a second). */
const WAIT = 30_000;
/** Per test: a few such waits. */
const TEST_TIMEOUT = 90_000;

const fakes = installFakeClis(scenarios);
let stack: Stack;
let browser: Browser;
/** The owner's signed-in cookies: the server allows ten password sign-ins a minute, so sign in once. */
let signedIn: Awaited<ReturnType<BrowserContext['storageState']>>;

beforeAll(async () => {
  stack = await startStack({ env: fakes.env() });
  browser = await launchBrowser();
  const first = await openPage(browser, 'phone');
  await signIn(first.page, stack.url);
  signedIn = await first.context.storageState();
  await first.context.close();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await stack?.stop();
  fakes.remove();
});

/**
 * A TCP relay in front of the stack whose open connections can be cut, as a
 * dropped network cuts them. (Chromium's offline emulation only stops new
 * requests; a stream already open keeps flowing through it.)
 */
async function relay(target: string): Promise<{ url: string; cut(): void; close(): Promise<void> }> {
  const port = Number(new URL(target).port);
  const sockets = new Set<Socket>();
  const track = (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => {});
  };
  const server = createServer((client) => {
    const upstream = connect(port, '127.0.0.1');
    track(client);
    track(upstream);
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const cut = () => {
    for (const s of sockets) s.destroy();
  };
  return {
    url: `http://localhost:${(server.address() as AddressInfo).port}`,
    cut,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        cut();
      }),
  };
}

/** GET from the control plane as the signed-in owner, from here. */
async function api<T>(path: string): Promise<T> {
  const cookie = signedIn.cookies.map((c) => `${c.name}=${c.value}`).join('; ');
  const res = await fetch(`${stack.url}${path}`, { headers: { cookie } });
  if (!res.ok) throw new Error(`GET ${path}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

/** A fresh signed-in browser at a size, on the sessions screen of `url`; page errors collected. */
async function cockpit(
  size: Size,
  url = stack.url,
  init?: () => void,
): Promise<{ context: BrowserContext; page: Page; errors: string[] }> {
  const context = await browser.newContext({ ...SIZES[size], storageState: signedIn });
  // Generous waits: the whole stack shares a small machine with other suites; nothing here sleeps on them.
  context.setDefaultTimeout(WAIT);
  if (init) await context.addInitScript(init);
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`${url}/sessions`);
  await page.waitForSelector('text=start a session');
  return { context, page, errors };
}

/** Start a session from the start form, as a person would, and wait for its screen. */
async function launch(page: Page, harness: string, prompt: string): Promise<string> {
  await page.waitForSelector(`#harness option[value="${harness}"]:not([disabled])`, { state: 'attached' });
  await page.selectOption('#harness', harness);
  await page.fill('#prompt', prompt);
  await page.click('button:has-text("launch")');
  await page.waitForURL(/\/sessions\/[^/]+$/);
  await page.waitForSelector('[data-testid=session]');
  return new URL(page.url()).pathname.split('/').pop()!;
}

const status = (page: Page) => page.textContent('[data-testid=session-status]');
const waitStatus = (page: Page, s: string) =>
  page.waitForFunction((want) => document.querySelector('[data-testid=session-status]')?.textContent === want, s, {
    timeout: WAIT,
  });

describe.each(['phone', 'desktop'] as Size[])('the session screen at %s size', (size) => {
  it(
    "answers a Kimi session's approval requests: Allow the first, Deny the second",
    async () => {
      const { page, context, errors } = await cockpit(size);
      const before = fakes.calls('kimi').length;
      // TOPO open in another tab before the session exists: its ship's beacon must light from live messages alone.
      const topo = await context.newPage();
      await topo.goto(`${stack.url}/topo`);
      await topo.waitForSelector('[data-planet]');
      const id = await launch(page, 'kimi', 'write a test for greet() and run it');

      const first = page.locator('[data-testid=approval][data-state=pending]');
      await first.waitFor({ timeout: WAIT });
      await topo.waitForSelector(`[data-ship="${id}"].attention .beacon`, { state: 'attached', timeout: WAIT });
      await topo.close();
      expect(await first.textContent()).toContain('WriteFile');
      // What it wants to write, as a diff, before it is allowed.
      expect(await first.locator('[data-testid=diff] .dl.add').first().textContent()).toContain(
        'from hello import greet',
      );
      // The pinned reminder stays away while the request itself is on screen.
      expect(await page.isVisible('.approval-bar')).toBe(false);
      await screenshot(page, `${size}-approval`);
      await first.locator('button:has-text("allow")').click();

      const second = page.locator('[data-testid=approval][data-state=pending]', { hasText: 'Shell' });
      await second.waitFor({ timeout: WAIT });
      expect(await second.locator('.cmd').textContent()).toBe('$ python -m pytest -q test_hello.py');
      await second.locator('button:has-text("deny")').click();

      await waitStatus(page, 'succeeded');
      expect(
        await page.locator('[data-testid=approval]').evaluateAll((els) => els.map((e) => e.getAttribute('data-state'))),
      ).toEqual(['allow', 'deny']);
      expect(await page.isVisible('.approval-bar')).toBe(false);
      await screenshot(page, `${size}-approval-answered`);

      const calls = fakes.calls('kimi').slice(before);
      expect(calls).toHaveLength(1);
      const answers = calls[0]!.stdin.slice(2).map((l) => JSON.parse(l) as { result: { response: string } });
      expect(answers.map((a) => a.result.response)).toEqual(['approve', 'reject']);
      expect(errors).toEqual([]);
      await context.close();
    },
    TEST_TIMEOUT,
  );

  it(
    'draws a Claude session: Markdown reply, folded tool calls, the edit as a diff',
    async () => {
      const { page, context, errors } = await cockpit(size);
      await launch(page, 'claude', 'make hello.txt say hello, world and write NOTES.md');
      await waitStatus(page, 'succeeded');
      await page.waitForSelector('[data-testid=exit]');

      // The reply, as Markdown.
      const reply = page.locator('[data-testid=agent-text]', { hasText: 'Done' });
      expect(await reply.locator('h4').textContent()).toBe('Done');
      expect(await reply.locator('strong').first().textContent()).toBe('hello.txt');
      expect(await reply.locator('li').allTextContents()).toEqual(['edited hello.txt', 'wrote NOTES.md']);
      expect(await reply.locator('pre code').textContent()).toContain('cat hello.txt');
      const code = await reply.locator('pre').evaluate((el) => ({
        font: getComputedStyle(el).fontFamily,
        scrolls: el.scrollWidth > el.clientWidth,
        overflow: getComputedStyle(el).overflowX,
      }));
      expect(code.font).toContain('IBM Plex Mono');
      expect(code.overflow).toBe('auto');
      if (size === 'phone') expect(code.scrolls).toBe(true);
      const links = await reply
        .locator('a')
        .evaluateAll((as) => as.map((a) => [a.getAttribute('href'), a.getAttribute('target'), a.getAttribute('rel')]));
      expect(links).toEqual([['https://example.com/notes', '_blank', 'noopener noreferrer']]);
      expect(await reply.textContent()).toContain('not this or <b>raw html</b>.');
      expect(await reply.locator('b').count()).toBe(0);

      // Tool calls, folded to one line each: name and key argument.
      const tools = page.locator('[data-testid=tool-call]');
      expect(
        await tools.evaluateAll((ds) =>
          ds.map((d) => [(d as HTMLDetailsElement).open, d.querySelector('.tool-name')?.textContent]),
        ),
      ).toEqual([
        [false, 'Bash'],
        [false, 'Read'],
        [false, 'Edit'],
        [false, 'Write'],
      ]);
      const bash = tools.filter({ hasText: 'Bash' });
      expect(await bash.locator('.tool-subject').textContent()).toBe('mkdir -p build && ls');
      expect(await bash.locator('.tool-out').count()).toBe(0);
      await bash.locator('summary').click();
      expect(await bash.locator('.cmd').textContent()).toBe('$ mkdir -p build && ls');
      expect(await bash.locator('.tool-out').textContent()).toBe('build\nhello.txt');
      await bash.locator('summary').click();
      expect(await bash.evaluate((d) => (d as HTMLDetailsElement).open)).toBe(false);

      // The edit as a line diff, coloured; the file change it reported is not listed again.
      const edit = tools.filter({ hasText: 'Edit' });
      expect(await edit.locator('summary').textContent()).toMatch(
        /^.?Edit\u200e?\/home\/dev\/project\/hello\.txt\+1−1$/,
      );
      await edit.locator('summary').click();
      const diff = edit.locator('[data-testid=diff]');
      await diff.locator('.dl.add').waitFor();
      expect(await diff.locator('.dl.del').allTextContents()).toEqual(['1−hello']);
      expect(await diff.locator('.dl.add').allTextContents()).toEqual(['1+hello, world']);
      const colours = await diff.evaluate((d) => [
        getComputedStyle(d.querySelector('.dl.add')!).color,
        getComputedStyle(d.querySelector('.dl.del')!).color,
      ]);
      expect(colours).toEqual(['rgb(125, 255, 122)', 'rgb(255, 122, 92)']);
      expect(await page.locator('[data-testid=file-change]').count()).toBe(0);
      const write = tools.filter({ hasText: 'Write' });
      await write.locator('summary').click();
      await write.locator('[data-testid=diff]').waitFor();
      expect(await write.locator('[data-testid=diff] .dl.add').allTextContents()).toEqual([
        '1+# Notes',
        '2+',
        '3+hello.txt now says hello, world.',
      ]);

      await edit.scrollIntoViewIfNeeded();
      await screenshot(page, `${size}-session-agent`);
      await reply.scrollIntoViewIfNeeded();
      await screenshot(page, `${size}-session-agent-reply`);
      expect(errors).toEqual([]);
      await context.close();
    },
    TEST_TIMEOUT,
  );

  it(
    'resumes the stream after a network drop with every line exactly once, in order',
    async () => {
      const network = await relay(stack.url);
      const { page, context, errors } = await cockpit(size, network.url);
      try {
        const n = 60;
        const id = await launch(
          page,
          'shell',
          `node -e "let i=0;const t=setInterval(()=>{console.log('line '+(++i));if(i===${n})clearInterval(t)},100)"`,
        );
        const stream = page.locator('[data-testid=stream]');
        await page.waitForFunction(() =>
          /line 5\n/.test(document.querySelector('[data-testid=stream]')?.textContent ?? ''),
        );
        expect(await stream.getAttribute('data-connects')).toBe('1');

        // The drop: open connections die and new ones fail, while the command keeps printing.
        await context.setOffline(true);
        network.cut();
        await page.waitForFunction(() => document.querySelector('[data-testid=live]')?.textContent !== '● live');
        const seenOffline = await page.locator('[data-testid=output]').textContent();
        const seqOffline = Number(await stream.getAttribute('data-last-seq'));
        // Until the control plane has stored several more events than the page has (a connected page would
        // have been sent the first of them by then), and the page has drawn none of them.
        await expect
          .poll(async () => (await api<SessionView>(`/api/sessions/${id}`)).lastSeq, { timeout: 30_000, interval: 50 })
          .toBeGreaterThanOrEqual(seqOffline + 3);
        expect(await page.locator('[data-testid=output]').textContent()).toBe(seenOffline);
        await context.setOffline(false);

        await waitStatus(page, 'succeeded');
        await page.waitForSelector('[data-testid=exit]');
        const out = (await page.locator('[data-testid=output]').allTextContents()).join('');
        expect(out.split('\n').filter(Boolean)).toEqual(Array.from({ length: n }, (_, k) => `line ${k + 1}`));
        expect(Number(await stream.getAttribute('data-connects'))).toBeGreaterThanOrEqual(2);
        expect(await stream.getAttribute('data-repeats')).toBe('0');
        await screenshot(page, `${size}-stream-resumed`);
        expect(errors).toEqual([]);
      } finally {
        await context.close();
        await network.close();
      }
    },
    TEST_TIMEOUT,
  );

  it(
    'resumes a finished Codex session from its screen and lands on the new one',
    async () => {
      const { page, context, errors } = await cockpit(size);
      const before = fakes.calls('codex').length;
      const first = await launch(page, 'codex', 'add a greeting');
      await waitStatus(page, 'succeeded');
      expect(await page.textContent('[data-testid=agent-text]')).toContain('I added hello.txt and updated the README.');

      await page.fill('input[aria-label="resume with"]', 'what does hello.txt say now?');
      await page.click('button:has-text("resume")');
      await page.waitForURL((url) => /\/sessions\/[^/]+$/.test(url.pathname) && !url.pathname.endsWith(first));
      await waitStatus(page, 'succeeded');
      expect(await page.getAttribute('[data-testid=parent-link]', 'href')).toBe(`/sessions/${first}`);
      expect(await page.textContent('[data-testid=session] .ses-prompt')).toBe('what does hello.txt say now?');
      expect(await page.textContent('[data-testid=agent-text]')).toContain('It says: hello from codex');
      await screenshot(page, `${size}-session-resumed`);

      const calls = fakes.calls('codex').slice(before);
      expect(calls.map((c) => c.argv.includes('resume'))).toEqual([false, true]);
      expect(calls[1]!.argv).toContain(codexThread);
      expect(calls[1]!.stdin.join('\n')).toContain('what does hello.txt say now?');
      expect(await status(page)).toBe('succeeded');
      expect(errors).toEqual([]);
      await context.close();
    },
    TEST_TIMEOUT,
  );
});

describe('dictating a prompt', () => {
  it(
    'appends what the recogniser hears to the prompt, and has no button where there is no recogniser',
    async () => {
      // A stand-in recogniser: hears "run the" (interim), then "run the" + "tests" (final), then ends.
      const { page, context, errors } = await cockpit('phone', stack.url, () => {
        class FakeRecognition {
          onresult: ((e: unknown) => void) | null = null;
          onend: (() => void) | null = null;
          onerror: ((e: unknown) => void) | null = null;
          start() {
            const r = (t: string, isFinal: boolean) => Object.assign([{ transcript: t }], { isFinal });
            setTimeout(() => this.onresult?.({ results: [r('run the', false)] }), 20);
            setTimeout(() => this.onresult?.({ results: [r('run the', true), r(' tests ', true)] }), 40);
            setTimeout(() => this.onend?.(), 60);
          }
          stop() {
            this.onend?.();
          }
          abort() {}
        }
        Object.assign(window, { SpeechRecognition: FakeRecognition, webkitSpeechRecognition: FakeRecognition });
      });
      await page.fill('#prompt', 'in packages/web');
      await page.click('[data-testid=dictate]');
      await page.waitForFunction(
        () => (document.querySelector('#prompt') as HTMLTextAreaElement).value === 'in packages/web run the tests',
      );
      await page.waitForSelector('[data-testid=dictate][aria-pressed=false]');
      await screenshot(page, 'phone-dictate');
      expect(errors).toEqual([]);
      await context.close();

      const bare = await cockpit('phone', stack.url, () => {
        delete (window as { SpeechRecognition?: unknown }).SpeechRecognition;
        delete (window as { webkitSpeechRecognition?: unknown }).webkitSpeechRecognition;
      });
      expect(await bare.page.locator('#prompt').isVisible()).toBe(true);
      expect(await bare.page.locator('[data-testid=dictate]').count()).toBe(0);
      await bare.context.close();
    },
    TEST_TIMEOUT,
  );
});

describe('the cockpit bundle', () => {
  it(
    'loads under 150 KB of gzipped JavaScript at first',
    async () => {
      const script = fileURLToPath(new URL('../../../../scripts/bundle-size.mjs', import.meta.url));
      const out = await new Promise<string>((resolve, reject) =>
        execFile(process.execPath, [script], (err, stdout) => (err ? reject(err) : resolve(stdout))),
      );
      const result = JSON.parse(out) as { gzipBytes: number; files: unknown[] };
      expect(result.files.length).toBeGreaterThan(0);
      expect(result.gzipBytes).toBeLessThan(150 * 1024);
    },
    TEST_TIMEOUT,
  );
});
