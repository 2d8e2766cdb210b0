import type { BoardCard, SessionView } from '@fabric/protocol';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Proc, optimal, tempDir } from '../../../cli/test/procs.js';
import { SIZES, launchBrowser, openPage, screenshot, signIn, startStack, type Size, type Stack } from './harness.js';

/**
 * BOARD and TOPO in real headless Chromium against a real control plane and
 * device (`optimal up`) on loopback, at phone and desktop size. Cards are
 * moved with real input: the mouse on a desk, CDP touch events on a phone.
 */
let stack: Stack;
let browser: Browser;
const cleanup: (() => Promise<unknown> | unknown)[] = [];

beforeAll(async () => {
  stack = await startStack();
  browser = await launchBrowser();
}, 60_000);

afterAll(async () => {
  for (const f of cleanup.reverse()) await f();
  await browser?.close();
  await stack?.stop();
}, 30_000);

/** The API as the signed-in page calls it: its cookie and the CSRF header. */
function api<T>(page: Page, method: string, path: string, body?: unknown): Promise<T> {
  return page.evaluate(
    async ({ method, path, body }) => {
      const res = await fetch(path, {
        method,
        headers: { 'x-fabric-csrf': '1', ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
      return res.status === 204 ? null : res.json();
    },
    { method, path, body },
  ) as Promise<T>;
}

/** Titles of the cards in a column, top to bottom, that start with `prefix`. */
function titles(page: Page, column: string, prefix: string): Promise<string[]> {
  return page.$$eval(
    `[data-column=${column}] [data-testid=card]`,
    (els, p) => els.map((e) => e.getAttribute('data-card-title') ?? '').filter((t) => t.startsWith(p)),
    prefix,
  );
}

async function waitForTitles(page: Page, column: string, prefix: string, expected: string[]): Promise<void> {
  await page.waitForFunction(
    ({ column, prefix, expected }) => {
      const got = [...document.querySelectorAll(`[data-column=${column}] [data-testid=card]`)]
        .map((e) => e.getAttribute('data-card-title') ?? '')
        .filter((t) => t.startsWith(prefix));
      return JSON.stringify(got) === JSON.stringify(expected);
    },
    { column, prefix, expected },
    { timeout: 10_000 },
  );
}

async function centre(page: Page, selector: string): Promise<{ x: number; y: number; top: number; height: number }> {
  const loc = page.locator(selector).first();
  await loc.scrollIntoViewIfNeeded();
  const b = (await loc.boundingBox())!;
  return { x: b.x + b.width / 2, y: b.y + b.height / 2, top: b.y, height: b.height };
}

/** Press, travel in small steps, release: with a mouse, or with a finger through CDP touch events. */
async function dragPath(
  page: Page,
  context: BrowserContext,
  by: 'mouse' | 'touch',
  from: { x: number; y: number },
  to: { x: number; y: number },
): Promise<void> {
  const steps = 12;
  const at = (i: number) => ({ x: from.x + ((to.x - from.x) * i) / steps, y: from.y + ((to.y - from.y) * i) / steps });
  if (by === 'mouse') {
    await page.mouse.move(from.x, from.y);
    await page.mouse.down();
    for (let i = 1; i <= steps; i++) await page.mouse.move(at(i).x, at(i).y);
    await page.mouse.up();
    return;
  }
  const cdp = await context.newCDPSession(page);
  await cdp.send('Input.dispatchTouchEvent', { type: 'touchStart', touchPoints: [{ x: from.x, y: from.y }] });
  for (let i = 1; i <= steps; i++)
    await cdp.send('Input.dispatchTouchEvent', { type: 'touchMove', touchPoints: [{ x: at(i).x, y: at(i).y }] });
  await cdp.send('Input.dispatchTouchEvent', { type: 'touchEnd', touchPoints: [] });
  await cdp.detach();
}

const card = (title: string) => `[data-testid=card][data-card-title="${title}"]`;

/** Another tab in a signed-in context, with its page errors collected. */
async function tab(context: BrowserContext, path: string): Promise<{ page: Page; errors: string[] }> {
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`${stack.url}${path}`);
  await page.waitForSelector('nav');
  return { page, errors };
}

describe.each(['phone', 'desktop'] as Size[])('BOARD and TOPO at %s size', (size) => {
  // Sign in once per size: the server allows only a few password attempts a minute per address.
  let context: BrowserContext;
  beforeAll(async () => {
    const opened = await openPage(browser, size);
    context = opened.context;
    await signIn(opened.page, stack.url);
    await opened.page.close();
  }, 30_000);
  afterAll(async () => {
    await context?.close();
  });

  it('launches a session from a BOARD card and sees the card move to review', async () => {
    const { page, errors } = await tab(context, '/sessions');
    await page.click('nav >> text=BOARD');
    await page.waitForSelector('[data-column=backlog]');

    const title = `say hello ${size}`;
    await page.click('button:has-text("+ new card")');
    await page.fill('#card-title', title);
    await page.fill('#card-prompt', 'echo from the board');
    await page.selectOption('#card-harness', 'shell');
    await page.click('button:has-text("add card")');
    await page.waitForSelector(`[data-column=backlog] ${card(title)}`);

    await page.click(`${card(title)} button.launch`);
    // The live feed moves the card: running while the session runs, review once it has ended.
    await page.waitForFunction(
      (sel) => document.querySelector(sel)?.textContent === 'succeeded',
      `[data-column=review] ${card(title)} [data-testid=card-status]`,
      { timeout: 15_000 },
    );
    const stored = (await api<{ cards: BoardCard[] }>(page, 'GET', '/api/board')).cards.find((c) => c.title === title)!;
    expect(stored).toMatchObject({ column: 'review', sessionStatus: 'succeeded' });
    const link = page.locator(`${card(title)} a[href^="/sessions/"]`);
    expect(await link.getAttribute('href')).toBe(`/sessions/${stored.sessionId}`);
    if (size === 'phone') {
      // One column at a time on a phone: the tab scrolls the strip to review.
      await page.click('.board-tabs button:has-text("review")');
      await page.waitForFunction(
        () => Math.abs(document.querySelector('[data-column=review]')!.getBoundingClientRect().left - 12) < 2,
      );
      await page.waitForSelector('.board-tabs .tab.active:has-text("review")');
    }
    await screenshot(page, `${size}-board`);

    await link.click();
    await page.waitForSelector('[data-testid=exit]');
    expect(await page.textContent('[data-testid=stream]')).toContain('from the board');
    expect(errors).toEqual([]);
    await page.close();
  }, 60_000);

  it('moves BOARD cards by dragging with real pointer input, and the moves survive a reload', async () => {
    const { page, errors } = await tab(context, '/sessions');
    // A clean backlog holding three cards, so every position is known.
    const { cards } = await api<{ cards: BoardCard[] }>(page, 'GET', '/api/board');
    for (const c of cards.filter((c) => c.column === 'backlog')) await api(page, 'DELETE', `/api/board/cards/${c.id}`);
    const p = `${size} drag`;
    for (const n of ['A', 'B', 'C'])
      await api(page, 'POST', '/api/board/cards', { title: `${p} ${n}`, prompt: `echo ${n}` });
    await page.click('nav >> text=BOARD');
    await waitForTitles(page, 'backlog', p, [`${p} A`, `${p} B`, `${p} C`]);

    const by = size === 'phone' ? 'touch' : 'mouse';
    // Reorder: C to the top of the backlog. A finger takes the grip; a mouse can take the card anywhere.
    const grab = size === 'phone' ? `${card(`${p} C`)} [data-drag-handle]` : `${card(`${p} C`)} .bcard-title`;
    const from = await centre(page, grab);
    const above = await centre(page, card(`${p} A`));
    await dragPath(page, context, by, from, { x: above.x, y: above.top + 6 });
    await waitForTitles(page, 'backlog', p, [`${p} C`, `${p} A`, `${p} B`]);

    // Move between columns: on a desk B goes to done; on a phone to the running column peeking at the right edge.
    const to = size === 'phone' ? 'running' : 'done';
    const b = await centre(page, `${card(`${p} B`)} [data-drag-handle]`);
    const col = await page.locator(`[data-column=${to}]`).boundingBox();
    const target = size === 'phone' ? { x: 340, y: col!.y + 80 } : { x: col!.x + col!.width / 2, y: col!.y + 80 };
    await dragPath(page, context, by, b, target);
    await waitForTitles(page, to, p, [`${p} B`]);
    await waitForTitles(page, 'backlog', p, [`${p} C`, `${p} A`]);

    // The accessible way: A one step up, with its button.
    await page.click(`${card(`${p} A`)} button[aria-label="move up"]`);
    await waitForTitles(page, 'backlog', p, [`${p} A`, `${p} C`]);
    // And with the keyboard: arrow keys on the focused grip, which keeps the focus as the card moves.
    await page.focus(`${card(`${p} A`)} [data-drag-handle]`);
    await page.keyboard.press('ArrowDown');
    await waitForTitles(page, 'backlog', p, [`${p} C`, `${p} A`]);
    await page.waitForFunction(
      (t) => document.activeElement?.closest('[data-card-title]')?.getAttribute('data-card-title') === t,
      `${p} A`,
    );
    await page.keyboard.press('ArrowUp');
    await waitForTitles(page, 'backlog', p, [`${p} A`, `${p} C`]);

    // Stored server-side: the order is the same after a reload.
    await page.waitForFunction(
      async ({ p, to }) => {
        const res = await fetch('/api/board');
        const { cards } = (await res.json()) as { cards: { title: string; column: string; position: number }[] };
        const col = (c: string) =>
          cards
            .filter((x) => x.column === c && x.title.startsWith(p))
            .sort((x, y) => x.position - y.position)
            .map((x) => x.title);
        return (
          JSON.stringify(col('backlog')) === JSON.stringify([`${p} A`, `${p} C`]) &&
          JSON.stringify(col(to)) === JSON.stringify([`${p} B`])
        );
      },
      { p, to },
      { timeout: 10_000, polling: 100 },
    );
    await page.reload();
    await waitForTitles(page, 'backlog', p, [`${p} A`, `${p} C`]);
    expect(await titles(page, to, p)).toEqual([`${p} B`]);
    expect(errors).toEqual([]);
    await page.close();
  }, 60_000);

  it('TOPO shows a device appear and a ship for a running session', async () => {
    const { page, errors } = await tab(context, '/topo');
    await page.waitForSelector('[data-planet]');

    // Pair and start a second device while the map is open.
    const name = `orbiter-${size}`;
    const data = tempDir(`topo-${size}`);
    cleanup.push(() => data.remove());
    const pairing = await stack.cli(['pair', '--json']);
    expect(pairing.code, pairing.stderr).toBe(0);
    const { code } = JSON.parse(pairing.stdout) as { code: string };
    const paired = await optimal(
      ['pair', '--server', stack.url, '--token', code, '--name', name, '--data', data.path],
      { timeoutMs: 60_000 },
    );
    expect(paired.code, paired.stderr).toBe(0);
    const device = new Proc(['device', '--data', data.path, '--allow', 'echo,sleep']);
    cleanup.push(() => device.kill('SIGKILL'));
    await device.waitFor(/device online/, 60_000);

    // A new planet, with no reload.
    const planet = `[data-planet-name="${name}"]`;
    await page.waitForSelector(planet, { timeout: 30_000 });
    const deviceId = (await page.getAttribute(planet, 'data-planet'))!;

    // A running session becomes a ship on an orbit of its device.
    const started = await stack.cli(['session', 'start', '--device', name, '--prompt', 'sleep 30', '--json']);
    expect(started.code, started.stderr).toBe(0);
    const session = JSON.parse(started.stdout.trim().split('\n')[0]!) as SessionView;
    cleanup.push(() => stack.cli(['session', 'cancel', session.id]));
    const ship = `[data-ship="${session.id}"]`;
    await page.waitForSelector(`${ship}[data-device="${deviceId}"][data-status="running"]`, {
      state: 'attached',
      timeout: 30_000,
    });
    const where = (sel: string) =>
      page.getAttribute(sel, 'transform').then(
        (t) =>
          t!
            .match(/translate\(([-\d.]+)[ ,]([-\d.]+)\)/)!
            .slice(1)
            .map(Number) as [number, number],
      );
    const centreOf = await where(`${planet} > g`);
    const first = await where(ship);
    const firstTransform = await page.getAttribute(ship, 'transform');
    await page.waitForFunction(
      ({ sel, was }) => document.querySelector(sel)?.getAttribute('transform') !== was,
      { sel: ship, was: firstTransform },
      { timeout: 30_000 },
    );
    const later = await where(ship);
    const radius = (p: [number, number]) => Math.hypot(p[0] - centreOf[0], p[1] - centreOf[1]);
    expect(later).not.toEqual(first);
    expect(Math.abs(radius(first) - radius(later))).toBeLessThan(1);
    expect(radius(first)).toBeGreaterThan(Number(await page.getAttribute(`${planet} .body`, 'r')));

    // Tap the planet: its detail.
    if (size === 'phone') await page.tap(`${planet} .body`);
    else await page.click(`${planet} .body`);
    const detail = `[data-device-detail="${deviceId}"]`;
    await page.waitForSelector(detail);
    const text = (await page.textContent(detail))!;
    expect(text).toContain(name);
    expect(text).toMatch(/ram[\d. /]+GiB/i);
    expect(text).toContain('sleep 30');
    expect(text).toContain('shell');
    await page.evaluate(() => scrollTo(0, 0));
    await screenshot(page, `${size}-topo`);

    // Tap the ship (from the detail's list: it does not hold still): its prompt, status and a link to the session.
    await page.click(`${detail} button:has-text("sleep 30")`);
    await page.waitForSelector(`[data-ship-detail="${session.id}"]`);
    expect(await page.textContent(`[data-ship-detail="${session.id}"]`)).toContain('running');
    expect(await page.getAttribute(`[data-ship-detail="${session.id}"] a.open-session`, 'href')).toBe(
      `/sessions/${session.id}`,
    );

    // With reduced motion the ships hold still.
    const still = await browser.newContext({
      ...SIZES[size],
      reducedMotion: 'reduce',
      storageState: await context.storageState(),
    });
    const quiet = await still.newPage();
    await quiet.goto(`${stack.url}/topo`);
    await quiet.waitForSelector(ship, { state: 'attached' });
    const a = await quiet.getAttribute(ship, 'transform');
    // A later positive signal: the page has drawn frames for 400 ms or more (frames, not a timer, so a starved
    // renderer cannot pass by drawing none); an animating map would have moved its ship in them.
    await quiet.evaluate(
      () =>
        new Promise<void>((done) => {
          const t0 = performance.now();
          let frames = 0;
          const frame = (t: number) => (++frames >= 3 && t - t0 >= 400 ? done() : requestAnimationFrame(frame));
          requestAnimationFrame(frame);
        }),
    );
    expect(await quiet.getAttribute(ship, 'transform')).toBe(a);
    await still.close();

    await stack.cli(['session', 'cancel', session.id]);
    await page.waitForSelector(ship, { state: 'detached', timeout: 30_000 });
    await device.kill();
    // Gone offline: still on the map, dimmed.
    await page.waitForSelector(`${planet}.state-offline`, { timeout: 30_000 });
    expect(errors).toEqual([]);
    await page.close();
  }, 180_000);
});
