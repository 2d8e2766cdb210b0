import type { Agent } from 'node:https';
import webpush from 'web-push';
import type { Logger } from '../log.js';
import type { PushMessage } from './messages.js';
import type { PushSubscriptions, StoredSubscription } from './subscriptions.js';
import type { VapidKeys } from './vapid.js';

export interface SendOptions {
  /** Seconds the push service keeps the message for an offline browser. */
  ttl: number;
  urgency: 'normal' | 'high';
}

export interface PushSenderOptions {
  vapid: VapidKeys;
  /** VAPID `sub`: a mailto: or https: contact for push services (FABRIC_PUSH_SUBJECT). */
  subject: string;
  subscriptions: PushSubscriptions;
  log: Logger;
  /** The HTTPS agent for push requests (tests pass one that trusts their own CA). */
  agent?: Agent;
  /** Socket timeout per push request (default 10 s). */
  timeoutMs?: number;
}

/**
 * Sends one message to subscriptions with `web-push` (RFC 8291 aes128gcm
 * payload encryption, RFC 8292 VAPID). A 404 or 410 from the push service
 * means the browser dropped the subscription: it is deleted. Other failures
 * are logged with the push service's origin and status only (an endpoint
 * URL is a bearer capability and stays out of logs) and the subscription is
 * kept for the next message. Never throws.
 */
export class PushSender {
  constructor(private readonly opts: PushSenderOptions) {}

  async send(subs: readonly StoredSubscription[], message: PushMessage, options: SendOptions): Promise<void> {
    const payload = JSON.stringify(message);
    await Promise.all(subs.map((sub) => this.sendOne(sub, payload, options)));
  }

  private async sendOne(sub: StoredSubscription, payload: string, options: SendOptions): Promise<void> {
    const { vapid, subject, subscriptions, log } = this.opts;
    const service = originOf(sub.endpoint);
    try {
      await webpush.sendNotification({ endpoint: sub.endpoint, keys: sub.keys }, payload, {
        vapidDetails: { subject, publicKey: vapid.publicKey, privateKey: vapid.privateKey },
        TTL: options.ttl,
        urgency: options.urgency,
        contentEncoding: 'aes128gcm',
        timeout: this.opts.timeoutMs ?? 10_000,
        ...(this.opts.agent ? { agent: this.opts.agent } : {}),
      });
      await subscriptions.delivered(sub.id);
    } catch (err) {
      const status = err instanceof webpush.WebPushError ? err.statusCode : null;
      if (status === 404 || status === 410) {
        await subscriptions.expire(sub.id).catch(() => {});
        log.info(`push subscription ${sub.id} at ${service} is gone (${status}); removed`);
        return;
      }
      const why =
        err instanceof webpush.WebPushError
          ? `${err.statusCode}${err.body ? ` ${oneLine(err.body)}` : ''}`
          : ((err as { code?: string }).code ?? (err instanceof Error ? err.message : String(err)));
      log.warn(`push to ${service} for subscription ${sub.id} failed: ${why}`);
    }
  }
}

function originOf(endpoint: string): string {
  try {
    return new URL(endpoint).origin;
  } catch {
    return 'an unparsable endpoint';
  }
}

function oneLine(text: string): string {
  const t = text.replace(/\s+/g, ' ').trim();
  return t.length > 160 ? `${t.slice(0, 159)}…` : t;
}
