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

self.addEventListener('push', (event) => {
  const data = event.data ? event.data.json() : { title: 'Fabric', body: '' };
  event.waitUntil(self.registration.showNotification(data.title ?? 'Fabric', { body: data.body ?? '', tag: data.tag, data: { url: data.url ?? '/' }, icon: '/icon.svg' }));
});

self.addEventListener('notificationclick', (event) => {
  event.notification.close();
  event.waitUntil(self.clients.openWindow(event.notification.data?.url ?? '/'));
});
