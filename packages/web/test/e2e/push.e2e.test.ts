import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGcmStandIn } from './gcm-standin.js';
import {
  launchBrowser,
  openPage,
  openProfile,
  screenshot,
  signIn,
  startStack,
  type Size,
  type Stack,
} from './harness.js';

// Notifications in Debian's headless Chromium against `optimal up`.
//
// This machine has no internet, so Chromium's push service (Google's GCM)
// is out of reach. Chromium lets its GCM client be pointed elsewhere
// (--gcm-checkin-url, --gcm-registration-url, --gcm-mcs-endpoint), and
// gcm-standin.ts answers those endpoints on loopback the way Google's do.
// Everything else is real: the cockpit's button, the browser's own
// PushManager, its GCM client (checkin, registration with the server's
// VAPID key, its own P-256 keys and auth secret), the subscription it
// builds from the stand-in's token, and the control plane storing it. What
// cannot be proven here is a push travelling down from Google to the
// browser; the server's half (a real, encrypted, VAPID-signed push to a
// subscription's endpoint, and removal of a gone one) is proven in
// packages/server/test/push.test.ts against a push service on loopback.

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

interface Seen {
  permission: NotificationPermission;
  worker: string | undefined;
  subscription: PushSubscriptionJSON | null;
  serverKey: string;
  stored: { service: string; lastSentAt: number | null }[];
}

/** What the page sees: permission, its service worker, its subscription, the server's key and what it stored for this user. */
function look(): Promise<Seen> {
  return (async () => {
    const registration = await navigator.serviceWorker.ready;
    return {
      permission: Notification.permission,
      worker: registration.active?.state,
      subscription: (await registration.pushManager.getSubscription())?.toJSON() ?? null,
      serverKey: (await fetch('/api/push/key').then((r) => r.json() as Promise<{ publicKey: string }>)).publicKey,
      stored: (
        await fetch('/api/push/subscriptions').then((r) => r.json() as Promise<{ subscriptions: Seen['stored'] }>)
      ).subscriptions,
    };
  })();
}

/** The control plane's rows, read from its database: the endpoint and keys it will push to. */
function storedRows(): { endpoint: string; p256dh: string; auth: string }[] {
  const db = new Database(join(stack.dir, 'fabric.db'), { readonly: true });
  try {
    return db.prepare('SELECT endpoint, p256dh, auth FROM push_subscriptions').all() as {
      endpoint: string;
      p256dh: string;
      auth: string;
    }[];
  } finally {
    db.close();
  }
}

