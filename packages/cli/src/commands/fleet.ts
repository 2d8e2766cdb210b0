import { Command } from 'commander';
import { FabricError } from '@fabric/protocol';
import { Api } from '../api.js';
import type { GlobalOptions } from '../context.js';
import { deviceRows, printable, sessionRows, table } from '../format.js';
import type { Out } from './shared.js';

export function statusCommand(globals: () => GlobalOptions, out: Out): Command {
  return new Command('status')
    .configureHelp({ showGlobalOptions: true })
    .description('devices (online, RAM, load, harnesses) and recent sessions')
    .option('--json', 'print JSON')
    .option('--limit <n>', 'recent sessions to show', '10')
    .action(async (o: { json?: boolean; limit: string }) => {
      const api = Api.forUser(globals());
      const [health, { devices }, { sessions }] = await Promise.all([
        api.health(),
        api.listDevices(),
        api.listSessions({ query: { limit: Number(o.limit) } }),
      ]);
      if (o.json) {
        out.stdout(JSON.stringify({ server: api.baseUrl, health, devices, sessions }) + '\n');
        return;
      }
      out.stdout(
        `control plane ${api.baseUrl} (v${health.version}, ${health.mode}), ${health.devicesOnline} device(s) online\n\n`,
      );
      out.stdout(
        devices.length
          ? table(deviceRows(devices)) + '\n'
          : 'no devices paired yet: "optimal pair" makes a pairing token\n',
      );
      for (const d of devices)
        if (d.capabilities?.isolation === 'none' && !d.revoked)
          out.stdout(`${printable(d.name)}: isolation: none — install bubblewrap\n`);
      out.stdout('\n' + (sessions.length ? table(sessionRows(sessions)) + '\n' : 'no sessions yet\n'));
    });
}

export function devicesCommand(globals: () => GlobalOptions, out: Out): Command {
  const cmd = new Command('devices')
    .configureHelp({ showGlobalOptions: true })
    .description('list, rename, share and revoke paired devices');
  cmd
    .command('ls', { isDefault: true })
    .description('list devices')
    .option('--json', 'print JSON')
    .action(async (o: { json?: boolean }) => {
      const { devices } = await Api.forUser(globals()).listDevices();
      out.stdout(
        o.json
          ? JSON.stringify(devices) + '\n'
          : devices.length
            ? table(deviceRows(devices)) + '\n'
            : 'no devices paired yet\n',
      );
    });
  cmd
    .command('rename <id> <name>')
    .description('rename a device')
    .action(async (id: string, name: string) => {
      const d = await Api.forUser(globals()).updateDevice({ params: { id }, body: { name } });
      out.stdout(`${d.id} is now ${printable(d.name)}\n`);
    });
  cmd
    .command('drain <id>')
    .description('let a device finish its sessions but take no new ones')
    .action(async (id: string) => {
      const d = await Api.forUser(globals()).updateDevice({ params: { id }, body: { draining: true } });
      out.stdout(`${printable(d.name)} is draining (${d.runningSessions} running)\n`);
    });
  cmd
    .command('undrain <id>')
    .description('let a drained device take sessions again')
    .action(async (id: string) => {
      const d = await Api.forUser(globals()).updateDevice({ params: { id }, body: { draining: false } });
      out.stdout(`${printable(d.name)} takes sessions again\n`);
    });
  cmd
    .command('priority <id> <n>')
    .description('prefer (positive) or avoid (negative) a device when placing sessions, -10..10')
    .action(async (id: string, value: string) => {
      const priority = Number(value);
      if (!Number.isInteger(priority) || priority < -10 || priority > 10)
        throw new FabricError('bad_request', 'priority must be an integer from -10 to 10');
      const d = await Api.forUser(globals()).updateDevice({ params: { id }, body: { priority } });
      out.stdout(`${printable(d.name)} priority ${d.priority}\n`);
    });
  cmd
    .command('share <id>')
    .description('let another person see and use a device (owners only); their sessions may then run there')
    .requiredOption('--with <user>', "the person's account name")
    .action(async (id: string, o: { with: string }) => {
      const d = await Api.forUser(globals()).shareDevice({ params: { id }, body: { user: o.with } });
      out.stdout(`${printable(d.name)} is shared with ${(d.sharedWith ?? []).map((n) => printable(n)).join(', ')}\n`);
    });
  cmd
    .command('unshare <id>')
    .description('stop sharing a device with a person; sessions already running there go on')
    .requiredOption('--with <user>', "the person's account name")
    .action(async (id: string, o: { with: string }) => {
      const d = await Api.forUser(globals()).unshareDevice({ params: { id, user: o.with } });
      const left = d.sharedWith ?? [];
      out.stdout(
        `${printable(d.name)} is ${left.length ? `shared with ${left.map((n) => printable(n)).join(', ')}` : 'no longer shared'}\n`,
      );
    });
  cmd
    .command('revoke <id>')
    .description('revoke a device: its connection closes now and its token stops working')
    .action(async (id: string) => {
      const d = await Api.forUser(globals()).revokeDevice({ params: { id } });
      out.stdout(`${printable(d.name)} (${d.id}) revoked\n`);
    });
  return cmd;
}
