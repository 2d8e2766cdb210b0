import { Validator } from '@seriousme/openapi-schema-validator';
import { afterEach, describe, expect, it } from 'vitest';
import { routes } from '@fabric/protocol';
import { buildServer, type BuiltServer } from '../src/server.js';

/** Built, not listening: every request here goes through `app.inject()`. */
let s: BuiltServer | undefined;
afterEach(async () => {
  await s?.close();
  s = undefined;
});

interface Doc {
  openapi: string;
  paths: Record<string, Record<string, { operationId: string; security: unknown[] }>>;
}

async function served(mode: 'cloud' | 'local'): Promise<Doc> {
  s = await buildServer({ mode, push: { subject: 'mailto:ops@example.com' } });
  await s.app.ready();
  const res = await s.app.inject({ method: 'GET', url: '/api/openapi.json' });
  expect(res.statusCode).toBe(200);
  expect(res.headers['content-type']).toMatch(/^application\/json/);
  return res.json<Doc>();
}

describe('GET /api/openapi.json', () => {
  it('serves an OpenAPI 3.1 document that a validator accepts, with one operation per route of the table', async () => {
    const doc = await served('cloud');
    expect(doc.openapi).toBe('3.1.0');
    const result = await new Validator().validate(doc as never);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    const operations = Object.values(doc.paths).flatMap((ops) => Object.values(ops).map((op) => op.operationId));
    expect(operations.sort()).toEqual(Object.keys(routes).sort());
    expect(doc.paths['/api/sessions/{id}']?.get?.security).toEqual([{ bearer: [] }, { sessionCookie: [] }]);
    expect(doc.paths['/api/auth/login']?.post?.security).toEqual([]);
  });

  it('is public and the same in local mode, where cloud-only routes are marked as such', async () => {
    const doc = await served('local');
    expect(Object.keys(doc.paths)).toContain('/api/vault/set');
    expect(doc.paths['/api/vault/set']?.get).toMatchObject({ 'x-fabric-cloud-only': true });
  });

  it('would be refused by the validator if it were broken, so passing means something', async () => {
    const doc = await served('cloud');
    // Swagger 2's body parameter and an optional path parameter: neither is OpenAPI 3.1.
    const broken = structuredClone(doc) as unknown as {
      paths: Record<string, Record<string, { parameters: { in: string; required: boolean }[] }>>;
    };
    broken.paths['/api/sessions']!.get!.parameters[0]!.in = 'body';
    expect((await new Validator().validate(broken as never)).valid).toBe(false);
    const optional = structuredClone(doc) as typeof broken;
    optional.paths['/api/sessions/{id}']!.get!.parameters[0]!.required = false;
    const result = await new Validator().validate(optional as never);
    expect(result.valid).toBe(false);
  });
});

describe('the route table and what the server registers', () => {
  it.each(['cloud', 'local'] as const)(
    'registers every HTTP route of the table, and no route that is not in it (%s mode)',
    async (mode) => {
      s = await buildServer({ mode, push: { subject: 'mailto:ops@example.com' } });
      const registered: string[] = [];
      s.app.addHook('onRoute', (route) => {
        for (const method of [route.method].flat()) registered.push(`${method} ${route.url}`);
      });
      await s.app.ready();
      const table = Object.values(routes)
        .filter((r) => r.kind !== 'websocket')
        .map((r) => `${r.method} ${r.path}`);
      // Fastify answers HEAD for every GET by itself; those are the GET routes of the table.
      const own = registered.filter((r) => !(r.startsWith('HEAD ') && table.includes(`GET ${r.slice(5)}`)));
      expect([...own].sort()).toEqual([...table].sort());
      for (const route of Object.values(routes)) {
        if (route.kind === 'websocket') continue;
        expect(s.app.hasRoute({ method: route.method, url: route.path }), `${route.method} ${route.path}`).toBe(true);
      }
    },
  );

  it('answers the cloud-only routes of the table 410 in local mode, and only those', async () => {
    s = await buildServer({ mode: 'local' });
    await s.app.ready();
    for (const route of Object.values(routes)) {
      if (route.kind === 'websocket') continue;
      const url = route.path.replace(/:[A-Za-z]+/g, 'x');
      const res = await s.app.inject({ method: route.method, url, ...(route.method === 'GET' ? {} : { payload: {} }) });
      if (route.cloudOnly) {
        expect([url, res.statusCode, res.json<{ code: string }>().code]).toEqual([url, 410, 'cloud_only']);
      } else {
        expect([url, res.statusCode]).not.toEqual([url, 410]);
      }
    }
  });
});
