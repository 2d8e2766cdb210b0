import { FabricError, isFabricError, type MutationResult } from '@fabric/protocol';
import {
  type ApprovalDecision,
  type ApprovalRequest,
  type KernelContext,
  type Records,
  type SessionContext,
  callerActor,
  type AgentCaller,
} from '../../kernel/index.js';
import { describeMutation, isDestructive, planMutation, type MutationKind, type MutationPlan } from './plan.js';

export interface MutationDeps {
  dataDir: string;
  /** Where the owner's own mutations count as "inside the work dir" (the daemon's default session dir). */
  defaultWorkDir: string;
  ledger: { append: KernelContext['audit'] };
  records: Pick<Records, 'addReceipt'>;
  /** A running session's work dir and permission mode; null when it does not run here. */
  session(sessionId: string): SessionContext | null;
  /** Ask the owner on a session's behalf: the same path as a harness's permission requests. */
  approve(sessionId: string, req: ApprovalRequest): Promise<ApprovalDecision>;
}

/** How a mutation came to be allowed, as the ledger records it. */
type Grant = 'owner' | 'not_destructive' | 'permission_mode_full' | 'approved';

/**
 * Run one mutation on the record. The order is the contract:
 * 1. plan it (validate, gather facts; a mutation that would be refused is refused here, before anyone is asked);
 * 2. append `mutation.requested` to the ledger;
 * 3. when it is destructive and a session asked, get the owner's approval
 *    (a session started with permission mode `full` asks nothing, as its
 *    harness does); a denial appends `mutation.denied` and throws `approval_denied`;
 * 4. run it; append `mutation.done` (with its result) or `mutation.failed`;
 * 5. write a receipt pointing at the `mutation.done` event.
 * File operations inside the session's work dir are not destructive: the
 * harness itself may change its work dir. Only a real project dir has an
 * inside (`isProjectDir`): a session whose work dir is `/`, a home dir, the
 * data dir or a system dir asks for every destructive file operation. The
 * executor gets the plan, and a file executor acts only on the path the plan
 * (and the approval) named.
 */
export async function runMutation<T extends MutationResult>(
  deps: MutationDeps,
  caller: AgentCaller,
  tool: string,
  request: { kind: MutationKind; input: unknown },
  execute: (ctx: { workDir: string; dataDir: string }, plan: MutationPlan) => Promise<T>,
): Promise<T> {
  const actor = callerActor(caller);
  let session: SessionContext | null = null;
  if (caller.kind === 'session') {
    session = deps.session(caller.sessionId);
    if (!session)
      throw new FabricError('session_not_found', `session ${caller.sessionId} is not running on this device`);
  }
  const paths = { workDir: session?.workDir ?? deps.defaultWorkDir, dataDir: deps.dataDir };
  const plan = await planMutation(request, paths);
  const summary = describeMutation(plan);
  const destructive = isDestructive(plan) && !insideWorkDir(plan);
  const requested = deps.ledger.append(actor, 'mutation.requested', { tool, summary, destructive, plan });

  let grant: Grant;
  if (caller.kind === 'owner') grant = 'owner';
  else if (!destructive) grant = 'not_destructive';
  else if (session!.permissionMode === 'full') grant = 'permission_mode_full';
  else {
    const decision = await deps.approve(caller.sessionId, {
      tool: `fabric.${tool}`,
      summary,
      input: approvalInput(request.input),
    });
    if (decision.decision !== 'allow') {
      deps.ledger.append(actor, 'mutation.denied', {
        tool,
        requestedSeq: requested.seq,
        reason: decision.reason ?? null,
      });
      throw new FabricError(
        'approval_denied',
        `the owner did not approve "${summary}"${decision.reason ? `: ${decision.reason}` : ''}`,
      );
    }
    grant = 'approved';
  }

  let result: T;
  try {
    result = await execute(paths, plan);
  } catch (err) {
    const e = isFabricError(err) ? err : new FabricError('internal', (err as Error).message);
    deps.ledger.append(actor, 'mutation.failed', {
      tool,
      requestedSeq: requested.seq,
      code: e.code,
      message: e.message,
    });
    throw e;
  }
  const done = deps.ledger.append(actor, 'mutation.done', { tool, requestedSeq: requested.seq, grant, result });
  deps.records.addReceipt({ kind: 'mutation', summary, detail: { tool, grant, result }, ledgerSeq: done.seq }, actor);
  return result;
}

function insideWorkDir(plan: MutationPlan): boolean {
  return (plan.kind === 'file_write' || plan.kind === 'file_delete') && plan.where === 'work_dir';
}

/** The input shown with an approval request: file content cut to a readable preview. */
function approvalInput(input: unknown): unknown {
  if (typeof input !== 'object' || input === null) return input;
  const o = input as Record<string, unknown>;
  if (typeof o.content === 'string' && o.content.length > 2000)
    return { ...o, content: `${o.content.slice(0, 2000)}… (${o.content.length} characters)` };
  return o;
}
