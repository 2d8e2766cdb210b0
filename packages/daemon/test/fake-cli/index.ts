import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const SCRIPT = fileURLToPath(new URL('./fake-cli.mjs', import.meta.url));

/** Path of a recorded fixture in packages/protocol/fixtures/harness/. */
export function harnessFixture(name: string): string {
  return fileURLToPath(new URL(`../../../protocol/fixtures/harness/${name}`, import.meta.url));
}

export type Step =
  | { print: string }
  | { stderr: string }
  | { replay: string; from?: number; to?: number }
  | { read: number }
  | { readUntilEof: true }
  | { sleep: number }
  | { exit: number }
  /** Wait until the test calls `open(name)`: a signal, instead of a window the machine must fit in. */
  | { gate: string }
  | { when: string; steps: Step[] }
  | { mcp: { server?: string; tool: string; arguments?: Record<string, unknown> } };

export interface FakeCli {
  /** Directory to put first on PATH. */
  binDir: string;
  /** PATH with the fake first. */
  path: string;
  /** Replace the scenario (takes effect on the next call). */
  script(steps: Step[], version?: string): void;
  /** Every call so far: argv, selected env, stdin lines, exit code, cwd. */
  calls(): {
    argv: string[];
    env: Record<string, string>;
    stdin: string[];
    exitCode: number;
    cwd: string;
    mcp: { tool: string; isError: boolean; text: string | null }[];
  }[];
  /** Open the gate `name`: a fake waiting at `{ gate: name }` goes on. */
  open(name: string): void;
  remove(): void;
}

/** A gate name is a plain file name next to the scenario file. */
function gateFile(dir: string, name: string): string {
  if (!/^[A-Za-z0-9_.-]+$/.test(name) || name.endsWith('.json') || name.endsWith('.jsonl'))
    throw new Error(`not a gate name: ${name}`);
  return join(dir, name);
}

/**
 * Install a fake CLI named `bin` (e.g. `claude`) in a fresh directory. The
 * scenario travels in FAKE_CLI_SCENARIO, so put `fake.path` in PATH and
 * `FAKE_CLI_SCENARIO` in the environment the runner passes on (tests set
 * both on process.env, which the runner uses as its base environment).
 */
export function installFakeCli(bin: string, steps: Step[] = [], version = '1.0.0-fake'): FakeCli {
  const binDir = mkdtempSync(join(tmpdir(), `fake-${bin}-`));
  const target = join(binDir, bin);
  symlinkSync(SCRIPT, target);
  chmodSync(SCRIPT, 0o755);
  const scenarioFile = join(binDir, 'scenario.json');
  const recordFile = join(binDir, 'calls.jsonl');
  const write = (s: Step[], v: string) =>
    writeFileSync(scenarioFile, JSON.stringify({ version: v, record: recordFile, steps: s }));
  write(steps, version);
  process.env.FAKE_CLI_SCENARIO = scenarioFile;
  return {
    binDir,
    path: `${binDir}${delimiter}${process.env.PATH ?? ''}`,
    script: (s, v = version) => write(s, v),
    open: (name) => writeFileSync(gateFile(binDir, name), ''),
    calls: () =>
      existsSync(recordFile)
        ? readFileSync(recordFile, 'utf8')
            .split('\n')
            .filter(Boolean)
            .map((l) => JSON.parse(l))
        : [],
    remove: () => rmSync(binDir, { recursive: true, force: true }),
  };
}

/**
 * A directory of fakes for several CLIs at once, each with its own scenario,
 * for tests that run the whole stack in other processes: pass `env()` to them.
 */
export function installFakeClis(scenarios: Record<string, { steps: Step[]; version?: string }>): {
  binDir: string;
  env(): Record<string, string>;
  script(bin: string, steps: Step[]): void;
  calls(bin: string): ReturnType<FakeCli['calls']>;
  open(name: string): void;
  remove(): void;
} {
  const binDir = mkdtempSync(join(tmpdir(), 'fake-clis-'));
  chmodSync(SCRIPT, 0o755);
  const files = (bin: string) => ({
    scenario: join(binDir, `${bin}.scenario.json`),
    record: join(binDir, `${bin}.calls.jsonl`),
  });
  const write = (bin: string, steps: Step[], version?: string) =>
    writeFileSync(
      files(bin).scenario,
      JSON.stringify({ version: version ?? '1.0.0-fake', record: files(bin).record, steps }),
    );
  for (const [bin, s] of Object.entries(scenarios)) {
    symlinkSync(SCRIPT, join(binDir, bin));
    write(bin, s.steps, s.version);
  }
  return {
    binDir,
    env: () => ({
      PATH: `${binDir}${delimiter}${process.env.PATH ?? ''}`,
      // The fakes live (and record their calls) under /tmp, which a session's sandbox replaces with its own.
      FABRIC_SANDBOX_BIND: binDir,
      ...Object.fromEntries(
        Object.keys(scenarios).map((bin) => [
          `FAKE_CLI_SCENARIO_${bin.toUpperCase().replace(/[^A-Z0-9]/g, '_')}`,
          files(bin).scenario,
        ]),
      ),
    }),
    script: (bin, steps) => write(bin, steps),
    open: (name) => writeFileSync(gateFile(binDir, name), ''),
    calls: (bin) =>
      existsSync(files(bin).record)
        ? readFileSync(files(bin).record, 'utf8')
            .split('\n')
            .filter(Boolean)
            .map((l) => JSON.parse(l))
        : [],
    remove: () => rmSync(binDir, { recursive: true, force: true }),
  };
}
