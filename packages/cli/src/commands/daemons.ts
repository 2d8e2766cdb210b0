import { Command, Option } from 'commander';
import { FabricError } from '@fabric/protocol';
import { DEFAULT_ALLOWLIST, ensureDeviceKey, readDeviceFile } from '@fabric/daemon';
import { DEFAULT_PORT, dataDir, type GlobalOptions } from '../context.js';
import {
  bootstrapLocal,
  isolationLine,
  onShutdown,
  optimalCommand,
  removeServerFile,
  runDevice,
  serve,
  stoppingLine,
  storeLabelOf,
} from './runtime.js';
import { collectLabel, databaseOption, durationFlag, splitList, type Out } from './shared.js';

function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535)
    throw new FabricError('bad_request', `--port must be 0-65535, got "${value}"`);
  return n;
}

const allowHelp = `commands the shell harness may run (default: ${DEFAULT_ALLOWLIST.join(',')})`;
const lostTimeoutOption = () =>
  new Option(
    '--lost-timeout <duration>',
    'a running session whose device went away fails when it is not back within this (90s, 10m, 2h)',
  )
    .argParser(durationFlag('--lost-timeout'))
    .default(600_000, '10m');
const queueTimeoutOption = () =>
  new Option(
    '--queue-timeout <duration>',
    'a session no device can take yet fails after waiting this long (90s, 10m, 2h)',
  )
    .argParser(durationFlag('--queue-timeout'))
    .default(600_000, '10m');
const sandboxOption = () =>
  new Option(
    '--sandbox <mode>',
    'auto: sessions run in a bubblewrap sandbox; without one only your own run, unisolated. required: without one nothing runs',
  )
    .choices(['auto', 'required'])
    .default('auto');

interface Timeouts {
  lostTimeout: number;
  queueTimeout: number;
}

export function upCommand(globals: () => GlobalOptions, out: Out): Command {
  return new Command('up')
    .configureHelp({ showGlobalOptions: true })
    .description('run a control plane and one local device on this machine (SQLite in the data dir)')
    .option('--port <n>', 'HTTP port', port, DEFAULT_PORT)
    .option('--host <addr>', 'address to listen on', '127.0.0.1')
    .addOption(
      new Option(
        '--mode <mode>',
        'cloud: every feature; local: a device serving its own cockpit (vault, pairing and fuel answer 410)',
      ).choices(['cloud', 'local']),
    )
    .option('--allow <a,b,c>', allowHelp, splitList)
    .option('--label <k=v>', 'label for the local device (repeatable)', collectLabel, {})
    .addOption(sandboxOption())
    .addOption(lostTimeoutOption())
    .addOption(queueTimeoutOption())
    .action(
      async (
        o: Timeouts & {
          port: number;
          host: string;
          mode?: 'cloud' | 'local';
          allow?: string[];
          label: Record<string, string>;
          sandbox: 'auto' | 'required';
        },
      ) => {
        const dir = dataDir(globals());
        const started = Date.now();
        const server = await serve({
          dir,
          host: o.host,
          port: o.port,
          ...(o.mode ? { mode: o.mode } : {}),
          lostTimeoutMs: o.lostTimeout,
          queueTimeoutMs: o.queueTimeout,
        });
        await bootstrapLocal(server, dir);
        const device = runDevice(
          dir,
          { ...(o.allow ? { allow: o.allow } : {}), label: o.label, sandbox: o.sandbox },
          out,
        );
        out.stdout(`fabric is up at ${server.url} (data in ${dir}, ready in ${Date.now() - started} ms)\n`);
        out.stdout(`${isolationLine(device)}\n`);
        // Passkeys need a host name: the cockpit is offered as localhost, not 127.0.0.1.
        const optimal = optimalCommand();
        out.stdout(
          `cockpit: ${server.url.replace('://127.0.0.1:', '://localhost:')}/  (sign in from a browser: "${optimal} invite" gives the owner setup code)\n`,
        );
        out.stdout(
          `try: ${optimal} session start --harness shell --prompt "echo hello" --follow${globals().data ? ` --data ${dir}` : ''}\n`,
        );
        device.done.catch((err: unknown) => out.stderr(`optimal: device stopped: ${(err as Error).message}\n`));
        await onShutdown(
          async () => {
            await device.stop();
            await server.close();
            removeServerFile(dir);
          },
          () => out.stderr(stoppingLine(device.runner.size, ['the device', 'the control plane'])),
        );
      },
    );
}

