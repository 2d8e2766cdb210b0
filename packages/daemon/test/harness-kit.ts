// What the runner and harness adapter tests share: a recorder of the envelopes a SessionRunner emits, and a
// runner whose agent CLI is a scripted fake first on PATH, undone after each test.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach } from 'vitest';
import { until } from '@fabric/node/testing';
import type { Envelope, EnvelopeOf, SessionEvent } from '@fabric/protocol';
import type { HarnessAdapter } from '../src/sessions/harness/types.js';
import { SessionRunner, type RunnerOptions } from '../src/sessions/runner.js';
import { installFakeCli, type FakeCli, type Step } from './fake-cli/index.js';

const sessionOf = (e: Envelope): string | undefined => (e.payload as { sessionId?: string }).sessionId;

/** Every envelope a runner emitted, and promises for the ones still to come (no polling). */
export class EnvelopeRecorder {
  readonly envelopes: Envelope[] = [];
  /** Called with each envelope as it is emitted (a test that answers approvals as they come). */
  onEmit: ((env: Envelope) => void) | null = null;
  private waiters: { match: (e: Envelope) => boolean; resolve: (e: Envelope) => void }[] = [];

  emit = (env: Envelope): void => {
    this.envelopes.push(env);
    this.onEmit?.(env);
    for (const w of this.waiters.filter((x) => x.match(env))) {
      this.waiters.splice(this.waiters.indexOf(w), 1);
      w.resolve(env);
    }
  };

  /**
   * The first envelope of `type` for `sessionId` (and matching `where`),
   * already emitted or still to come; rejects, naming it, after `timeoutMs`.
   */
  next<T extends Envelope['type']>(
    type: T,
    sessionId: string,
    whereOrTimeout: ((e: EnvelopeOf<T>) => boolean) | number = () => true,
    timeoutMs = 30_000,
  ): Promise<EnvelopeOf<T>> {
    const where = typeof whereOrTimeout === 'function' ? whereOrTimeout : () => true;
    const ms = typeof whereOrTimeout === 'number' ? whereOrTimeout : timeoutMs;
    const match = (e: Envelope) => e.type === type && sessionOf(e) === sessionId && where(e as EnvelopeOf<T>);
    const seen = this.envelopes.find(match);
    if (seen) return Promise.resolve(seen as EnvelopeOf<T>);
    return this.wait(match, ms, `no ${type} for ${sessionId} within ${ms} ms`) as Promise<EnvelopeOf<T>>;
  }

  /** Resolves once `ready()` holds, checked after every envelope. */
  async until(what: string, ready: () => boolean, timeoutMs = 30_000): Promise<void> {
    if (ready()) return;
    await this.wait(() => ready(), timeoutMs, `timed out waiting for ${what}`);
  }

  /** Polls `get` until it answers something truthy: for what no envelope announces (the fake CLI's own files). */
  poll<T>(get: () => T | undefined | false, what: string, timeoutMs = 30_000): Promise<T> {
    return until(get, timeoutMs, what) as Promise<T>;
  }

  /** The envelopes for one session. */
  of(sessionId: string): Envelope[] {
    return this.envelopes.filter((e) => sessionOf(e) === sessionId);
  }

  /** The envelopes of one type for one session. */
  ofType<T extends Envelope['type']>(type: T, sessionId: string): EnvelopeOf<T>[] {
    return this.envelopes.filter((e): e is EnvelopeOf<T> => e.type === type && sessionOf(e) === sessionId);
  }

  /** The normalised events of one session, in order. */
  events(sessionId: string): SessionEvent[] {
    return this.ofType('session.event', sessionId).map((e) => e.payload.event);
  }

  /** The envelopes for one session, as `type` names. */
  types(sessionId: string): string[] {
    return this.of(sessionId).map((e) => e.type);
  }

  /** Everything the session wrote to stdout, joined. */
  stdout(sessionId: string): string {
    return this.ofType('session.stdout', sessionId)
      .map((e) => e.payload.data)
      .join('');
  }

  private wait(match: (e: Envelope) => boolean, timeoutMs: number, message: string): Promise<Envelope> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.splice(this.waiters.indexOf(waiter), 1);
        reject(new Error(message));
      }, timeoutMs);
      const waiter = {
        match,
        resolve: (e: Envelope) => {
          clearTimeout(timer);
          resolve(e);
        },
      };
      this.waiters.push(waiter);
    });
  }
}

/** Run each function pushed here after every test of the calling file, last pushed first. */
export function cleanupsAfterEach(): (() => unknown)[] {
  const cleanups: (() => unknown)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });
  return cleanups;
}

export interface FakeCliRunnerOptions {
  /** The command the adapter spawns, and the version line the fake prints for `--version`. */
  cli: string;
  version: string;
  steps: Step[];
  adapters: readonly HarnessAdapter[];
  /** The plaintext each credential name decrypts to (the vault cache's part is not under test here). */
  credentials?: Record<string, string>;
  /** The runner's default work dir: a new temporary one unless given. */
  workDir?: string;
  /** Further runner options (grace period, MCP wiring, approval timeout). */
  runner?: Partial<Omit<RunnerOptions, 'adapters' | 'emit' | 'workDir' | 'credentials'>>;
}

/**
 * A SessionRunner with `cli` faked first on PATH; everything it changed
 * (PATH, the fake's scenario, the work dir) is put back by `cleanups`.
 */
export function fakeCliRunner(
  o: FakeCliRunnerOptions,
  cleanups: (() => unknown)[],
): { fake: FakeCli; runner: SessionRunner; recorder: EnvelopeRecorder; workDir: string } {
  const fake = installFakeCli(o.cli, o.steps, o.version);
  const saved = { PATH: process.env.PATH, FAKE_CLI_SCENARIO: process.env.FAKE_CLI_SCENARIO };
  process.env.PATH = fake.path;
  const ownWorkDir = o.workDir === undefined;
  const workDir = o.workDir ?? mkdtempSync(join(tmpdir(), `fabric-${o.cli}-`));
  const recorder = new EnvelopeRecorder();
  const runner = new SessionRunner({
    allowlist: [],
    graceMs: 200,
    ...o.runner,
    adapters: new Map(o.adapters.map((a) => [a.name, a])),
    workDir,
    emit: recorder.emit,
    credentials: async () =>
      new Map(Object.entries(o.credentials ?? {}).map(([k, v]) => [k, new TextEncoder().encode(v)])),
  });
  cleanups.push(async () => {
    await runner.stopAll();
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    fake.remove();
    if (ownWorkDir) rmSync(workDir, { recursive: true, force: true });
  });
  return { fake, runner, recorder, workDir };
}
