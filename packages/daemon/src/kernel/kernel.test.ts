import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Sqlite } from '@fabric/node';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { Envelope } from '@fabric/protocol';
import { until } from '@fabric/node/testing';
import { Kernel, type KernelServices } from './kernel.js';
import { tool, type DaemonModule, type KernelContext } from './module.js';

let dir: string;
let warnings: string[];
let services: KernelServices;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'fabric-kernel-'));
  warnings = [];
  services = {
    dataDir: dir,
    clock: { now: () => 1_700_000_000_000 },
    log: { info: () => undefined, warn: (m) => warnings.push(m) },
    audit: () => ({ seq: 1 }),
    emit: () => undefined,
    session: () => null,
    approve: () => Promise.resolve({ decision: 'deny' as const, reason: 'no one asked' }),
  };
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const echoSpec = (name: string) => ({
  name,
  title: name,
  description: `says ${name}`,
  input: z.object({ text: z.string() }),
  output: z.object({ said: z.string() }),
  effect: 'read' as const,
});

/** A module that records what the kernel did to it in `trail`. */
function recorder(
  name: string,
  trail: string[],
  opts: { failStart?: boolean; failStop?: boolean; store?: string } = {},
) {
  let db: Sqlite | null = null;
  const module: DaemonModule & { db: () => Sqlite | null } = {
    name,
    db: () => db,
    start(ctx: KernelContext) {
      trail.push(`start ${name}`);
      if (opts.store !== undefined) db = ctx.db(opts.store, ['CREATE TABLE notes (text TEXT NOT NULL)']);
      if (opts.failStart) throw new Error(`${name} cannot start`);
    },
    stop() {
      trail.push(`stop ${name}`);
      if (opts.failStop) throw new Error('disk gone');
    },
    tools: [tool(echoSpec(`${name}_echo`), (_caller, input) => ({ said: `${name}: ${input.text}` }))],
  };
  return module;
}

