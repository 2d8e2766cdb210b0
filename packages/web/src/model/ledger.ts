import { MAX_LEDGER_PAGE, type LedgerCheckpointList } from '@fabric/protocol';
import { checkCheckpointList, type CheckpointListVerdict, type CheckpointProblem } from '@fabric/vault';

/** One page of `GET /api/devices/:id/ledger`, as the API client fetches it. */
export type LedgerPage = (afterSeq: number) => Promise<LedgerCheckpointList>;

/**
 * Every checkpoint the control plane holds for a device, page by page, and
 * the verdict of checking their signatures here, in the browser: what the
 * server stores is not taken on its word.
 */
export async function checkDeviceLedger(page: LedgerPage): Promise<CheckpointListVerdict> {
  const first = await page(0);
  const checkpoints = [...first.checkpoints];
  let last = first;
  while (last.checkpoints.length >= MAX_LEDGER_PAGE) {
    last = await page(checkpoints[checkpoints.length - 1]!.seq);
    checkpoints.push(...last.checkpoints);
  }
  return checkCheckpointList({ deviceId: first.deviceId, publicKey: first.publicKey, checkpoints });
}

const PROBLEMS: Record<CheckpointProblem, string> = {
  no_pinned_key: 'the control plane names no pinned key for this device',
  other_key: "it is signed by another key than the device's pinned one",
  bad_signature: 'its signature does not verify for this device',
  out_of_order: 'it does not follow the checkpoint before it',
};

/** The verdict as the line the devices screen shows. */
export function ledgerLine(v: CheckpointListVerdict, time: (ms: number) => string): string {
  if (!v.ok) return `ledger: checkpoint at event ${v.seq} fails: ${PROBLEMS[v.problem]}`;
  if (!v.last) return 'ledger: no signed checkpoint yet';
  const n = v.count === 1 ? '1 signed checkpoint' : `${v.count} signed checkpoints`;
  return `ledger: ${n} up to event ${v.last.seq} (${time(v.last.at)}), each signature verified in this browser`;
}
