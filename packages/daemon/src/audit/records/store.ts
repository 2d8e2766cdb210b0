import type { z } from 'zod';
import {
  FabricError,
  incidentCloseInputSchema,
  incidentCreateInputSchema,
  incidentListInputSchema,
  incidentStepInputSchema,
  newId,
  receiptInputSchema,
  receiptListInputSchema,
  type Incident,
  type IncidentCreateInput,
  type IncidentListInput,
  type IncidentSeverity,
  type IncidentStatus,
  type IncidentStep,
  type IncidentSummary,
  type Receipt,
  type ReceiptInput,
  type ReceiptListInput,
} from '@fabric/protocol';
import type { Sqlite } from '@fabric/node';
import { RECORD_TABLES, RECORDS_SCHEMA_VERSION, migrateRecords } from './schema.js';

/** How many rows a restore put back. */
export interface RecordCounts {
  receipts: number;
  incidents: number;
  steps: number;
}

interface ReceiptRow {
  id: string;
  ts: number;
  actor: string;
  kind: string;
  summary: string;
  detail: string;
  ledger_seq: number | null;
}

interface IncidentRow {
  id: string;
  title: string;
  severity: IncidentSeverity | null;
  status: IncidentStatus;
  created_at: number;
  closed_at: number | null;
  resolution: string | null;
  opened_by: string;
  closed_by: string | null;
  step_count: number;
}

const INCIDENT_COLUMNS = `id, title, severity, status, created_at, closed_at, resolution, opened_by, closed_by,
  (SELECT count(*) FROM incident_steps s WHERE s.incident_id = incidents.id) AS step_count`;

/**
 * Receipts and incident workspaces in `agent.db`. Takes an open connection
 * (from `openSqlite`) and a clock; migrates the file on construction. Every
 * method is synchronous (better-sqlite3). Inputs are parsed here too, so a
 * caller that skipped the tool layer still gets `bad_request`, never a bad row.
 */
export class Records {
  constructor(
    private readonly db: Sqlite,
    private readonly now: () => number = Date.now,
  ) {
    migrateRecords(db);
  }

  /** Record that something was done. `actor` is who did it (`owner`, `daemon`, `session:<id>`). */
  addReceipt(input: ReceiptInput, actor: string): Receipt {
    const r = parse(receiptInputSchema, input);
    const receipt: Receipt = {
      id: newId('rcp'),
      ts: this.now(),
      actor,
      kind: r.kind,
      summary: r.summary,
      detail: r.detail,
      ledgerSeq: r.ledgerSeq,
    };
    this.db
      .prepare('INSERT INTO receipts (id, ts, actor, kind, summary, detail, ledger_seq) VALUES (?, ?, ?, ?, ?, ?, ?)')
      .run(
        receipt.id,
        receipt.ts,
        actor,
        receipt.kind,
        receipt.summary,
        JSON.stringify(receipt.detail),
        receipt.ledgerSeq,
      );
    return receipt;
  }

  /** Receipts newest first (ties in the order they were added, newest first), filtered by kind and `ts >= since`. */
  listReceipts(query: ReceiptListInput = {}): Receipt[] {
    const q = parse(receiptListInputSchema, query);
    const where: string[] = [];
    if (q.kind !== undefined) where.push('kind = @kind');
    if (q.since !== undefined) where.push('ts >= @since');
    const sql = `SELECT id, ts, actor, kind, summary, detail, ledger_seq FROM receipts
      ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY ts DESC, seq DESC LIMIT @limit`;
    const rows = this.db.prepare(sql).all({ kind: q.kind, since: q.since, limit: q.limit }) as ReceiptRow[];
    return rows.map((row) => ({
      id: row.id,
      ts: row.ts,
      actor: row.actor,
      kind: row.kind,
      summary: row.summary,
      detail: JSON.parse(row.detail) as Receipt['detail'],
      ledgerSeq: row.ledger_seq,
    }));
  }

  /** Open an incident workspace. */
  createIncident(input: IncidentCreateInput, actor: string): Incident {
    const i = parse(incidentCreateInputSchema, input);
    const id = newId('inc');
    this.db
      .prepare(
        `INSERT INTO incidents (id, title, severity, status, created_at, opened_by) VALUES (?, ?, ?, 'open', ?, ?)`,
      )
      .run(id, i.title, i.severity ?? null, this.now(), actor);
    return this.getIncident(id);
  }

  /**
   * Add the next step to an open incident and answer the whole incident.
   * Throws `not_found` for an unknown id, `conflict` when it is closed.
   */
  addStep(id: string, step: { action: string; result: string }, actor: string): Incident {
    const s = parse(incidentStepInputSchema, { id, ...step });
    this.db
      .transaction(() => {
        this.openIncident(s.id);
        const { next } = this.db
          .prepare('SELECT coalesce(max(n), 0) + 1 AS next FROM incident_steps WHERE incident_id = ?')
          .get(s.id) as { next: number };
        this.db
          .prepare('INSERT INTO incident_steps (incident_id, n, ts, actor, action, result) VALUES (?, ?, ?, ?, ?, ?)')
          .run(s.id, next, this.now(), actor, s.action, s.result);
      })
      .immediate();
    return this.getIncident(s.id);
  }

