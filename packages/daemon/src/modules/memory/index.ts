import { join } from 'node:path';
import * as t from './tools.js';
import { ownSource, callerActor, tool, type DaemonModule, type KernelContext } from '../../kernel/index.js';
import { Memory } from './memory.js';
import { MEMORY_INDEX_MIGRATIONS } from './search-index.js';

/** The memory module, with the handle the composition uses to rebuild the index after a restore. */
export interface MemoryModule extends DaemonModule {
  /** The open memory; throws before `start`. */
  memory(): Memory;
}

/**
 * Markdown memories under `<dataDir>/memory/` (the ground truth) and their
 * search index `<dataDir>/memory-index.db` (derived, rebuilt when stale).
 */
export function memoryModule(): MemoryModule {
  let open: Memory | null = null;
  const memory = (): Memory => {
    if (!open) throw new Error('the memory module has not started');
    return open;
  };
  let ctx: KernelContext | null = null;
  const record: KernelContext['audit'] = (actor, kind, payload) => {
    if (!ctx) throw new Error('the memory module has not started');
    return ctx.audit(actor, kind, payload);
  };
  return {
    name: 'memory',
    memory,
    start(c) {
      open = new Memory({ dir: join(c.dataDir, 'memory'), index: c.db('memory-index', MEMORY_INDEX_MIGRATIONS) });
      ctx = c;
    },
    async stop() {
      await open?.close();
    },
    tools: [
      tool(t.memoryStoreTool, async (caller, input) => {
        const source = ownSource(caller, input.source);
        const written = await memory().store({ ...input, source });
        record(callerActor(caller), 'memory.store', { id: written.id, file: written.file, category: input.category });
        return written;
      }),
      tool(t.memoryIngestTool, async (caller, input) => {
        // A session's document is recorded as the session's; where it said the text came from stays in the ledger.
        const source = ownSource(caller, input.source);
        const written = await memory().ingest({ ...input, source });
        const claimed = source === input.source ? {} : { claimedSource: input.source };
        record(callerActor(caller), 'memory.ingest', {
          id: written.id,
          file: written.file,
          source,
          ...claimed,
          chars: input.text.length,
        });
        return written;
      }),
      tool(t.memoryRecallTool, (_caller, input) => memory().recall(input)),
      tool(t.memoryReindexTool, async (caller) => {
        const answer = await memory().reindex();
        record(callerActor(caller), 'memory.reindex', answer);
        return answer;
      }),
      tool(t.memoryHealthTool, () => memory().health()),
    ],
  };
}
