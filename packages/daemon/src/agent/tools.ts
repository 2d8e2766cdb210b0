import { z } from 'zod';
import { FabricError } from '@fabric/protocol';
import { TOOLS_PATH, toolCallSchema, type AgentCaller } from './protocol.js';
import { assertMayCall } from './policy.js';
import type { AgentSocket } from './socket.js';

/**
 * What a tool does to the machine: `read` observes only; `write` records
 * something in the daemon's own stores (memory, incidents, backups);
 * `mutate` changes the machine (services, processes, files) and is logged in
 * the ledger before and after, with the owner's approval when destructive.
 */
export type ToolEffect = 'read' | 'write' | 'mutate';

/**
 * One agent tool as every surface shows it (socket, MCP, CLI). Inputs are
 * objects (MCP lists a tool's input as a JSON object schema); the answer is
 * checked against `output` before it leaves the daemon.
 */
export interface ToolSpec<I extends z.ZodObject = z.ZodObject, O extends z.ZodType = z.ZodType> {
  name: string;
  title: string;
  description: string;
  input: I;
  output: O;
  effect: ToolEffect;
}

/** Declare a tool: the identity function that keeps its input and answer types. */
export const spec = <I extends z.ZodObject, O extends z.ZodType>(s: ToolSpec<I, O>): ToolSpec<I, O> => s;

/** The input of a tool that takes none. */
export const emptyInput = z.strictObject({});

export type ToolHandler<S extends ToolSpec> = (
  caller: AgentCaller,
  input: z.infer<S['input']>,
) => Promise<z.infer<S['output']>> | z.infer<S['output']>;

/** A tool's name and description, as the tool list answers. */
export const toolSummarySchema = z.object({
  name: z.string(),
  title: z.string(),
  description: z.string(),
  effect: z.enum(['read', 'write', 'mutate']),
});
export type ToolSummary = z.infer<typeof toolSummarySchema>;

interface Registered {
  spec: ToolSpec;
  handler: (caller: AgentCaller, input: unknown) => unknown;
}

/**
 * The daemon's tools with their handlers. `call` refuses a session a tool
 * that is the owner's alone (`forbidden`, see `policy.ts`), validates the
 * input (a `bad_request` naming the field), runs the handler, and checks the answer
 * against the tool's schema (a mismatch is a bug: `internal`).
 */
export class ToolHost {
  private readonly tools = new Map<string, Registered>();

  register<S extends ToolSpec>(spec: S, handler: ToolHandler<S>): void {
    if (this.tools.has(spec.name)) throw new Error(`tool ${spec.name} registered twice`);
    this.tools.set(spec.name, { spec, handler: handler as Registered['handler'] });
  }

  list(): ToolSummary[] {
    return [...this.tools.values()].map(({ spec }) => ({
      name: spec.name,
      title: spec.title,
      description: spec.description,
      effect: spec.effect,
    }));
  }

  has(name: string): boolean {
    return this.tools.has(name);
  }

  async call(caller: AgentCaller, name: string, raw: unknown): Promise<unknown> {
    const tool = this.tools.get(name);
    if (!tool) throw new FabricError('not_found', `no tool named "${name}" (list them with: optimal agent tools)`);
    assertMayCall(caller, name);
    const input = tool.spec.input.safeParse(raw ?? {});
    if (!input.success) throw new FabricError('bad_request', `${name}: ${describeIssue(input.error)}`);
    const answer = await tool.handler(caller, input.data);
    const checked = tool.spec.output.safeParse(answer);
    if (!checked.success)
      throw new FabricError(
        'internal',
        `${name} produced an answer outside its schema (${describeIssue(checked.error)})`,
      );
    return checked.data;
  }

  /** Serve every tool on the agent socket: `POST /v1/tools` lists, `POST /v1/tools/<name>` calls. */
  mount(socket: AgentSocket): void {
    socket.route({
      path: TOOLS_PATH,
      body: toolCallSchema,
      callers: 'any',
      handle: async () => ({ tools: this.list() }),
    });
    for (const name of this.tools.keys()) {
      socket.route({
        path: `${TOOLS_PATH}/${name}`,
        body: toolCallSchema,
        callers: 'any',
        handle: (caller, body) => this.call(caller, name, body.input),
      });
    }
  }
}

/** One line naming the first problem with an input: `limit: Too big: expected number to be <=500`. */
export function describeIssue(error: z.ZodError): string {
  const issue = error.issues[0];
  if (!issue) return 'invalid input';
  const where = issue.path.length > 0 ? `${issue.path.join('.')}: ` : '';
  return `${where}${issue.message}`;
}
