import { createInterface } from 'node:readline';
import { FabricError } from '@fabric/protocol';

/** Read all of stdin (for --password-stdin, `vault add`, `session send --stdin`). */
export async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * Ask for a secret on the terminal without echoing it. Refuses when stdin is
 * not a terminal, naming the non-interactive alternative.
 */
export async function askSecret(question: string, alternative: string): Promise<string> {
  if (!process.stdin.isTTY) throw new FabricError('bad_request', `no terminal to ask for it; use ${alternative}`);
  const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: true });
  const out = rl as unknown as { _writeToOutput: (s: string) => void; output: NodeJS.WritableStream };
  let asked = false;
  out._writeToOutput = (s: string) => {
    if (!asked) {
      out.output.write(s);
      asked = true;
    }
  };
  try {
    return await new Promise<string>((resolve) => rl.question(question, resolve));
  } finally {
    rl.close();
    process.stderr.write('\n');
  }
}