  /** Close an open incident with its resolution. Throws `not_found`, or `conflict` when already closed. */
  closeIncident(id: string, close: { resolution: string }, actor: string): Incident {
    const c = parse(incidentCloseInputSchema, { id, ...close });
    this.db
      .transaction(() => {
        this.openIncident(c.id);
        this.db
          .prepare(`UPDATE incidents SET status = 'closed', closed_at = ?, resolution = ?, closed_by = ? WHERE id = ?`)
          .run(this.now(), c.resolution, actor, c.id);
      })
      .immediate();
    return this.getIncident(c.id);
  }

  /** One incident with all its steps, oldest first. Throws `not_found`. */
  getIncident(id: string): Incident {
    const row = this.db.prepare(`SELECT ${INCIDENT_COLUMNS} FROM incidents WHERE id = ?`).get(id) as
      IncidentRow | undefined;
    if (!row) throw notFound(id);
    const steps = this.db
      .prepare('SELECT n, ts, actor, action, result FROM incident_steps WHERE incident_id = ? ORDER BY n')
      .all(id) as IncidentStep[];
    const { stepCount: _count, ...summary } = toSummary(row);
    return { ...summary, steps };
  }

  /** Incidents newest first, without their steps. */
  listIncidents(query: IncidentListInput = {}): IncidentSummary[] {
    const q = parse(incidentListInputSchema, query);
    const sql = `SELECT ${INCIDENT_COLUMNS} FROM incidents ${q.status ? 'WHERE status = @status' : ''}
      ORDER BY created_at DESC, seq DESC LIMIT @limit`;
    const rows = this.db.prepare(sql).all({ status: q.status, limit: q.limit }) as IncidentRow[];
    return rows.map(toSummary);
  }

  /**
   * Replace every receipt, incident and step with those in another
   * `agent.db` (a backup's copy), in one transaction on this connection: the
   * daemon's open handle stays valid and sees the restored rows at once, and
   * a failure leaves the rows as they were. Throws `unsupported` when the
   * copy has another schema version (an older one would need migrating first:
   * copy it, open it with `Records`, then restore from that).
   */
  replaceAllFrom(file: string): RecordCounts {
    const src = 'fabric_restore';
    this.db.prepare(`ATTACH DATABASE ? AS ${src}`).run(file);
    try {
      const version = this.db.pragma(`${src}.user_version`, { simple: true }) as number;
      // Version 0 is a file no daemon ever wrote records into: it restores to none.
      if (version !== 0 && version !== RECORDS_SCHEMA_VERSION) {
        throw new FabricError(
          'unsupported',
          `the backup's agent.db has schema ${version}, this daemon knows ${RECORDS_SCHEMA_VERSION}`,
        );
      }
      this.db
        .transaction(() => {
          for (const table of [...RECORD_TABLES].reverse()) this.db.exec(`DELETE FROM main.${table}`);
          if (version === 0) return;
          // Same schema version, so the same columns in the same order.
          for (const table of RECORD_TABLES)
            this.db.exec(`INSERT INTO main.${table} SELECT * FROM ${src}.${table} ORDER BY rowid`);
        })
        .immediate();
    } finally {
      this.db.exec(`DETACH DATABASE ${src}`);
    }
    const count = (table: string) => (this.db.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;
    return { receipts: count('receipts'), incidents: count('incidents'), steps: count('incident_steps') };
  }

  /** Inside a transaction: the incident exists and is open. */
  private openIncident(id: string): void {
    const row = this.db.prepare('SELECT status FROM incidents WHERE id = ?').get(id) as
      { status: IncidentStatus } | undefined;
    if (!row) throw notFound(id);
    if (row.status === 'closed')
      throw new FabricError('conflict', `incident ${id} is closed: open a new one with incident_create`);
  }
}

function toSummary(row: IncidentRow): IncidentSummary {
  return {
    id: row.id,
    title: row.title,
    severity: row.severity,
    status: row.status,
    createdAt: row.created_at,
    closedAt: row.closed_at,
    resolution: row.resolution,
    openedBy: row.opened_by,
    closedBy: row.closed_by,
    stepCount: row.step_count,
  };
}

function notFound(id: string): FabricError {
  return new FabricError('not_found', `no incident ${id}: list them with incident_list`);
}

/** Parse an input, or `bad_request` naming the first problem. */
function parse<S extends z.ZodType>(schema: S, value: unknown): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const where = issue && issue.path.length > 0 ? `${issue.path.join('.')}: ` : '';
  throw new FabricError('bad_request', `${where}${issue?.message ?? 'invalid input'}`);
}
