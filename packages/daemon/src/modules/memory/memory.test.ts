import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FabricError, type MemoryRecallAnswer, type MemoryRecallInput } from '@fabric/protocol';
import { FeatureHashEmbedder, type Embedder } from './embed.js';
import { Memory, type MemoryOptions } from './memory.js';
import { estimateTokens } from './text.js';

const DAY = 86_400_000;
const T0 = Date.UTC(2025, 5, 1, 12, 0, 0);

let root: string;
let clock: number;
let open: Memory[];

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'fabric-memory-'));
  clock = T0;
  open = [];
});

afterEach(async () => {
  for (const m of open) await m.close();
  rmSync(root, { recursive: true, force: true });
});

function memory(options: Partial<MemoryOptions> = {}): Memory {
  const m = new Memory({
    dir: join(root, 'memory'),
    index: join(root, 'memory-index.db'),
    now: () => clock,
    ...options,
  });
  open.push(m);
  return m;
}

/** A runbook long enough to make many chunks, every section about backups. */
function backupRunbook(): string {
  const sections = [
    'Schedule',
    'Keys',
    'Restore drill',
    'Retention',
    'Offsite copy',
    'Monitoring',
    'Failures',
    'Costs',
  ];
  return sections
    .map(
      (s, i) =>
        `## ${s}\n\n${Array.from(
          { length: 14 },
          (_, j) =>
            `Backup step ${i}.${j}: the restic backup of /srv runs nightly and a restore of the backup snapshot is checked.`,
        ).join(' ')}`,
    )
    .join('\n\n');
}

/** A small corpus on distinct topics; answers the ids by topic. */
async function seed(m: Memory): Promise<Record<string, string>> {
  const ids: Record<string, string> = {};
  ids.backup = (
    await m.store({
      summary: 'rotate the backup encryption keys every 90 days',
      detail: 'The restic repository password lives in the vault. After a rotation, run a test restore.',
      category: 'runbook',
      tags: ['backup'],
    })
  ).id;
  ids.postgres = (
    await m.store({
      summary: 'Postgres tuning',
      detail:
        'The Postgres database listens on port 5432. Vacuum runs nightly at 03:00; slow queries over 500 ms are logged.',
      category: 'fact',
    })
  ).id;
  ids.deploy = (
    await m.ingest({
      source: 'docs/deploy.md',
      title: 'Deploying to production',
      text: 'Deploying containers to production: build the image with docker, push it to the registry, then roll out with kubectl and watch the pods become ready.',
    })
  ).id;
  ids.dns = (
    await m.store({
      summary: 'home lab DNS',
      detail:
        'DNS is served by a Pi-hole on 192.168.1.2; upstream resolvers are Quad9 and Cloudflare over DNS-over-HTTPS.',
      category: 'fact',
      tags: ['network'],
    })
  ).id;
  ids.tls = (
    await m.store({
      summary: 'nginx terminates TLS',
      detail: 'The nginx reverse proxy terminates TLS; certbot renews the certificates every 60 days.',
      category: 'fact',
    })
  ).id;
  ids.ssh = (
    await m.store({
      summary: 'SSH logins use keys only',
      detail: 'Password authentication is disabled in sshd_config; only key-based logins are accepted.',
      category: 'decision',
    })
  ).id;
  ids.grafana = (
    await m.ingest({
      source: 'grafana',
      kind: 'alert.rule',
      text: 'Grafana alerts when a disk volume is above 85 percent full.',
      ts: T0 - 40 * DAY,
    })
  ).id;
  return ids;
}

const first = (a: MemoryRecallAnswer): string | undefined => a.chunks[0]?.memoryId;

async function refusal(p: Promise<unknown>): Promise<FabricError> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  if (!(err instanceof FabricError)) throw new Error(`expected a FabricError, got ${String(err)}`);
  return err;
}