describe.each(['phone', 'desktop'] as Size[])('notifications at %s size', (size) => {
  it('turns notifications on: Chromium subscribes through its push service with the server key, and the control plane stores that subscription; turning off removes it from both', async () => {
    const gcm = await startGcmStandIn();
    const { page, context, errors, close } = await openProfile(size, gcm.args);
    try {
      await context.grantPermissions(['notifications'], { origin: stack.url });
      await signIn(page, stack.url);
      await page.goto(`${stack.url}/account`);
      await page.waitForSelector('[data-testid=push-state] >> text=off for this browser');
      await page.click('button:has-text("turn on notifications")');
      await page.waitForSelector('[data-testid=push-state] >> text=on for this browser');
      const on = await page.evaluate(look);

      // The browser checked in and asked its push service for one web push registration for this origin, with the server's VAPID key.
      expect(gcm.checkins).toBe(1);
      const ours = gcm.registrations.filter((r) => r.subtype?.startsWith(`wp:${stack.url}/#`));
      expect(ours).toEqual([
        { app: expect.any(String), subtype: expect.any(String), sender: on.serverKey, token: expect.any(String) },
      ]);
      // Its subscription: an https endpoint that Chromium built from that registration's token, and its own keys.
      expect(on.permission).toBe('granted');
      expect(on.worker).toBe('activated');
      const sub = on.subscription!;
      const endpoint = new URL(sub.endpoint!);
      expect(endpoint.protocol).toBe('https:');
      expect(endpoint.pathname).toBe(`/fcm/send/${ours[0]!.token}`);
      expect(Buffer.from(sub.keys!.p256dh!, 'base64url')).toHaveLength(65);
      expect(Buffer.from(sub.keys!.auth!, 'base64url')).toHaveLength(16);
      // The control plane stored exactly that endpoint and those keys, and shows the person only the push service.
      expect(storedRows()).toEqual([{ endpoint: sub.endpoint, p256dh: sub.keys!.p256dh, auth: sub.keys!.auth }]);
      expect(on.stored).toEqual([expect.objectContaining({ service: endpoint.origin, lastSentAt: null })]);
      expect(await page.textContent('[data-testid=push-state]')).toContain(`via ${endpoint.origin}`);
      await page.evaluate(() => window.scrollTo(0, document.body.scrollHeight)); // the panel, clear of the phone's tab bar
      await screenshot(page, `${size}-account-push-on`);

      // Turning off: the browser gives the token back to its push service, and the control plane forgets the subscription.
      await page.click('button:has-text("turn off notifications")');
      await page.waitForSelector('[data-testid=push-state] >> text=off for this browser');
      const off = await page.evaluate(look);
      expect(off.subscription).toBeNull();
      expect(off.stored).toEqual([]);
      expect(storedRows()).toEqual([]);
      await expect.poll(() => gcm.deleted).toEqual([ours[0]!.token]);
      console.log(
        `[${size}] pushManager.subscribe through the GCM stand-in gave ${endpoint.origin}${endpoint.pathname.slice(0, 20)}…; MCS connections tried: ${gcm.mcsConnections}`,
      );
      expect(errors).toEqual([]);
    } finally {
      await close();
      await gcm.close();
    }
  }, 60_000);

  it('in a private window (where Chromium has no Push API) turning notifications on fails with one clear line and stores nothing', async () => {
    const { page, context, errors } = await openPage(browser, size);
    await context.grantPermissions(['notifications'], { origin: stack.url });
    // Watch (not replace) PushManager.subscribe: record what the page asked for and how the browser answered.
    await context.addInitScript(() => {
      const calls: { userVisibleOnly: boolean | undefined; key: string; outcome?: string }[] = [];
      (window as unknown as { __subscribeCalls: typeof calls }).__subscribeCalls = calls;
      const real = PushManager.prototype.subscribe;
      PushManager.prototype.subscribe = function (this: PushManager, options?: PushSubscriptionOptionsInit) {
        const raw = options?.applicationServerKey;
        const bytes =
          raw instanceof ArrayBuffer
            ? new Uint8Array(raw)
            : ArrayBuffer.isView(raw)
              ? new Uint8Array(raw.buffer, raw.byteOffset, raw.byteLength)
              : new Uint8Array();
        const call: (typeof calls)[number] = {
          userVisibleOnly: options?.userVisibleOnly,
          key: btoa(String.fromCharCode(...bytes))
            .replace(/\+/g, '-')
            .replace(/\//g, '_')
            .replace(/=+$/, ''),
        };
        calls.push(call);
        return real.call(this, options).then(
          (sub) => {
            call.outcome = 'subscribed';
            return sub;
          },
          (err: unknown) => {
            call.outcome = err instanceof DOMException ? `${err.name}: ${err.message}` : String(err);
            throw err;
          },
        );
      };
    });
    await signIn(page, stack.url);
    await page.goto(`${stack.url}/account`);
    await page.waitForSelector('[data-testid=push-state] >> text=off for this browser');
    await page.click('button:has-text("turn on notifications")');
    const alert = await page.waitForSelector('section[aria-label=notifications] [role=alert]');
    const shown = (await alert.textContent()) ?? '';

    const seen = await page.evaluate(look);
    const calls = await page.evaluate(
      () => (window as unknown as { __subscribeCalls: { outcome: string }[] }).__subscribeCalls,
    );
    expect(seen.permission).toBe('granted');
    expect(seen.worker).toBe('activated');
    expect(calls).toEqual([{ userVisibleOnly: true, key: seen.serverKey, outcome: expect.any(String) }]);
    const outcome = calls[0]!.outcome;
    // Off the record, Chromium refuses at once (chrome/browser/push_messaging/push_messaging_service_factory.cc: no service for OTR profiles).
    expect(outcome).not.toBe('subscribed');
    expect(seen.subscription).toBeNull();
    expect(seen.stored).toEqual([]);
    // The person sees one line that says what happened, with the browser's own words.
    expect(shown).toContain('this browser could not subscribe to push');
    expect(shown).toContain(outcome);
    expect(shown).toContain('private windows cannot subscribe');
    await page.waitForSelector('[data-testid=push-state] >> text=off for this browser');
    await page.evaluate(() => window.scrollTo(0, document.body.scrollHeight)); // the whole message, clear of the phone's tab bar
    await screenshot(page, `${size}-account-push-private`);
    expect(errors).toEqual([]);
    await context.close();
  }, 60_000);
});
