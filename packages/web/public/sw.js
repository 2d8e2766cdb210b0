// Fabric cockpit service worker: caches the app shell so the cockpit opens
// without a network, never caches the API, and shows push notifications.
const SHELL = 'fabric-shell-v1';

self.addEventListener('install', (event) => {
  event.waitUntil(caches.open(SHELL).then((c) => c.addAll(['/', '/manifest.webmanifest', '/icon.svg'])).then(() => self.skipWaiting()));
});

self.addEventListener('activate', (event) => {
  event.waitUntil(caches.keys().then((keys) => Promise.all(keys.filter((k) => k !== SHELL).map((k) => caches.delete(k)))).then(() => self.clients.claim()));
});

self.addEventListener('fetch', (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== 'GET' || url.origin !== location.origin || url.pathname.startsWith('/api/') || url.pathname.startsWith('/ws/')) return;
  if (url.pathname.startsWith('/assets/')) {
    // Hashed, immutable: cache first.
    event.respondWith(caches.open(SHELL).then(async (c) => (await c.match(event.request)) ?? fetch(event.request).then((r) => { if (r.ok) c.put(event.request, r.clone()); return r; })));
    return;
  }
  if (event.request.mode === 'navigate') {
    // Network first, the cached shell when offline.
    event.respondWith(fetch(event.request).catch(() => caches.match('/')));
  }
});

// A push from the control plane: JSON {title, body, url, tag} (packages/server/src/push/messages.ts).
// A newer notice for the same session carries the same tag and replaces the older one.
self.addEventListener('push', (event) => {
  let data = {};
  try {
    data = event.data ? event.data.json() : {};
  } catch {
    data = { body: event.data ? event.data.text() : '' };
  }
  event.waitUntil(self.registration.showNotification(data.title || 'Fabric', {
    body: data.body || '', tag: data.tag, renotify: Boolean(data.tag), icon: '/icon.svg', badge: '/icon.svg',
    data: { url: inApp(data.url) },
  }));
});

// Open the session the notice is about: focus a cockpit window that is already open, or open one.
self.addEventListener('notificationclick', (event) => {
  event.notification.close();
  const url = new URL(inApp(event.notification.data && event.notification.data.url), self.location.origin).href;
  event.waitUntil((async () => {
    const windows = await self.clients.matchAll({ type: 'window', includeUncontrolled: true });
    const open = windows.find((w) => new URL(w.url).origin === self.location.origin);
    if (open) {
      await open.focus();
      if ('navigate' in open) await open.navigate(url).catch(() => {});
      return;
    }
    await self.clients.openWindow(url);
  })());
});

// The browser replaced this subscription (keys rotated, or it expired): tell the server, with the session cookie.
self.addEventListener('pushsubscriptionchange', (event) => {
  const headers = { 'content-type': 'application/json', 'x-fabric-csrf': '1' };
  event.waitUntil((async () => {
    if (event.oldSubscription) {
      await fetch('/api/push/subscriptions', { method: 'DELETE', credentials: 'same-origin', headers, body: JSON.stringify({ endpoint: event.oldSubscription.endpoint }) }).catch(() => {});
    }
    if (event.newSubscription) {
      await fetch('/api/push/subscriptions', { method: 'POST', credentials: 'same-origin', headers, body: JSON.stringify(event.newSubscription.toJSON()) }).catch(() => {});
    }
  })());
});

/** Only paths inside the cockpit: a notice never opens another site. */
function inApp(url) {
  return typeof url === 'string' && url.startsWith('/') && !url.startsWith('//') ? url : '/';
}