describe('Kernel', () => {
  it('starts modules in order, serves their tools, and stops them in reverse', async () => {
    const trail: string[] = [];
    const kernel = new Kernel(services, [recorder('alpha', trail), recorder('beta', trail)]);
    await kernel.start();
    expect(kernel.tools.list().map((t) => t.name)).toEqual(['alpha_echo', 'beta_echo']);
    expect(await kernel.tools.call({ kind: 'owner' }, 'beta_echo', { text: 'hi' })).toEqual({ said: 'beta: hi' });
    await kernel.stop();
    expect(trail).toEqual(['start alpha', 'start beta', 'stop beta', 'stop alpha']);
  });

  it('gives a module its own migrated store, private to the user, and closes it after the module stops', async () => {
    const notes = recorder('notes', [], { store: 'notes' });
    const kernel = new Kernel(services, [notes]);
    await kernel.start();
    const db = notes.db()!;
    db.prepare('INSERT INTO notes (text) VALUES (?)').run('kept');
    expect(db.pragma('user_version', { simple: true })).toBe(1);
    expect(statSync(join(dir, 'notes.db')).mode & 0o777).toBe(0o600);
    await kernel.stop();
    expect(db.open).toBe(false);
  });

  it('stops what started, in reverse, when a module cannot start, and starts nothing after it', async () => {
    const trail: string[] = [];
    const broken = recorder('broken', trail, { failStart: true, store: 'broken' });
    const kernel = new Kernel(services, [
      recorder('alpha', trail),
      recorder('beta', trail),
      broken,
      recorder('gamma', trail),
    ]);
    await expect(kernel.start()).rejects.toThrow('broken could not start: broken cannot start');
    expect(trail).toEqual(['start alpha', 'start beta', 'start broken', 'stop beta', 'stop alpha']);
    expect(broken.db()!.open).toBe(false);
    expect(kernel.tools.list()).toEqual([]);
  });

  it('refuses two modules offering one tool, or opening one store, naming both', async () => {
    const trail: string[] = [];
    const twin = { ...recorder('twin', trail), tools: recorder('alpha', []).tools };
    await expect(new Kernel(services, [recorder('alpha', trail), twin]).start()).rejects.toThrow(
      'tool alpha_echo is offered by alpha and twin',
    );
    // Found before anything starts.
    expect(trail).toEqual([]);
    const a = recorder('a', [], { store: 'shared' });
    const b = recorder('b', [], { store: 'shared' });
    await expect(new Kernel(services, [a, b]).start()).rejects.toThrow('store shared.db is opened by a and b');
    expect(a.db()!.open).toBe(false);
    expect(() => new Kernel(services, [recorder('x', []), recorder('x', [])])).toThrow('module x is composed twice');
  });

  it('refuses a store name that is not a plain name', async () => {
    for (const name of ['../escape', 'a/b', '', 'Upper', 'x'.repeat(41)]) {
      const kernel = new Kernel(services, [recorder('m', [], { store: name })]);
      await expect(kernel.start()).rejects.toThrow('is not a plain name');
    }
  });

  it('logs a module that fails to stop and still stops the others', async () => {
    const trail: string[] = [];
    const kernel = new Kernel(services, [recorder('alpha', trail), recorder('beta', trail, { failStop: true })]);
    await kernel.start();
    await kernel.stop();
    expect(trail).toEqual(['start alpha', 'start beta', 'stop beta', 'stop alpha']);
    expect(warnings).toEqual(['beta: stop failed: disk gone']);
    await expect(kernel.start()).rejects.toThrow('the kernel was already stopped');
  });

  it('hands each envelope to the module that handles its type, only while it runs', async () => {
    const got: string[] = [];
    const sessions: DaemonModule = {
      name: 'sessions',
      start: () => undefined,
      envelopes: {
        'session.cancel': (env) => got.push(`cancel ${env.payload.sessionId}`),
        'session.input': (env) => got.push(`input ${env.payload.data}`),
      },
    };
    const kernel = new Kernel(services, [sessions]);
    const cancel: Envelope = {
      corrId: 'ses_kernel000001',
      type: 'session.cancel',
      direction: 'to_device',
      ts: 1,
      payload: { sessionId: 'ses_kernel000001' },
    };
    const error: Envelope = {
      corrId: 'err_1',
      type: 'error',
      direction: 'to_device',
      ts: 1,
      payload: { code: 'internal', message: 'x' },
    };
    expect(kernel.deliver(cancel)).toBe(false);
    await kernel.start();
    expect(kernel.deliver(cancel)).toBe(true);
    expect(kernel.deliver(error)).toBe(false);
    await kernel.stop();
    expect(kernel.deliver(cancel)).toBe(false);
    expect(got).toEqual(['cancel ses_kernel000001']);
  });

  it('lets a handler throw to its caller, and refuses two modules handling one envelope type', async () => {
    const handles = (name: string, fail = false): DaemonModule => ({
      name,
      start: () => undefined,
      envelopes: {
        'ledger.checkpoint_ack': () => {
          if (fail) throw new Error(`${name} broke`);
        },
      },
    });
    const ack: Envelope = {
      corrId: 'lcp_1',
      type: 'ledger.checkpoint_ack',
      direction: 'to_device',
      ts: 1,
      payload: { seq: 1 },
    };
    const kernel = new Kernel(services, [handles('one', true)]);
    await kernel.start();
    expect(() => kernel.deliver(ack)).toThrow('one broke');
    await kernel.stop();
    const trail: string[] = [];
    await expect(
      new Kernel(services, [recorder('alpha', trail), handles('one'), handles('two')]).start(),
    ).rejects.toThrow('envelope ledger.checkpoint_ack is handled by one and two');
    // Found before anything starts.
    expect(trail).toEqual([]);
  });

  it('stops a module that was starting when stop was called, and starts none after it', async () => {
    const trail: string[] = [];
    let release: () => void = () => undefined;
    const slow: DaemonModule = {
      name: 'slow',
      start: () =>
        new Promise<void>((resolve) => {
          trail.push('start slow');
          release = resolve;
        }),
      stop: () => void trail.push('stop slow'),
    };
    const kernel = new Kernel(services, [recorder('alpha', trail), slow, recorder('beta', trail)]);
    const starting = kernel.start();
    await until(() => trail.includes('start slow'));
    const stopping = kernel.stop();
    release();
    await stopping;
    await expect(starting).rejects.toThrow('the kernel was stopped while it started');
    expect(trail).toEqual(['start alpha', 'start slow', 'stop alpha', 'stop slow']);
    expect(kernel.tools.list()).toEqual([]);
  });
});
