export { bwrapArgs, harnessHomePaths, HARNESS_HOME_PATHS, type SandboxMounts } from './bwrap.js';
export {
  checkWorkDir,
  conversationSession,
  isProjectDir,
  isWithin,
  rememberConversation,
  sessionWorkDir,
  workDirRefusal,
} from './paths.js';
export {
  detectSandbox,
  INSTALL_HINT,
  Sandbox,
  unwrapExit,
  type SandboxMode,
  type SandboxOptions,
  type SandboxStatus,
} from './sandbox.js';
