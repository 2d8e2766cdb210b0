import { join } from 'node:path';
import type { Sqlite } from '@fabric/node';
import { FabricError, isFabricError, type Envelope, type EnvelopeType } from '@fabric/protocol';
import { ToolHost } from '../agent/tools.js';
import type { DaemonModule, EnvelopeHandlers, KernelContext } from './module.js';
import { openStore } from './stores.js';

const STORE_NAME = /^[a-z][a-z0-9-]{0,39}$/;

/** What the kernel shares with every module; `db` is the kernel's own. */
export type KernelServices = Omit<KernelContext, 'db' | 'toolList'>;

/** One envelope type's handler, as the kernel calls it (the type is checked when it is routed). */
type AnyEnvelopeHandler = (env: Envelope) => void;

/**
 * Starts a composition of modules, serves their tools and routes envelopes
 * from the control plane to them. `start` runs the modules in order; a module
 * that throws stops the ones before it, in reverse, and `start` throws a
 * FabricError naming the module (its code kept when it threw one). Two
 * modules offering one tool name or handling one envelope type are a
 * composition bug, found before any module starts; two opening one store are
 * refused when the second asks: `start` throws naming both.
 */
export class Kernel {
  readonly tools = new ToolHost();
  private readonly handlers = new Map<EnvelopeType, AnyEnvelopeHandler>();
  private readonly started: { module: DaemonModule; dbs: Sqlite[] }[] = [];
  private readonly stores = new Map<string, string>();
  private state: 'new' | 'starting' | 'running' | 'stopped' = 'new';

  constructor(
    private readonly services: KernelServices,
    private readonly modules: readonly DaemonModule[],
  ) {
    const names = new Set<string>();
    for (const m of modules) {
      if (names.has(m.name)) throw new Error(`module ${m.name} is composed twice`);
      names.add(m.name);
    }
  }

  async start(): Promise<void> {
    if (this.state !== 'new') throw new Error(`the kernel was already ${this.state}`);
    this.state = 'starting';
    // A composition bug is found before anything starts.
    const owners = new Map<string, string>();
    const handledBy = new Map<EnvelopeType, string>();
    for (const module of this.modules) {
      for (const t of module.tools ?? []) {
        const other = owners.get(t.spec.name);
        if (other !== undefined) throw new Error(`tool ${t.spec.name} is offered by ${other} and ${module.name}`);
        owners.set(t.spec.name, module.name);
      }
      for (const type of envelopeTypes(module.envelopes)) {
        const other = handledBy.get(type);
        if (other !== undefined) throw new Error(`envelope ${type} is handled by ${other} and ${module.name}`);
        handledBy.set(type, module.name);
      }
    }
    for (const module of this.modules) {
      const dbs: Sqlite[] = [];
      try {
        await module.start(this.contextFor(module, dbs));
      } catch (err) {
        for (const db of dbs) db.close();
        await this.stop();
        throw startError(module.name, err);
      }
      this.started.push({ module, dbs });
      // `stop` was called while this module started: it is stopped too, and nothing after it starts.
      if (this.stopCalled()) {
        await this.stop();
        throw new Error('the kernel was stopped while it started');
      }
    }
    for (const module of this.modules) {
      for (const t of module.tools ?? []) this.tools.register(t.spec, t.handler);
      for (const type of envelopeTypes(module.envelopes))
        this.handlers.set(type, module.envelopes![type] as AnyEnvelopeHandler);
    }
    this.state = 'running';
  }

  /**
   * Hand an envelope from the control plane to the module that handles its
   * type. False when none does, or the kernel is not running (before `start`
   * resolves, after `stop`). Throws what the handler throws.
   */
  deliver(env: Envelope): boolean {
    if (this.state !== 'running') return false;
    const handler = this.handlers.get(env.type);
    if (!handler) return false;
    handler(env);
    return true;
  }

  /** Whether `stop` ran since `start` began (a method, so the check is read after the awaits). */
  private stopCalled(): boolean {
    return this.state === 'stopped';
  }

  /** Stop every started module in reverse order, then close its stores; never throws. */
  async stop(): Promise<void> {
    this.state = 'stopped';
    this.handlers.clear();
    while (this.started.length > 0) {
      const { module, dbs } = this.started.pop()!;
      try {
        await module.stop?.();
      } catch (err) {
        this.services.log.warn(`${module.name}: stop failed: ${err instanceof Error ? err.message : String(err)}`);
      }
      for (const db of dbs) db.close();
    }
  }

  private contextFor(module: DaemonModule, dbs: Sqlite[]): KernelContext {
    return {
      ...this.services,
      toolList: () => this.tools.list(),
      db: (name, migrations) => {
        if (!STORE_NAME.test(name))
          throw new Error(`${module.name}: store name ${JSON.stringify(name)} is not a plain name`);
        const owner = this.stores.get(name);
        if (owner !== undefined) throw new Error(`store ${name}.db is opened by ${owner} and ${module.name}`);
        this.stores.set(name, module.name);
        const db = openStore(join(this.services.dataDir, `${name}.db`), `${name}.db`, migrations);
        dbs.push(db);
        return db;
      },
    };
  }
}

/** What a module threw at start, naming the module: a FabricError keeps its code. */
function startError(module: string, err: unknown): FabricError {
  if (isFabricError(err)) return new FabricError(err.code, `${module}: ${err.message}`);
  return new FabricError('internal', `${module} could not start: ${err instanceof Error ? err.message : String(err)}`);
}

function envelopeTypes(handlers: EnvelopeHandlers | undefined): EnvelopeType[] {
  return handlers ? (Object.keys(handlers) as EnvelopeType[]) : [];
}
