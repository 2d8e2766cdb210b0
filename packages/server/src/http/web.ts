import { existsSync } from 'node:fs';
import { join } from 'node:path';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';

const CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob:",
  "font-src 'self'",
  "connect-src 'self' ws: wss:",
  "worker-src 'self'",
  "manifest-src 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'self'",
].join('; ');

/**
 * Serve the cockpit build from `root`: hashed assets for a year, index.html
 * never cached, and any other GET that wants HTML gets index.html (client
 * routes). Strict security headers on every page.
 */
export async function serveCockpit(app: FastifyInstance, root: string): Promise<boolean> {
  if (!existsSync(join(root, 'index.html'))) return false;
  await app.register(fastifyStatic, {
    root,
    prefix: '/',
    index: ['index.html'],
    setHeaders(res, path) {
      res.header('X-Content-Type-Options', 'nosniff');
      res.header('Referrer-Policy', 'no-referrer');
      if (path.endsWith('.html')) {
        res.header('Cache-Control', 'no-cache');
        res.header('Content-Security-Policy', CSP);
      } else if (path.includes('/assets/')) {
        res.header('Cache-Control', 'public, max-age=31536000, immutable');
      } else {
        res.header('Cache-Control', 'no-cache');
      }
    },
  });
  return true;
}

/** For the not-found handler: a browser navigation to a client route. */
export function wantsCockpit(method: string, url: string, accept: string | undefined): boolean {
  return (
    method === 'GET' && !url.startsWith('/api/') && !url.startsWith('/ws/') && (accept ?? '').includes('text/html')
  );
}

export { CSP };
