import { z } from 'zod';
import { summarizeToolCall } from '../../sessions/harness/claude/tools.js';
import type { ApprovalDecision, ApprovalRequest } from '../../sessions/harness/types.js';

/**
 * The approval tool Claude Code calls through `--permission-prompt-tool`.
 * Its contract is the CLI's own (checked in @anthropic-ai/claude-code 2.1.x,
 * where the prompt-tool call and the answer schema are defined together):
 * - it calls the tool with `{tool_name, input, tool_use_id?}`;
 * - it wants back a single text content block holding JSON, either
 *   `{"behavior":"allow","updatedInput":{...}}` (an empty object keeps the
 *   original input) or `{"behavior":"deny","message":"..."}`;
 *   anything else fails the tool call it was asking about.
 */
export const approvalToolInput = {
  tool_name: z.string().describe('The name of the tool requesting permission'),
  input: z.record(z.string(), z.unknown()).describe('The input for the tool'),
  tool_use_id: z.string().optional().describe('The unique tool use request ID'),
};

export type ClaudePermissionAnswer =
  { behavior: 'allow'; updatedInput: Record<string, unknown> } | { behavior: 'deny'; message: string };

/** What the owner decided, in the form Claude Code reads. */
export function claudePermissionAnswer(
  decision: ApprovalDecision,
  input: Record<string, unknown>,
): ClaudePermissionAnswer {
  if (decision.decision === 'allow') return { behavior: 'allow', updatedInput: input };
  return { behavior: 'deny', message: decision.reason ? `denied: ${decision.reason}` : 'denied by the owner' };
}

/**
 * The tool's handler: asks `ask` (the daemon) and answers Claude. Never
 * throws: when the daemon cannot be asked, the answer is a deny that says why,
 * since a failed permission tool would fail the tool call less clearly.
 */
export function approvalToolHandler(ask: (req: ApprovalRequest) => Promise<ApprovalDecision>) {
  return async (args: { tool_name: string; input: Record<string, unknown>; tool_use_id?: string | undefined }) => {
    let decision: ApprovalDecision;
    try {
      decision = await ask({
        tool: args.tool_name,
        summary: summarizeToolCall(args.tool_name, args.input),
        input: args.input,
      });
    } catch (err) {
      decision = { decision: 'deny', reason: `could not ask the owner (${(err as Error).message})` };
    }
    const answer = claudePermissionAnswer(decision, args.input);
    return { content: [{ type: 'text' as const, text: JSON.stringify(answer) }] };
  };
}