export function serveCommand(globals: () => GlobalOptions, out: Out): Command {
  return new Command('serve')
    .configureHelp({ showGlobalOptions: true })
    .description('run the control plane only (devices pair to it with "optimal pair")')
    .option('--port <n>', 'HTTP port', port, DEFAULT_PORT)
    .option('--host <addr>', 'address to listen on (use 0.0.0.0 only behind TLS)', '127.0.0.1')
    .addOption(
      new Option(
        '--mode <mode>',
        'cloud: every feature; local: a device serving its own cockpit (vault, pairing and fuel answer 410)',
      ).choices(['cloud', 'local']),
    )
    .addOption(databaseOption())
    .addOption(lostTimeoutOption())
    .addOption(queueTimeoutOption())
    .action(async (o: Timeouts & { port: number; host: string; mode?: 'cloud' | 'local'; database?: string }) => {
      const dir = dataDir(globals());
      const server = await serve({
        dir,
        host: o.host,
        port: o.port,
        ...(o.mode ? { mode: o.mode } : {}),
        ...(o.database ? { database: o.database } : {}),
        lostTimeoutMs: o.lostTimeout,
        queueTimeoutMs: o.queueTimeout,
      });
      const store = o.database ? `, store: ${await storeLabelOf(o.database)}` : '';
      out.stdout(`control plane listening on ${server.url} (data in ${dir}${store})\n`);
      if (!(await server.ctx.accounts.hasPasswordAccount())) {
        const db = o.database ? ' --database …' : '';
        out.stdout(`no owner yet: run "optimal invite --data ${dir}${db}" for the setup code\n`);
      }
      await onShutdown(
        async () => {
          await server.close();
          removeServerFile(dir);
        },
        () => out.stderr(stoppingLine(null, ['the control plane'])),
      );
    });
}

export function deviceCommand(globals: () => GlobalOptions, out: Out, setExit: (code: number) => void): Command {
  return new Command('device')
    .configureHelp({ showGlobalOptions: true })
    .description('run the device daemon: dial out to the control plane and run sessions, reconnecting forever')
    .option('--allow <a,b,c>', allowHelp, splitList)
    .option('--label <k=v>', 'label this device (repeatable)', collectLabel, {})
    .addOption(sandboxOption())
    .action(async (o: { allow?: string[]; label: Record<string, string>; sandbox: 'auto' | 'required' }) => {
      const dir = dataDir(globals());
      // A device paired before it had a vault key gets one now; hello announces it.
      if (readDeviceFile(dir)) await ensureDeviceKey(dir);
      const device = runDevice(
        dir,
        { ...(o.allow ? { allow: o.allow } : {}), label: o.label, sandbox: o.sandbox },
        out,
      );
      out.stderr(`device ${device.deviceId} starting (data in ${dir})\n`);
      out.stderr(`${isolationLine(device)}\n`);
      const stopped = onShutdown(
        () => device.stop(),
        () => out.stderr(stoppingLine(device.runner.size, ['the device'])),
      );
      try {
        await Promise.race([device.done, stopped]);
      } catch (err) {
        if (err instanceof FabricError) {
          out.stderr(`optimal: ${err.code}: ${err.message}\n`);
          setExit(1);
          await device.stop().catch(() => {});
          return;
        }
        throw err;
      }
    });
}
