export { backoffDelay, defaultBackoff, type BackoffOptions } from './link/backoff.js';
export { Capabilities } from './sessions/capabilities.js';
export { DeviceClient, type DeviceClientOptions, type DeviceLog } from './link/client.js';
export { deviceFilePath, readDeviceFile, writeDeviceFile, type DeviceFile } from './config.js';
export { startDevice, type DeviceOptions, type RunningDevice } from './device.js';
export { defaultAdapters } from './sessions/harness/registry.js';
export { DEFAULT_ALLOWLIST, shellHarness } from './sessions/harness/shell/adapter.js';
export type {
  ApprovalDecision,
  ApprovalRequest,
  DriverContext,
  HarnessAdapter,
  HarnessDriver,
  McpWiring,
  PlanContext,
  SpawnPlan,
} from './sessions/harness/types.js';
export { detectCli, which } from './sessions/harness/detect.js';
export { Outbox } from './link/outbox.js';
export { SessionRunner, type RunnerOptions } from './sessions/runner.js';
export { DAEMON_VERSION } from './version.js';
export { CredentialCache, CREDENTIAL_TTL_MS } from './vault/cache.js';
export { deviceKeyPath, ensureDeviceKey, readDeviceKey } from './vault/device-key.js';
export { MIN_REDACT_LENGTH, Redactor } from './vault/redact.js';
export { agentCall, agentEndpointFromEnv, type AgentEndpoint } from './agent/client.js';
export { TOOL_CATALOG } from './agent/catalog.js';
export { readOwnerToken } from './agent/owner-token.js';
export { AGENT_ENV, TOOLS_PATH, callerActor, type AgentCaller } from './agent/protocol.js';
export { agentSocketPath } from './agent/socket.js';
export { ToolHost, type ToolSpec, type ToolSummary } from './agent/tools.js';
export { Checkpointer, makeCheckpoint } from './audit/ledger/checkpoint.js';
export { LedgerKey, ledgerKeyPath } from './audit/ledger/key.js';
export { Ledger } from './audit/ledger/store.js';
export { verifyLedger } from './audit/ledger/verify.js';
export { loadSkills, DEFAULT_SKILLS_DIR } from './modules/skills/load.js';
export { recordPairing } from './audit/ledger/pairing.js';
export { eventHash, GENESIS_HASH } from './audit/ledger/chain.js';
export {
  checkWorkDir,
  detectSandbox,
  HARNESS_HOME_PATHS,
  INSTALL_HINT,
  Sandbox,
  type SandboxMode,
  type SandboxStatus,
} from './sessions/sandbox/index.js';
