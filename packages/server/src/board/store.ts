import {
  FabricError,
  isTerminal,
  newId,
  type BoardCard,
  type BoardColumn,
  type HarnessName,
  type PermissionMode,
  type SessionStatus,
} from '@fabric/protocol';
import type { Selectable } from 'kysely';
import type { z } from 'zod';
import type { createCardRequestSchema, updateCardRequestSchema } from '@fabric/protocol';
import { enforce, policy, type CardAction, type Viewer } from '../auth/policy.js';
import type { Bus } from '../bus.js';
import { topics } from '../bus.js';
import type { Clock } from '../clock.js';
import type { FleetChange } from '../bus.js';
import type { SessionService } from '../sessions/service.js';
import type { Db } from '../store/db.js';
import type { BoardCardsTable } from '../store/schema.js';

type CreateCard = z.infer<typeof createCardRequestSchema>;
type UpdateCard = z.infer<typeof updateCardRequestSchema>;

/** What a card's column becomes when its session reaches a status; null leaves it where it is. */
export function columnFor(status: SessionStatus): BoardColumn | null {
  if (status === 'queued' || status === 'starting' || status === 'running' || status === 'lost') return 'running';
  if (isTerminal(status)) return 'review';
  return null;
}

/**
 * The BOARD: task cards in four columns, stored server-side. "Launch" starts
 * a session from a card; from then on the card follows its session (running
 * while it runs, review when it ends) until a person moves it to done.
 * Changes are announced on the bus as `board` fleet changes.
 */
export class BoardStore {
  private readonly unsubscribe: () => void;

  constructor(
    private readonly db: Db,
    private readonly bus: Bus,
    private readonly clock: Clock,
    private readonly sessions: SessionService,
  ) {
    this.unsubscribe = bus.subscribe(topics.fleet, (m) => {
      const change = m;
      if (change.type === 'session') void this.follow(change.id, change.status).catch(() => {});
    });
  }

  close(): void {
    this.unsubscribe();
  }

  /** The cards `viewer` may see (all of them when omitted). */
  async list(viewer?: Viewer): Promise<BoardCard[]> {
    const rows = await this.db
      .selectFrom('board_cards')
      .leftJoin('sessions', 'sessions.id', 'board_cards.session_id')
      .selectAll('board_cards')
      .select('sessions.status as session_status')
      .orderBy('board_cards.column_name')
      .orderBy('board_cards.position')
      .execute();
    return rows
      .filter((r) => !viewer || policy.card(viewer, { createdBy: r.created_by }, 'read'))
      .map((r) => cardView(r, (r.session_status as SessionStatus | null) ?? null));
  }

  /** One card; `not_found` when there is none or `viewer` may not see it, `forbidden` when they may not do `action`. */
  async get(id: string, viewer?: Viewer, action: CardAction = 'read'): Promise<BoardCard> {
    const row = await this.db.selectFrom('board_cards').select(['created_by']).where('id', '=', id).executeTakeFirst();
    const notFound = new FabricError('not_found', `no card ${id}`);
    if (!row) throw notFound;
    if (viewer)
      enforce(
        policy.card(viewer, { createdBy: row.created_by }, action),
        policy.card(viewer, { createdBy: row.created_by }, 'read'),
        notFound,
        `${action} card ${id}`,
      );
    const card = (await this.list()).find((c) => c.id === id);
    if (!card) throw notFound;
    return card;
  }

  /** Who created a card, for the policy (live channels); null when it is gone. */
  async creatorOf(id: string): Promise<string | null> {
    const row = await this.db.selectFrom('board_cards').select(['created_by']).where('id', '=', id).executeTakeFirst();
    return row?.created_by ?? null;
  }

