import { FabricError } from '@fabric/protocol';

/** Where commands print; tests and the CLI entry point pass real streams. */
export interface Out {
  stdout(s: string): void;
  stderr(s: string): void;
}

/** Commander collector for repeatable `--label k=v`. */
export function collectLabel(value: string, previous: Record<string, string>): Record<string, string> {
  const eq = value.indexOf('=');
  if (eq <= 0) throw new FabricError('bad_request', `--label wants key=value, got "${value}"`);
  return { ...previous, [value.slice(0, eq)]: value.slice(eq + 1) };
}

/** `a,b,c` → ['a','b','c'], dropping blanks. */
export function splitList(value: string): string[] {
  return value.split(',').map((s) => s.trim()).filter(Boolean);
}
