import { describe, expect, it } from 'vitest';
import { jsonSchema, openApiDocument } from './openapi.js';
import { pathParams, type RouteDef } from './route.js';
import { routeGroups, routes } from './routes.js';

const table = Object.entries(routes) as [string, RouteDef][];

describe('the route table', () => {
  it('names every route once, across its groups', () => {
    const names = routeGroups.flatMap((group) => Object.keys(group));
    expect(names.length).toBe(new Set(names).size);
    expect(Object.keys(routes).length).toBe(names.length);
  });

  it('declares each method and path once', () => {
    const keys = table.map(([, r]) => `${r.method} ${r.path}`);
    expect(keys.length).toBe(new Set(keys).size);
  });

  it("names in each route's params schema exactly the parameters of its path", () => {
    for (const [name, route] of table) {
      const declared = route.params
        ? Object.keys((jsonSchema(route.params, 'input') as { properties?: object }).properties ?? {})
        : [];
      expect([name, declared.sort()]).toEqual([name, pathParams(route.path).sort()]);
    }
  });

  it('takes no body on GET, and answers no body exactly when it says 204', () => {
    for (const [name, route] of table) {
      if (route.method === 'GET') expect([name, route.body]).toEqual([name, undefined]);
      if (route.kind === undefined || route.kind === 'json') {
        expect([name, route.status === 204]).toEqual([name, route.response === null]);
      }
    }
  });

  it('marks only the session start idempotent, and sends a WebSocket only to the two socket paths', () => {
    expect(table.filter(([, r]) => r.idempotent).map(([n]) => n)).toEqual(['createSession']);
    expect(table.filter(([, r]) => r.kind === 'websocket').map(([, r]) => r.path)).toEqual([
      '/ws/device',
      '/ws/browser',
    ]);
  });

  it('turns into JSON Schema without $defs that an OpenAPI document could not resolve', () => {
    const text = JSON.stringify(openApiDocument(routes, { version: 'test' }));
    expect(text).not.toContain('$defs');
    expect(text).not.toContain('"$schema"');
  });

  it('takes a missing body as {} where every field has a default, and documents it as optional', () => {
    const doc = openApiDocument(routes, { version: 'test' }) as {
      paths: Record<string, Record<string, { requestBody?: { required: boolean } }>>;
    };
    expect(doc.paths['/api/sessions/{id}/cancel']?.post?.requestBody?.required).toBe(false);
    expect(doc.paths['/api/sessions']?.post?.requestBody?.required).toBe(true);
  });
});
