#!/usr/bin/env node
// The cockpit's first-load JavaScript, gzipped: the module entry and the
// modulepreloads that packages/web/dist/index.html loads before anything is
// drawn (lazy chunks are not counted). Prints one JSON line; exits 1 when the
// total is over the budget (150 KB, issue 5) or the build is missing.
//
//   node scripts/bundle-size.mjs [distDir] [--budget-kb 150]
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const args = process.argv.slice(2);
const budgetAt = args.indexOf('--budget-kb');
const budgetKb = budgetAt >= 0 ? Number(args.splice(budgetAt, 2)[1]) : 150;
const dist = resolve(args[0] ?? join(fileURLToPath(new URL('..', import.meta.url)), 'packages/web/dist'));
const indexHtml = join(dist, 'index.html');
if (!existsSync(indexHtml)) {
  console.error(`bundle-size: ${indexHtml} is missing; run npm run build first`);
  process.exit(1);
}

const html = readFileSync(indexHtml, 'utf8');
const attr = (tag, name) => new RegExp(`\\b${name}\\s*=\\s*["']([^"']+)["']`, 'i').exec(tag)?.[1] ?? null;
const files = [];
for (const [tag] of html.matchAll(/<script\b[^>]*>/gi)) {
  const src = attr(tag, 'src');
  if (src && /\btype\s*=\s*["']module["']/i.test(tag)) files.push(src);
}
for (const [tag] of html.matchAll(/<link\b[^>]*>/gi)) {
  const href = attr(tag, 'href');
  if (href && /\brel\s*=\s*["']modulepreload["']/i.test(tag)) files.push(href);
}
if (files.length === 0) {
  console.error('bundle-size: index.html loads no module script');
  process.exit(1);
}

const sizes = [...new Set(files)].map((url) => {
  const path = join(dist, url.replace(/^\//, '').split(/[?#]/)[0]);
  if (/^[a-z]+:\/\//i.test(url) || !existsSync(path)) {
    console.error(`bundle-size: ${url} is not in ${dist}`);
    process.exit(1);
  }
  const bytes = readFileSync(path);
  return { file: url, bytes: bytes.length, gzip: gzipSync(bytes, { level: 9 }).length };
});
const gzipBytes = sizes.reduce((n, s) => n + s.gzip, 0);
const result = {
  metric: 'first-load-js',
  files: sizes,
  bytes: sizes.reduce((n, s) => n + s.bytes, 0),
  gzipBytes,
  gzipKb: Math.round((gzipBytes / 1024) * 100) / 100,
  budgetKb,
  ok: gzipBytes < budgetKb * 1024,
};
console.log(JSON.stringify(result));
process.exit(result.ok ? 0 : 1);
