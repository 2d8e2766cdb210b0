import { existsSync, rmdirSync, rmSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { Command, Option } from 'commander';
import { FabricError, type CodeResponse, type PairResponse } from '@fabric/protocol';
import { deviceKeyPath, ensureDeviceKey, readDeviceFile, recordPairing, writeDeviceFile } from '@fabric/daemon';
import { Api } from '../api.js';
import { dataDir, readCliFile, readServerFile, serverUrl, writeCliFile, type GlobalOptions } from '../context.js';
import { localTime, printable } from '../format.js';
import { askSecret, readStdin } from '../prompt.js';
import { openLocalAccounts } from './runtime.js';
import { databaseOption, type Out } from './shared.js';

async function password(o: { passwordStdin?: boolean }): Promise<string> {
  if (o.passwordStdin) return (await readStdin()).replace(/\r?\n$/, '');
  if (process.env.OPTIMAL_PASSWORD) return process.env.OPTIMAL_PASSWORD;
  return askSecret('password: ', '--password-stdin or OPTIMAL_PASSWORD');
}

export function loginCommand(globals: () => GlobalOptions, out: Out): Command {
  return new Command('login')
    .configureHelp({ showGlobalOptions: true })
    .description('sign this CLI in as a person (with --code: redeem an owner setup code or an invite first)')
    .requiredOption('--user <name>', 'your account name')
    .option('--code <code>', 'setup code or invite code (creates the account)')
    .option('--password-stdin', 'read the password from standard input')
    .action(async (o: { user: string; code?: string; passwordStdin?: boolean }) => {
      const g = globals();
      const server = serverUrl(g, null);
      const api = Api.at(server, null);
      const pw = await password(o);
      const auth = o.code
        ? await api.redeem({ body: { code: o.code, name: o.user, password: pw, client: 'cli' } })
        : await api.login({ body: { name: o.user, password: pw, client: 'cli' } });
      const dir = dataDir(g);
      writeCliFile(dir, { server, token: auth.token, user: auth.user, expiresAt: auth.expiresAt });
      out.stdout(`signed in to ${server} as ${auth.user.name} (${auth.user.role}); credentials in ${dir}/cli.json\n`);
    });
}

export function inviteCommand(globals: () => GlobalOptions, out: Out): Command {
  return new Command('invite')
    .configureHelp({ showGlobalOptions: true })
    .description('first run: print the owner setup code; afterwards: invite a person')
    .addOption(new Option('--role <role>', 'role of the invited person').choices(['member', 'owner']).default('member'))
    .option('--json', 'print JSON')
    .addOption(databaseOption())
    .action(async (o: { role: 'member' | 'owner'; json?: boolean; database?: string }) => {
      const g = globals();
      const dir = dataDir(g);
      let code: CodeResponse;
      const cli = readCliFile(dir);
      // A data dir holding the store (serve, up) acts with local authority: it alone can
      // hand out the owner setup code. Otherwise a signed-in owner invites through the API.
      const local = o.database !== undefined || existsSync(join(dir, 'fabric.db'));
      if (!local && cli) {
        code = await Api.forUser(g).createInvite({ body: { role: o.role } });
      } else {
        const local = await openLocalAccounts(dir, o.database);
        try {
          if (!(await local.accounts.hasPasswordAccount())) code = await local.accounts.createSetupCode();
          else if (local.ownerId) code = await local.accounts.createInvite(local.ownerId, o.role);
          else throw new FabricError('not_found', 'no owner account in this data directory');
        } finally {
          await local.close();
        }
      }
      const server = readServerFile(dir)?.url ?? serverUrl(g, cli);
      if (o.json) {
        out.stdout(JSON.stringify({ ...code, server }) + '\n');
        return;
      }
      const until = localTime(code.expiresAt);
      const what = code.kind === 'setup' ? 'owner setup code' : `invite code (${o.role})`;
      out.stdout(`${what}: ${code.code}\nsingle use, valid until ${until}\n`);
      out.stdout(`redeem it: optimal login --server ${server} --user NAME --code ${code.code}\n`);
    });
}

export function pairCommand(globals: () => GlobalOptions, out: Out): Command {
  return new Command('pair')
    .configureHelp({ showGlobalOptions: true })
    .description('with --token: pair this data dir as a device; without: print a pairing token for a new device')
    .option('--token <pairing token>', 'pairing token from "optimal pair" run by a signed-in user')
    .option('--name <name>', 'device name (default: this host name)')
    .option('--json', 'print JSON')
    .action(async (o: { token?: string; name?: string; json?: boolean }) => {
      const g = globals();
      const dir = dataDir(g);
      if (!o.token) {
        const api = Api.forUser(g);
        const code = await api.createPairingToken();
        if (o.json) {
          out.stdout(JSON.stringify({ ...code, server: api.baseUrl }) + '\n');
          return;
        }
        out.stdout(`pairing token (single use, 10 minutes):\n${code.code}\n`);
        out.stdout(
          `on the device: optimal pair --server ${api.baseUrl} --token <token> --data <dir>, then optimal device --data <dir>\n`,
        );
        return;
      }
      const existing = readDeviceFile(dir);
      if (existing) {
        throw new FabricError(
          'conflict',
          `${dir} is already paired as ${existing.name} (${existing.deviceId}); use another --data dir`,
        );
      }
      const server = serverUrl(g, null);
      // A refused pairing leaves the data dir as it found it: no vault.key, and no dir if it made one.
      const hadDir = existsSync(dir);
      const hadKey = existsSync(deviceKeyPath(dir));
      const key = await ensureDeviceKey(dir);
      let paired: PairResponse;
      try {
        paired = await Api.at(server, null).pairDevice({
          body: {
            token: o.token,
            name: o.name ?? (hostname().slice(0, 64) || 'device'),
            vaultRecipient: key.recipient,
          },
        });
      } catch (err) {
        if (!hadKey) rmSync(deviceKeyPath(dir), { force: true });
        if (!hadDir) {
          try {
            rmdirSync(dir);
          } catch {
            /* something else was written there meanwhile */
          }
        }
        throw err;
      }
      writeDeviceFile(dir, {
        server,
        deviceId: paired.deviceId,
        name: paired.name,
        token: paired.token,
        pairedAt: Date.now(),
      });
      recordPairing(dir, 'owner', { deviceId: paired.deviceId, name: paired.name, server });
      if (o.json) {
        out.stdout(JSON.stringify({ deviceId: paired.deviceId, name: paired.name, server }) + '\n');
        return;
      }
      out.stdout(
        `paired as ${printable(paired.name)} (${paired.deviceId}); start it with: optimal device --data ${dir}\n`,
      );
    });
}
