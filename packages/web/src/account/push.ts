import { api } from '../api.js';

/** Where this browser stands with notifications. */
export type PushState =
  { kind: 'unsupported'; why: string } | { kind: 'blocked' } | { kind: 'off' } | { kind: 'on'; endpointOrigin: string };

const READY_MS = 10_000;
const SUBSCRIBE_MS = 20_000;

/** Service workers, the Push API and notifications: all three, in a secure context. */
export function pushSupport(): { ok: true } | { ok: false; why: string } {
  if (!window.isSecureContext) return { ok: false, why: 'notifications need https (or http://localhost)' };
  if (!('serviceWorker' in navigator)) return { ok: false, why: 'this browser has no service workers' };
  if (!('PushManager' in window) || !('Notification' in window)) {
    return { ok: false, why: 'this browser has no web push (on an iPhone: add Fabric to the home screen first)' };
  }
  return { ok: true };
}

export async function pushState(): Promise<PushState> {
  const support = pushSupport();
  if (!support.ok) return { kind: 'unsupported', why: support.why };
  if (Notification.permission === 'denied') return { kind: 'blocked' };
  const registration = await navigator.serviceWorker.getRegistration();
  const sub = await registration?.pushManager.getSubscription();
  return sub ? { kind: 'on', endpointOrigin: new URL(sub.endpoint).origin } : { kind: 'off' };
}

/**
 * Opt this browser in: ask for permission, wait for the service worker,
 * subscribe with the server's VAPID key, and register the subscription.
 * Every failure is an Error whose message says what happened and what to do.
 */
export async function enablePush(): Promise<void> {
  const permission = await Notification.requestPermission();
  if (permission === 'denied')
    throw new Error("notifications are blocked for this site; allow them in the browser's site settings");
  if (permission !== 'granted') throw new Error('notifications were not allowed; try again and choose allow');
  const { publicKey } = await api.pushKey();
  const registration = await within(
    navigator.serviceWorker.ready,
    READY_MS,
    'the service worker did not start; reload the page and try again',
  );
  let sub: PushSubscription;
  try {
    sub = await within(
      registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: fromBase64url(publicKey) }),
      SUBSCRIBE_MS,
      `the browser's push service did not answer in ${SUBSCRIBE_MS / 1000} s`,
    );
  } catch (err) {
    const detail =
      err instanceof DOMException ? `${err.name}: ${err.message}` : err instanceof Error ? err.message : String(err);
    throw new Error(
      `this browser could not subscribe to push (${detail}). Push goes through the browser maker's push service, which needs internet access; private windows cannot subscribe.`,
      { cause: err },
    );
  }
  // The browser's own JSON of it; a field it left out is the server's to refuse, naming it.
  const json = sub.toJSON();
  await api.subscribePush({
    body: {
      endpoint: json.endpoint ?? '',
      expirationTime: json.expirationTime ?? null,
      keys: { p256dh: json.keys?.p256dh ?? '', auth: json.keys?.auth ?? '' },
    },
  });
}

/** Opt out: drop the browser's subscription and tell the server to forget it. */
export async function disablePush(): Promise<void> {
  const registration = await navigator.serviceWorker.getRegistration();
  const sub = await registration?.pushManager.getSubscription();
  if (!sub) return;
  const { endpoint } = sub;
  await sub.unsubscribe();
  await api.unsubscribePush({ body: { endpoint } });
}

/** `work`, or a rejection with `message` if it has not settled within `ms`; its own rejection passes through unchanged. */
async function within<T>(work: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => {
      reject(new Error(message));
    }, ms);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function fromBase64url(text: string): Uint8Array<ArrayBuffer> {
  const b64 = text
    .replace(/-/g, '+')
    .replace(/_/g, '/')
    .padEnd(Math.ceil(text.length / 4) * 4, '=');
  const bin = atob(b64);
  const out = new Uint8Array(new ArrayBuffer(bin.length));
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}
