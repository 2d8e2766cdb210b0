import {
  memoryHealthSchema,
  memoryIngestAnswerSchema,
  memoryIngestInputSchema,
  memoryRecallAnswerSchema,
  memoryRecallInputSchema,
  memoryReindexAnswerSchema,
  memoryStoreAnswerSchema,
  memoryStoreInputSchema,
} from '@fabric/protocol';
import { spec, emptyInput } from '../../kernel/index.js';

/** The memory module's tools: name, description, input and answer schemas, effect. */

export const memoryStoreTool = spec({
  name: 'memory_store',
  title: 'Remember',
  effect: 'write',
  input: memoryStoreInputSchema,
  output: memoryStoreAnswerSchema,
  description:
    'Remember something (a summary, optional detail, category, tags); it becomes a markdown file and is indexed for recall.',
});
export const memoryIngestTool = spec({
  name: 'memory_ingest',
  title: 'Ingest a document',
  effect: 'write',
  input: memoryIngestInputSchema,
  output: memoryIngestAnswerSchema,
  description: 'Index a document or event text (a runbook, a log, a session summary) so it can be recalled.',
});
export const memoryRecallTool = spec({
  name: 'memory_recall',
  title: 'Recall',
  effect: 'read',
  input: memoryRecallInputSchema,
  output: memoryRecallAnswerSchema,
  description:
    'The remembered chunks most relevant to a query (words and meaning, fused), within a token budget; optional timeframe like 24h, 7d or FROM..TO.',
});
export const memoryReindexTool = spec({
  name: 'memory_reindex',
  title: 'Rebuild the memory index',
  effect: 'write',
  input: emptyInput,
  output: memoryReindexAnswerSchema,
  description: 'Rebuild the search index from the markdown files (after editing them by hand or restoring a backup).',
});
export const memoryHealthTool = spec({
  name: 'memory_health',
  title: 'Memory status',
  effect: 'read',
  input: emptyInput,
  output: memoryHealthSchema,
  description: 'How many memories and chunks are indexed, and by which embedder.',
});

/** In the order every surface lists them. */
export const memoryTools = [
  memoryStoreTool,
  memoryIngestTool,
  memoryRecallTool,
  memoryReindexTool,
  memoryHealthTool,
] as const;
