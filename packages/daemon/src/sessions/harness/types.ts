import type { HarnessInfo, HarnessName, SessionEvent, SessionStartPayload, Usage } from '@fabric/protocol';

/** What to spawn for one turn of a session: argv without a shell, and its environment. */
export interface SpawnPlan {
  command: string;
  args: string[];
  env: Record<string, string>;
  /** Written to the child's stdin right after it starts (e.g. a first stream-json message). */
  stdin?: string;
  /** Close stdin once `stdin` is written (one-shot CLIs that read the prompt to EOF). */
  closeStdin?: boolean;
  /**
   * The harness session id this process will use, when the adapter chooses it
   * up front (e.g. `--session-id fabric-<id>`); recorded for resume at once.
   */
  harnessSessionId?: string;
}

/** How a harness process reaches the daemon's MCP server (approvals and, later, agent tools). */
export interface McpWiring {
  /** Server name as the harness should register it. */
  name: string;
  command: string;
  args: string[];
  env: Record<string, string>;
}

export interface PlanContext {
  /** Programs the shell harness may run (argv[0], exact match). */
  allowlist: readonly string[];
  /** The daemon's own environment, to extend rather than replace. */
  baseEnv: Record<string, string>;
  /** Secrets for this session, injected as environment variables only, never argv. */
  credentials: Record<string, string>;
  /** The daemon's MCP server for this session, when the daemon offers one. */
  mcp: McpWiring | null;
}

export interface ApprovalRequest {
  tool: string;
  /** One line a person can judge the request by, e.g. `Bash: rm -rf build`. */
  summary: string;
  input: unknown;
}

export interface ApprovalDecision {
  decision: 'allow' | 'deny';
  reason?: string;
}

/** What a driver may do while its process runs. */
export interface DriverContext {
  /** A normalised content event for the session's stream. */
  event(e: SessionEvent): void;
  /**
   * Metadata the control plane reads: usage, and the harness's own session
   * id — the one way a driver reports it (the runner resumes queued turns
   * with it and the control plane keeps it for `session resume`).
   */
  meta(m: { usage?: Usage; harnessSessionId?: string }): void;
  /** Write to the child's stdin. */
  write(data: string): void;
  /** Close the child's stdin (a CLI that exits cleanly on EOF once its work is done). */
  closeStdin(): void;
  /** Ask the owner; resolves `deny` when nobody answers in time. */
  requestApproval(req: ApprovalRequest): Promise<ApprovalDecision>;
}

/**
 * One process's conversation with a structured harness: it reads each stdout
 * line and may answer on stdin. `line` never throws: a line it cannot parse
 * becomes a `raw` event, never dropped.
 */
export interface HarnessDriver {
  line(line: string): void;
  /**
   * Follow-up input while the process runs. True when delivered live (the CLI
   * reads input as it runs); false and the runner queues it as a resumed turn
   * once this one ends.
   */
  input(text: string): boolean;
  /** stdout has closed: flush anything still buffered (e.g. an unfinished multi-line JSON value). */
  end?(): void;
}

/**
 * One agent CLI behind a common shape. An adapter is pure apart from
 * `detect`: it plans processes and translates their output; the runner owns
 * spawning, signals, turns and streaming.
 */
export interface HarnessAdapter {
  readonly name: HarnessName;
  /** The installed CLI and its version, or null when it is not on PATH. */
  detect(): Promise<HarnessInfo | null>;
  /**
   * Build the process for a turn. `start.resume` set means "continue that
   * conversation" (the CLI's own resume flag). Throws a FabricError to refuse.
   */
  plan(start: SessionStartPayload, ctx: PlanContext): SpawnPlan;
  /**
   * Structured harnesses: a driver per process, given the turn's start
   * payload (permission mode, resume id). Absent (`shell`): stdout is relayed
   * raw and input goes to stdin as is.
   */
  driver?(ctx: DriverContext, start: SessionStartPayload): HarnessDriver;
}
