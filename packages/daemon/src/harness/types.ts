import type { HarnessInfo, HarnessName, SessionEvent, SessionStartPayload } from '@fabric/protocol';

/** What to spawn for a session: argv without a shell, and its environment. */
export interface SpawnPlan {
  command: string;
  args: string[];
  env: Record<string, string>;
}

export interface PlanContext {
  /** Programs the shell harness may run (argv[0], exact match). */
  allowlist: readonly string[];
  /** The daemon's own environment, to extend rather than replace. */
  baseEnv: Record<string, string>;
}

/**
 * One agent CLI behind a common shape. An adapter is pure apart from
 * `detect`: it plans the process and translates its output; the runner owns
 * spawning, signals and streaming.
 */
export interface HarnessAdapter {
  readonly name: HarnessName;
  /** The installed CLI and its version, or null when it is not on PATH. */
  detect(): Promise<HarnessInfo | null>;
  /** Build the process for a new session; throws a FabricError to refuse it. */
  plan(start: SessionStartPayload, ctx: PlanContext): SpawnPlan;
  /**
   * Translate one stdout line into normalised events. Absent for harnesses
   * whose output is plain text (`shell`): their stdout is relayed as chunks.
   */
  parseLine?(line: string): SessionEvent[];
  /** Frame follow-up input for the CLI's stdin; default passes it through. */
  formatInput?(data: string): string;
}
