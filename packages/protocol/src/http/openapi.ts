import { z } from 'zod';
import { errorBodySchema } from '../errors.js';
import type { RouteDef, RouteTable } from './route.js';

type Json = Record<string, unknown>;

/** What the document says about itself. */
export interface OpenApiInfo {
  title?: string;
  version: string;
  description?: string;
}

/**
 * An OpenAPI 3.1 document for `table`: one operation per route (its name is
 * the `operationId`), schemas from zod's own JSON Schema output (draft
 * 2020-12, the dialect OpenAPI 3.1 uses): request parts as the server takes
 * them, answers as it sends them. Who may call each route is in `security`
 * and in `x-fabric-auth`.
 */
export function openApiDocument(table: RouteTable, info: OpenApiInfo): Json {
  const paths: Record<string, Record<string, Json>> = {};
  for (const [name, route] of Object.entries(table)) {
    const path = route.path.replace(/:([A-Za-z_][A-Za-z0-9_]*)/g, '{$1}');
    (paths[path] ??= {})[route.method.toLowerCase()] = operation(name, route);
  }
  const tags = [...new Set(Object.values(table).map((r) => r.tag))];
  return {
    openapi: '3.1.0',
    info: {
      title: info.title ?? 'Fabric control plane',
      version: info.version,
      ...(info.description ? { description: info.description } : {}),
    },
    jsonSchemaDialect: 'https://json-schema.org/draft/2020-12/schema',
    tags: tags.map((name) => ({ name })),
    paths,
    components: {
      schemas: { ErrorBody: jsonSchema(errorBodySchema, 'output') },
      responses: {
        Error: {
          description: 'an error: a stable code and a one-line message',
          content: { 'application/json': { schema: { $ref: '#/components/schemas/ErrorBody' } } },
        },
      },
      securitySchemes: {
        bearer: {
          type: 'http',
          scheme: 'bearer',
          bearerFormat: 'JWT',
          description: 'a CLI or browser sign-in token (`optimal login`), or a device token where a route takes one',
        },
        sessionCookie: {
          type: 'apiKey',
          in: 'cookie',
          name: 'fabric_session',
          description:
            'the browser session cookie (HttpOnly, SameSite=Strict); every write must also send `x-fabric-csrf: 1`',
        },
      },
    },
  };
}

/**
 * The JSON Schema of a zod schema, as the part of a request it parses
 * (`input`: defaults optional, coerced strings as their target type) or the
 * answer it describes (`output`). Unrepresentable refinements are left out.
 */
export function jsonSchema(schema: z.ZodType, io: 'input' | 'output'): Json {
  const { $schema: _, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as Json;
  return rest;
}

const errorRef = { $ref: '#/components/responses/Error' };

function operation(name: string, route: RouteDef): Json {
  const kind = route.kind ?? 'json';
  const op: Json = {
    operationId: name,
    tags: [route.tag],
    summary: route.summary,
    ...(route.description ? { description: route.description } : {}),
    'x-fabric-auth': route.auth,
    ...(route.cloudOnly ? { 'x-fabric-cloud-only': true } : {}),
    ...(route.idempotent ? { 'x-fabric-idempotent': true } : {}),
    ...(kind === 'json' ? {} : { 'x-fabric-kind': kind }),
    security: security(route),
  };
  const parameters = [
    ...parametersOf(route.params, 'path'),
    ...parametersOf(route.query, 'query'),
    ...parametersOf(route.headers, 'header'),
  ];
  if (parameters.length > 0) op.parameters = parameters;
  if (route.body) {
    op.requestBody = {
      // The server reads a missing body as {}: a body is required only when {} would not do.
      required: !route.body.safeParse({}).success,
      content: { 'application/json': { schema: jsonSchema(route.body, 'input') } },
    };
  }
  op.responses = { ...successes(route, kind), ...failures(route, parameters.length > 0 || route.body !== undefined) };
  return op;
}

function security(route: RouteDef): Json[] {
  switch (route.auth) {
    case 'public':
      return [];
    case 'device':
      return [{ bearer: [] }];
    case 'user':
    case 'owner':
    case 'owner_or_device':
      return [{ bearer: [] }, { sessionCookie: [] }];
  }
}

function parametersOf(schema: z.ZodType | undefined, where: 'path' | 'query' | 'header'): Json[] {
  if (!schema) return [];
  const object = jsonSchema(schema, 'input') as { properties?: Record<string, Json>; required?: string[] };
  const required = new Set(object.required ?? []);
  return Object.entries(object.properties ?? {}).map(([name, s]) => ({
    name,
    in: where,
    required: where === 'path' || required.has(name),
    schema: s,
  }));
}

function successes(route: RouteDef, kind: 'json' | 'sse' | 'websocket'): Json {
  if (kind === 'websocket') {
    return { '101': { description: 'switching protocols: a WebSocket carrying one JSON envelope per text frame' } };
  }
  if (kind === 'sse') {
    return {
      '200': {
        description: 'an event stream; each `data:` is one event as JSON (`x-fabric-event`), and `event: end` ends it',
        content: {
          'text/event-stream': {
            schema: { type: 'string' },
            ...(route.response ? { 'x-fabric-event': jsonSchema(route.response, 'output') } : {}),
          },
        },
      },
      '204': { description: 'the stream is over and was read to its end: stop reconnecting' },
    };
  }
  const status = String(route.status ?? 200);
  if (!route.response) return { [status]: { description: 'done; no body' } };
  return {
    [status]: {
      description: 'done',
      content: { 'application/json': { schema: jsonSchema(route.response, 'output') } },
    },
  };
}

function failures(route: RouteDef, takesInput: boolean): Json {
  return {
    ...(takesInput ? { '400': errorRef } : {}),
    ...(route.auth === 'public' ? {} : { '401': errorRef, '403': errorRef }),
    ...(route.cloudOnly ? { '410': errorRef } : {}),
    default: errorRef,
  };
}
