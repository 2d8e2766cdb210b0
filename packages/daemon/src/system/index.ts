// System tools of the agent API: health, read-only queries, mutation executors.
export { health, createHealth, CpuSampler, type HealthSources } from './health.js';
export { systemQuery, type SystemQueryOptions } from './query.js';
export { hasSystemd, type SystemdOptions } from './systemd.js';
export {
  classifyPath,
  isProjectDir,
  resolveTarget,
  type PathClass,
  type PathContext,
  type ResolvedPath,
} from './paths.js';
export { inspectTarget, type FileTarget } from './files.js';
export { serviceAction, signalProcess, writeFile, deleteFile, processName } from './mutate.js';
export {
  planMutation,
  isDestructive,
  describeMutation,
  type MutationKind,
  type MutationPlan,
  type MutationRequest,
  type DestructiveFacts,
} from './plan.js';
