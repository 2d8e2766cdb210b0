import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RESULTS, launchBrowser, openPage, screenshot, signIn, startStack, type Size, type Stack } from './harness.js';

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

describe.each(['phone', 'desktop'] as Size[])('the cockpit at %s size', (size) => {
  it('signs in, starts a shell session and shows its output', async () => {
    const { page, errors, context } = await openPage(browser, size);
    await signIn(page, stack.url);
    await screenshot(page, `${size}-sessions`);
    await page.fill('#prompt', `echo hello from the ${size}`);
    await page.click('text=launch');
    await page.waitForSelector('[data-testid=exit]');
    expect(await page.textContent('[data-testid=stream]')).toContain(`hello from the ${size}`);
    // The status line follows the session's own record, which may land a moment after the exit event.
    await page.waitForFunction(
      () =>
        ['succeeded', 'failed', 'cancelled', 'refused'].includes(
          document.querySelector('[data-testid=session-status]')?.textContent ?? '',
        ),
      null,
      { timeout: 20_000 },
    );
    expect(await page.textContent('[data-testid=session-status]')).toBe('succeeded');
    await screenshot(page, `${size}-session`);
    // The fuel meter is pinned on every screen, and the signed-in screens show no errors.
    expect(await page.isVisible('[data-testid=fuel]')).toBe(true);
    expect(errors).toEqual([]);
    await context.close();
  });

  it('sends follow-up input to a running session and stops another', async () => {
    const { page, context } = await openPage(browser, size);
    await signIn(page, stack.url);
    await page.fill('#prompt', 'cat');
    await page.click('text=launch');
    await page.waitForSelector('input[aria-label="follow-up input"]');
    await page.waitForFunction(() => document.querySelector('[data-testid=session-status]')?.textContent === 'running');
    await page.fill('input[aria-label="follow-up input"]', 'ping from the browser');
    await page.click('button:has-text("send")');
    await page.waitForFunction(
      () =>
        (document.querySelector('[data-testid=stream]')?.textContent ?? '').split('ping from the browser').length >= 3,
    );
    await page.click('button:has-text("stop")');
    await page.waitForFunction(
      () => document.querySelector('[data-testid=session-status]')?.textContent === 'cancelled',
    );
    await screenshot(page, `${size}-session-stopped`);
    await context.close();
  });

  it('checks the device ledger in the browser, and names a checkpoint the control plane altered', async () => {
    const { page, context } = await openPage(browser, size);
    await signIn(page, stack.url);
    // The device sends a signed checkpoint when it connects: wait until the control plane holds one.
    await page.waitForFunction(
      async () => {
        const list = (await (await fetch('/api/devices')).json()) as { id: string }[];
        const id = list[0]?.id;
        if (!id) return false;
        const ledger = (await (await fetch(`/api/devices/${id}/ledger`)).json()) as { checkpoints: unknown[] };
        return ledger.checkpoints.length > 0;
      },
      null,
      { timeout: 30_000, polling: 200 },
    );
    await page.click('nav >> text=DEVICES');
    await page.click('[data-testid=device-list] button:has-text("check ledger")');
    await page.waitForSelector('[data-testid=ledger-check][data-ok=true]');
    expect(await page.textContent('[data-testid=ledger-check]')).toMatch(
      /^ledger: \d+ signed checkpoints? up to event \d+ \(.+\), each signature verified in this browser$/,
    );

    // The same answer with one stored head changed on its way: the browser, not the server, catches it.
    let altered = 0;
    await page.route('**/api/devices/*/ledger?*', async (route) => {
      const response = await route.fetch();
      const body = (await response.json()) as { checkpoints: { seq: number; head: string }[] };
      const first = body.checkpoints[0]!;
      first.head = first.head.startsWith('0') ? '1'.repeat(64) : '0'.repeat(64);
      altered = first.seq;
      await route.fulfill({ response, json: body });
    });
    await page.click('[data-testid=device-list] button:has-text("check ledger")');
    await page.waitForSelector('[data-testid=ledger-check][data-ok=false]');
    expect(altered).toBeGreaterThan(0);
    expect(await page.textContent('[data-testid=ledger-check]')).toBe(
      `ledger: checkpoint at event ${altered} fails: its signature does not verify for this device`,
    );
    await screenshot(page, `${size}-ledger-check`);
    await context.close();
  });

  it('shows devices with their health', async () => {
    const { page, context } = await openPage(browser, size);
    await signIn(page, stack.url);
    await page.click('nav >> text=DEVICES');
    await page.waitForSelector('[data-testid=device-list] li');
    expect(await page.textContent('[data-testid=device-list]')).toMatch(/online/i);
    expect(await page.textContent('[data-testid=device-list]')).toMatch(/RAM [\d.]+\/[\d.]+ GiB/);
    expect(await page.textContent('[data-testid=device-list] [data-isolation]')).toBe('isolation: bwrap');
    expect(await page.textContent('[data-testid=device-access]')).toMatch(/paired by \S+/);

    // The owner shares the device with a member from here, and stops sharing it.
    const member = `bob-${size}`;
    const invite = await page.evaluate(async () => {
      const res = await fetch('/api/auth/invites', {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-fabric-csrf': '1' },
        body: JSON.stringify({ role: 'member' }),
      });
      return (await res.json()) as { code: string };
    });
    const redeemed = await fetch(`${stack.url}/api/auth/redeem`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ code: invite.code, name: member, password: 'long-enough-password', client: 'cli' }),
    });
    expect(redeemed.status).toBe(201);
    page.once('dialog', (d) => void d.accept(member));
    await page.click('[data-testid=device-list] button:has-text("share")');
    await page.waitForSelector(`[data-unshare="${member}"]`);
    expect(await page.textContent('[data-testid=device-access]')).toContain(`shared with ${member}`);
    await screenshot(page, `${size}-devices`);
    await page.click(`[data-unshare="${member}"]`);
    await page.waitForSelector(`[data-unshare="${member}"]`, { state: 'detached' });
    expect(await page.textContent('[data-testid=device-access]')).not.toContain('shared with');
    await context.close();
  });
});

describe('the cockpit build', () => {
  it('writes screenshots under test-results/', () => {
    expect(existsSync(join(RESULTS, 'phone-sessions.png'))).toBe(true);
  });
});
