import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Command } from 'commander';
import { FabricError, MAX_LEDGER_PAGE, type LedgerCheckpointList, type LedgerVerifyReport } from '@fabric/protocol';
import { Ledger, LedgerKey, ledgerKeyPath, readDeviceFile, verifyLedger } from '@fabric/daemon';
import { Api } from '../api.js';
import { dataDir, type GlobalOptions } from '../context.js';
import type { Out } from './shared.js';

/** Every checkpoint the control plane holds for this device, page by page. */
async function fetchCheckpoints(api: Api, deviceId: string): Promise<LedgerCheckpointList> {
  const checkpoints: LedgerCheckpointList['checkpoints'] = [];
  let after = 0;
  for (;;) {
    const page = await api.deviceLedger({
      params: { id: deviceId },
      query: { afterSeq: after, limit: MAX_LEDGER_PAGE },
    });
    checkpoints.push(...page.checkpoints);
    if (page.checkpoints.length < MAX_LEDGER_PAGE) return { ...page, checkpoints };
    after = page.checkpoints[page.checkpoints.length - 1]!.seq;
  }
}

function describe(report: LedgerVerifyReport): string {
  const lines: string[] = [];
  const head = report.head ? `head #${report.head.seq} ${report.head.hash.slice(0, 16)}…` : 'empty';
  const cps =
    report.checkpoints.total === 0
      ? 'no checkpoint was checked (a rewrite of the whole file would go unnoticed)'
      : `${report.checkpoints.matched} of ${report.checkpoints.total} signed checkpoint(s) match`;
  if (report.ok) {
    lines.push(`ledger ok: ${report.events.toLocaleString('en-US')} events, ${head}; ${cps}`);
  } else {
    lines.push(
      `LEDGER BROKEN: ${report.firstBad ? `first bad event #${report.firstBad.seq}: ${report.firstBad.message}` : 'see problems below'}`,
    );
    lines.push(`${report.events.toLocaleString('en-US')} events read, ${head}; ${cps}`);
    for (const p of report.problems) lines.push(`  ${p.seq === null ? '-' : `#${p.seq}`} ${p.code}: ${p.message}`);
  }
  return lines.join('\n');
}

export function ledgerCommand(globals: () => GlobalOptions, out: Out, setExit: (code: number) => void): Command {
  const cmd = new Command('ledger')
    .configureHelp({ showGlobalOptions: true })
    .description("the device's tamper-evident ledger");
  cmd
    .command('verify')
    .description(
      "check the hash chain of this data dir's ledger and the signed checkpoints the control plane holds; names the first bad event",
    )
    .option('--offline', 'check the chain only, without asking the control plane for checkpoints')
    .option('--file <ledger.db>', "verify this ledger file (e.g. a backup copy) instead of the data dir's")
    .option('--json', 'print the report as JSON')
    .addHelpText('after', '\nExit status: 0 when the ledger verifies, 1 when it does not (or cannot be checked).')
    .action(async (o: { offline?: boolean; file?: string; json?: boolean }) => {
      const dir = dataDir(globals());
      const device = readDeviceFile(dir);
      if (!device) throw new FabricError('not_found', `${dir} holds no paired device, so no ledger to verify`);
      const file = o.file ?? join(dir, 'ledger.db');
      if (!existsSync(file)) throw new FabricError('not_found', `no ledger at ${file}`);
      let anchor: LedgerCheckpointList | null = null;
      if (!o.offline) {
        try {
          anchor = await fetchCheckpoints(Api.at(device.server, device.token), device.deviceId);
        } catch (err) {
          if (err instanceof FabricError && err.code === 'server_unreachable') {
            throw new FabricError('server_unreachable', `${err.message}; run with --offline to check the chain alone`);
          }
          throw err;
        }
      }
      const localKey = LedgerKey.load(ledgerKeyPath(dir))?.publicKey ?? null;
      // Read-only: verifying changes nothing in the file (not even the append-only triggers an attacker dropped).
      const ledger = new Ledger(file, { readonly: true });
      let report: LedgerVerifyReport;
      try {
        const head = ledger.head();
        // A backup copy ends earlier than the device's ledger: checkpoints past its head are not evidence against it.
        const checkpoints = (anchor?.checkpoints ?? []).filter(
          (cp) => o.file === undefined || (head !== null && cp.seq <= head.seq),
        );
        report = verifyLedger(ledger.iterate(), {
          deviceId: device.deviceId,
          checkpoints,
          pinnedKey: anchor?.publicKey ?? null,
          localKey,
        });
      } finally {
        ledger.close();
      }
      out.stdout((o.json ? JSON.stringify(report) : describe(report)) + '\n');
      if (!report.ok) setExit(1);
    });
  return cmd;
}