  async create(userId: string, req: CreateCard): Promise<BoardCard> {
    const id = newId('crd');
    const now = this.clock.now();
    const last = await this.db
      .selectFrom('board_cards')
      .select((eb) => eb.fn.max('position').as('p'))
      .where('column_name', '=', req.column)
      .executeTakeFirst();
    await this.db
      .insertInto('board_cards')
      .values({
        id,
        title: req.title,
        prompt: req.prompt,
        harness: req.harness,
        device_id: req.deviceId,
        permission_mode: req.permissionMode,
        credentials: JSON.stringify(req.credentials),
        column_name: req.column,
        position: Number(last?.p ?? 0) + 1,
        session_id: null,
        created_by: userId,
        created_at: now,
        updated_at: now,
      })
      .execute();
    this.announce(id);
    return this.get(id);
  }

  /** Edit, move (column) or reorder (position: any number; cards sort by it). */
  async update(id: string, req: UpdateCard, viewer?: Viewer): Promise<BoardCard> {
    if (viewer) await this.get(id, viewer, 'edit');
    const patch: Partial<BoardCardsTable> = { updated_at: this.clock.now() };
    if (req.title !== undefined) patch.title = req.title;
    if (req.prompt !== undefined) patch.prompt = req.prompt;
    if (req.harness !== undefined) patch.harness = req.harness;
    if (req.deviceId !== undefined) patch.device_id = req.deviceId;
    if (req.column !== undefined) patch.column_name = req.column;
    if (req.position !== undefined) patch.position = req.position;
    const res = await this.db.updateTable('board_cards').set(patch).where('id', '=', id).executeTakeFirst();
    if (Number(res.numUpdatedRows) === 0) throw new FabricError('not_found', `no card ${id}`);
    this.announce(id);
    return this.get(id);
  }

  async remove(id: string, viewer?: Viewer): Promise<void> {
    if (viewer) await this.get(id, viewer, 'edit');
    const res = await this.db.deleteFrom('board_cards').where('id', '=', id).executeTakeFirst();
    if (Number(res.numDeletedRows) === 0) throw new FabricError('not_found', `no card ${id}`);
    this.announce(id);
  }

  /** Start a session for the card's prompt; the card moves to running and follows it. */
  async launch(id: string, viewer: Viewer): Promise<BoardCard> {
    const card = await this.get(id, viewer, 'edit');
    if (card.sessionId && card.sessionStatus && !isTerminal(card.sessionStatus)) {
      throw new FabricError('conflict', `card ${id} already has a session running (${card.sessionId})`);
    }
    const session = await this.sessions.create(viewer, {
      harness: card.harness,
      prompt: card.prompt,
      permissionMode: card.permissionMode,
      ...(card.deviceId ? { deviceId: card.deviceId } : {}),
      ...(card.credentials.length ? { credentials: card.credentials } : {}),
    });
    await this.db
      .updateTable('board_cards')
      .set({
        session_id: session.id,
        column_name: columnFor(session.status) ?? 'running',
        updated_at: this.clock.now(),
      })
      .where('id', '=', id)
      .execute();
    this.announce(id);
    return this.get(id);
  }

  private async follow(sessionId: string, status: SessionStatus): Promise<void> {
    const column = columnFor(status);
    if (!column) return;
    const cards = await this.db
      .selectFrom('board_cards')
      .select(['id', 'column_name'])
      .where('session_id', '=', sessionId)
      .execute();
    for (const c of cards) {
      // A card someone already moved to done stays there.
      if (c.column_name === 'done' || c.column_name === column) continue;
      await this.db
        .updateTable('board_cards')
        .set({ column_name: column, updated_at: this.clock.now() })
        .where('id', '=', c.id)
        .execute();
      this.announce(c.id);
    }
  }

  private announce(cardId: string): void {
    this.bus.publish(topics.fleet, { type: 'board', cardId } satisfies FleetChange);
  }
}

function cardView(r: Selectable<BoardCardsTable>, sessionStatus: SessionStatus | null): BoardCard {
  return {
    id: r.id,
    title: r.title,
    prompt: r.prompt,
    harness: r.harness as HarnessName,
    deviceId: r.device_id,
    permissionMode: r.permission_mode as PermissionMode,
    credentials: JSON.parse(r.credentials) as string[],
    column: r.column_name as BoardColumn,
    position: Number(r.position),
    sessionId: r.session_id,
    sessionStatus,
    createdAt: Number(r.created_at),
    updatedAt: Number(r.updated_at),
  };
}
