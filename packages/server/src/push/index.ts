import type { Agent } from 'node:https';
import type { ServerContext } from '../context.js';
import { PushNotifier } from './notifier.js';
import { PushSender } from './sender.js';
import { PushSubscriptions } from './subscriptions.js';
import { loadVapidKeys, type VapidKeys } from './vapid.js';

export interface PushOptions {
  /** VAPID contact (FABRIC_PUSH_SUBJECT): a mailto: or https: URL push services may use to reach the operator. */
  subject?: string;
  /** Accept subscription endpoints on private addresses (tests, a private push service). */
  allowPrivateEndpoints?: boolean;
  /** HTTPS agent for requests to push services (tests pass one that trusts their CA). */
  agent?: Agent;
  timeoutMs?: number;
}

/** The Web Push pieces one control plane runs: its VAPID keys, the subscription store and the notifier. */
export interface Push {
  vapid: VapidKeys;
  subscriptions: PushSubscriptions;
  notifier: PushNotifier;
  close(): Promise<void>;
}

/** Used when FABRIC_PUSH_SUBJECT is unset. Some push services (Apple's) want a reachable contact: set it. */
export const DEFAULT_PUSH_SUBJECT = 'mailto:fabric-operator@example.invalid';

/** Load (or make) the VAPID keys and start notifying. */
export async function startPush(ctx: ServerContext, opts: PushOptions = {}): Promise<Push> {
  const subject = opts.subject ?? process.env.FABRIC_PUSH_SUBJECT ?? DEFAULT_PUSH_SUBJECT;
  if (!/^(mailto:\S+@\S+|https:\/\/\S+)$/.test(subject))
    throw new Error(`FABRIC_PUSH_SUBJECT must be a mailto: or https: url, not ${subject}`);
  const vapid = await loadVapidKeys(ctx.db, ctx.clock);
  const subscriptions = new PushSubscriptions(ctx.db, ctx.clock, {
    allowPrivateEndpoints: opts.allowPrivateEndpoints ?? false,
  });
  const sender = new PushSender({
    vapid,
    subscriptions,
    log: ctx.log,
    subject,
    ...(opts.agent ? { agent: opts.agent } : {}),
    ...(opts.timeoutMs ? { timeoutMs: opts.timeoutMs } : {}),
  });
  const notifier = new PushNotifier({
    db: ctx.db,
    bus: ctx.bus,
    clock: ctx.clock,
    log: ctx.log,
    subscriptions,
    sender,
  });
  await notifier.start();
  return { vapid, subscriptions, notifier, close: () => notifier.close() };
}
