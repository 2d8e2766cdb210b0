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
    await page.waitForFunction(() => (document.querySelector('[data-testid=stream]')?.textContent ?? '').split('ping from the browser').length >= 3);
    await page.click('button:has-text("stop")');
    await page.waitForFunction(() => document.querySelector('[data-testid=session-status]')?.textContent === 'cancelled');
    await screenshot(page, `${size}-session-stopped`);
    await context.close();
  });

  it('shows devices with their health', async () => {
    const { page, context } = await openPage(browser, size);
    await signIn(page, stack.url);
    await page.click('nav >> text=DEVICES');
    await page.waitForSelector('[data-testid=device-list] li');
    expect(await page.textContent('[data-testid=device-list]')).toMatch(/online/i);
    expect(await page.textContent('[data-testid=device-list]')).toMatch(/RAM [\d.]+\/[\d.]+ GiB/);
    await screenshot(page, `${size}-devices`);
    await context.close();
  });
});

describe('the cockpit build', () => {
  it('writes screenshots under test-results/', () => {
    expect(existsSync(join(RESULTS, 'phone-sessions.png'))).toBe(true);
  });
});