describe('Memory', () => {
  describe('recall', () => {
    it('ranks the memory about the query first', async () => {
      const m = memory();
      const ids = await seed(m);
      expect(first(await m.recall({ query: 'postgres vacuum schedule' }))).toBe(ids.postgres);
      expect(first(await m.recall({ query: 'how often do we rotate the backup keys?' }))).toBe(ids.backup);
      expect(first(await m.recall({ query: 'which upstream resolvers does DNS use' }))).toBe(ids.dns);
      expect(first(await m.recall({ query: 'certificate renewal for the reverse proxy' }))).toBe(ids.tls);
    });

    it('finds a memory by a word only it contains, lexically', async () => {
      const m = memory();
      const ids = await seed(m);
      const a = await m.recall({ query: 'sshd_config' });
      expect(first(a)).toBe(ids.ssh);
      expect(a.chunks[0]?.ranks.bm25).toBe(1);
    });

    it('finds a paraphrase that shares no word with it, by the vector search alone', async () => {
      const m = memory();
      const ids = await seed(m);
      const a = await m.recall({ query: 'redeploying productionized containerization' });
      expect(first(a)).toBe(ids.deploy);
      expect(a.chunks[0]?.ranks).toEqual({ bm25: null, vector: 1 });
    });

    it('answers few or none, not max_results, for a query about nothing in memory', async () => {
      const m = memory();
      await seed(m);
      for (const query of ['chocolate cake with strawberries', 'quantum chromodynamics gluon field']) {
        const a = await m.recall({ query, max_results: 10 });
        expect(a.chunks.length).toBeLessThanOrEqual(1);
        expect(a.dropped.belowThreshold).toBeGreaterThan(0);
      }
    });

    it('honours the token budget exactly, and a smaller budget returns fewer chunks', async () => {
      const m = memory();
      await seed(m);
      const { chunks } = await m.ingest({ source: 'docs/backup.md', title: 'Backup runbook', text: backupRunbook() });
      expect(chunks).toBeGreaterThan(6);
      const query = { query: 'restic backup restore snapshot', max_results: 100, min_relevance: 0 };
      const wide = await m.recall({ ...query, token_budget: 100_000 });
      const big = await m.recall({ ...query });
      const small = await m.recall({ ...query, token_budget: 300 });
      for (const [a, budget] of [
        [big, 1500],
        [small, 300],
      ] as const) {
        const sum = a.chunks.reduce((s, c) => s + estimateTokens(c.text), 0);
        expect(a.tokens).toBe(sum);
        expect(sum).toBeLessThanOrEqual(budget);
        expect(a.dropped.overBudget).toBeGreaterThan(0);
      }
      expect(wide.chunks.length).toBeGreaterThan(big.chunks.length);
      expect(big.chunks.length).toBeGreaterThan(small.chunks.length);
      expect(small.chunks.length).toBeGreaterThan(0);
      // The budget keeps the best: a smaller budget returns a prefix of the larger answer.
      expect(small.chunks.map((c) => c.id)).toEqual(big.chunks.slice(0, small.chunks.length).map((c) => c.id));
    });

    it('keeps to the timeframe', async () => {
      const m = memory();
      const ids = await seed(m);
      const query = 'grafana disk volume alert';
      expect(first(await m.recall({ query }))).toBe(ids.grafana);
      expect((await m.recall({ query, timeframe: '30d' })).chunks.map((c) => c.memoryId)).not.toContain(ids.grafana);
      expect(first(await m.recall({ query, timeframe: '2025-04-01..2025-04-30' }))).toBe(ids.grafana);
      expect((await m.recall({ query: 'postgres', timeframe: '..2025-04-30' })).chunks).toEqual([]);
      expect((await refusal(m.recall({ query, timeframe: 'last week' }))).code).toBe('bad_request');
    });

    it('takes FTS5 syntax in queries as plain text, and punctuation alone finds nothing', async () => {
      const m = memory();
      const ids = await seed(m);
      for (const query of [
        '"',
        '*',
        'NEAR(',
        '-',
        ':',
        '"postgres',
        'postgres*',
        'NEAR(postgres vacuum)',
        '-postgres',
        'text:postgres',
        'postgres" OR "x',
        '^postgres',
        '(AND)',
      ]) {
        const a = await m.recall({ query });
        if (/postgres/.test(query)) expect(first(a)).toBe(ids.postgres);
        else expect(a.chunks).toEqual([]);
      }
    });

    it('waits for a rebuild under way, then answers from the rebuilt index', async () => {
      const m = memory();
      const ids = await seed(m);
      const [re, a] = await Promise.all([m.reindex(), m.recall({ query: 'postgres vacuum' })]);
      expect(re.memories).toBe(7);
      expect(first(a)).toBe(ids.postgres);
    });

    it('refuses invalid input with bad_request', async () => {
      const m = memory();
      for (const input of [
        { query: '' },
        { query: 'x', max_results: 0 },
        { query: 'x', max_results: 101 },
        { query: 'x', extra: 1 },
      ] as MemoryRecallInput[]) {
        expect((await refusal(m.recall(input))).code).toBe('bad_request');
      }
      expect((await refusal(m.store({ summary: 'x', tags: ['has space'] }))).code).toBe('bad_request');
    });
  });

  describe('query embedding cache', () => {
    it('embeds a repeated query once, and again after five minutes', async () => {
      const inner = new FeatureHashEmbedder();
      const embedded: string[] = [];
      const counting: Embedder = {
        id: inner.id,
        dim: inner.dim,
        similarityFloor: inner.similarityFloor,
        embed: async (texts) => {
          embedded.push(...texts);
          return inner.embed(texts);
        },
      };
      const m = memory({ embedder: counting });
      await seed(m);
      const query = 'postgres vacuum';
      const times = (): number => embedded.filter((t) => t === query).length;
      const a = await m.recall({ query });
      const b = await m.recall({ query, max_results: 3 });
      expect(times()).toBe(1);
      expect(b.chunks[0]).toEqual(a.chunks[0]);
      clock += 5 * 60_000 - 1;
      await m.recall({ query });
      expect(times()).toBe(1);
      clock += 1;
      await m.recall({ query });
      expect(times()).toBe(2);
    });
  });

  describe('rebuilt from the files', () => {
    const queries = [
      'postgres vacuum schedule',
      'backup keys',
      'redeploying productionized containerization',
      'dns resolvers',
    ];
    const answers = async (m: Memory) => Promise.all(queries.map((query) => m.recall({ query })));

    it('answers the same after the index file is deleted', async () => {
      const m = memory();
      await seed(m);
      const before = await answers(m);
      const health = await m.health();
      await m.close();
      for (const suffix of ['', '-wal', '-shm']) rmSync(join(root, `memory-index.db${suffix}`), { force: true });

      const again = memory();
      expect((await again.health()).chunks).toBe(0);
      expect(await answers(again)).toEqual(before);
      const re = await again.reindex();
      expect(re).toMatchObject({ memories: health.memories, chunks: health.chunks, errors: [] });
      expect(await answers(again)).toEqual(before);
      expect(await again.health()).toMatchObject({
        embedder: 'feature-hash-v1-512',
        dim: 512,
        memories: 7,
        chunks: 7,
        indexedAt: T0,
      });
    });

    it('finds text a person wrote into a file, once reindexed', async () => {
      const m = memory();
      const ids = await seed(m);
      const { file } = await m.store({ summary: 'lunch order', detail: 'Pizza on Fridays.' });
      const path = join(root, 'memory', file);
      writeFileSync(
        path,
        readFileSync(path, 'utf8').replace('Pizza on Fridays.', 'The zebra migration crosses the Mara river in July.'),
      );
      expect((await m.recall({ query: 'zebra migration' })).chunks).toEqual([]);
      await m.reindex();
      const a = await m.recall({ query: 'zebra migration' });
      expect(a.chunks[0]?.text).toContain('zebra migration');
      expect(first(await m.recall({ query: 'postgres vacuum' }))).toBe(ids.postgres);
    });

    it('reports a damaged or duplicate file and indexes all the others', async () => {
      const m = memory();
      const ids = await seed(m);
      writeFileSync(join(root, 'memory', 'notes.md'), 'no frontmatter here');
      const { file } = await m.store({ summary: 'a memory to copy', detail: 'copied' });
      writeFileSync(join(root, 'memory', 'zz-copy.md'), readFileSync(join(root, 'memory', file), 'utf8'));
      writeFileSync(join(root, 'memory', '.half-written.md'), 'ignored: dot-files are temp files');
      const re = await m.reindex();
      expect(re.memories).toBe(8);
      expect(re.errors).toEqual([
        { file: 'notes.md', message: expect.stringMatching(/no frontmatter/) },
        { file: 'zz-copy.md', message: expect.stringMatching(/already used/) },
      ]);
      expect(first(await m.recall({ query: 'postgres vacuum' }))).toBe(ids.postgres);
    });

    it('rebuilds by itself when the embedder changes', async () => {
      await seed(memory());
      const m = memory({ embedder: new FeatureHashEmbedder({ dim: 256 }) });
      expect(first(await m.recall({ query: 'postgres vacuum' }))).toBeDefined();
      expect(await m.health()).toMatchObject({ embedder: 'feature-hash-v1-256', dim: 256, memories: 7 });
    });
  });

  describe('ingest', () => {
    it('takes a document of a megabyte as hundreds of chunks, and refuses one over the limit', async () => {
      const m = memory();
      const para = (i: number) =>
        `Paragraph ${i} of the operations handbook covers routine maintenance windows and who approves them.`;
      let text = '';
      for (let i = 0; text.length < 1_000_000; i++)
        text += `${i % 40 === 0 ? `## Part ${i / 40}\n\n` : ''}${para(i)}\n\n`;
      text += 'The last line names the walrus protocol.';
      const doc = await m.ingest({ source: 'handbook.md', title: 'Operations handbook', text });
      expect(doc.chunks).toBeGreaterThan(500);
      expect(first(await m.recall({ query: 'walrus protocol' }))).toBe(doc.id);
      expect((await refusal(m.ingest({ source: 'big', text: 'x'.repeat(4 * 1024 * 1024 + 1) }))).code).toBe(
        'bad_request',
      );
    });
  });

  describe('files', () => {
    it('writes one markdown file per memory, 0600 in a 0700 dir, and the index 0600', async () => {
      const m = memory();
      const w = await m.store({
        summary: 'Rotate the keys!',
        detail: '# Why\n\nAudit.',
        category: 'decision',
        tags: ['keys'],
        source: 'owner',
      });
      expect(w.file).toBe(`2025-06/rotate-the-keys-${w.id}.md`);
      const path = join(root, 'memory', w.file);
      expect(readFileSync(path, 'utf8')).toBe(
        [
          '---',
          `id: ${w.id}`,
          'created: 2025-06-01T12:00:00.000Z',
          'category: "decision"',
          'tags: ["keys"]',
          'summary: "Rotate the keys!"',
          'source: "owner"',
          '---',
          '',
          '# Why',
          '',
          'Audit.',
          '',
        ].join('\n'),
      );
      expect(statSync(path).mode & 0o777).toBe(0o600);
      expect(statSync(join(root, 'memory')).mode & 0o777).toBe(0o700);
      expect(statSync(join(root, 'memory', '2025-06')).mode & 0o777).toBe(0o700);
      expect(statSync(join(root, 'memory-index.db')).mode & 0o777).toBe(0o600);
      const doc = await m.ingest({ source: 'stdin', text: 'x'.repeat(10), ts: Date.UTC(2024, 0, 2) });
      expect(doc.file).toBe(`2024-01/xxxxxxxxxx-${doc.id}.md`);
    });
  });
});
