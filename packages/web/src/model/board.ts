import type { BoardCard, BoardColumn, DeviceView, HarnessName, SessionStatus, SessionView } from '@fabric/protocol';

/** The BOARD's columns, left to right. A launched card follows its session: running, then review. */
export const COLUMNS: readonly BoardColumn[] = ['backlog', 'running', 'review', 'done'];

/**
 * Every harness a card can name. Kept here as a record keyed by the
 * protocol's type so the compiler flags a harness added there and not here
 * (the protocol's runtime list would pull zod into the first load).
 */
const HARNESS_SET: Record<HarnessName, true> = {
  shell: true,
  claude: true,
  codex: true,
  opencode: true,
  kimi: true,
  openclaw: true,
};
export const HARNESSES = Object.keys(HARNESS_SET) as HarnessName[];

/** A change to send as `PATCH /api/board/cards/:id`. */
export interface CardPatch {
  id: string;
  column?: BoardColumn;
  position: number;
}

/** What a move does: the board as it looks right away, and the writes that make it so. */
export interface MovePlan {
  cards: BoardCard[];
  patches: CardPatch[];
}

/** Cards in display order: by position, ties broken by age then id so the order never flickers. */
export function compareCards(a: BoardCard, b: BoardCard): number {
  return a.position - b.position || a.createdAt - b.createdAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

/** The cards of each column, sorted for display. */
export function groupColumns(cards: readonly BoardCard[]): Record<BoardColumn, BoardCard[]> {
  const out = { backlog: [], running: [], review: [], done: [] } as Record<BoardColumn, BoardCard[]>;
  // The cards come unchecked from the server: one in a column not listed here shows in the backlog.
  for (const c of cards) (COLUMNS.includes(c.column) ? out[c.column] : out.backlog).push(c);
  for (const col of COLUMNS) out[col].sort(compareCards);
  return out;
}

/**
 * A position strictly between two neighbours' positions (null: no neighbour
 * on that side), so a reorder writes one card. Returns null when there is no
 * number strictly between them (equal neighbours, or floating point has run
 * out of room): the caller renumbers the column instead.
 */
export function positionBetween(prev: number | null, next: number | null): number | null {
  if (prev === null && next === null) return 1;
  if (prev === null) return next! - 1;
  if (next === null) return prev + 1;
  const mid = prev + (next - prev) / 2;
  return prev < mid && mid < next ? mid : null;
}

/**
 * Move a card to `toIndex` among the other cards of `toColumn` (0 is the
 * top). Returns null when nothing would change or the card is unknown.
 * Usually one card is written; when its neighbours leave no room between
 * them the destination column is renumbered 1, 2, 3… and every card whose
 * position changes is written.
 */
export function moveCard(
  cards: readonly BoardCard[],
  id: string,
  toColumn: BoardColumn,
  toIndex: number,
): MovePlan | null {
  const card = cards.find((c) => c.id === id);
  if (!card) return null;
  const columns = groupColumns(cards);
  const others = columns[toColumn].filter((c) => c.id !== id);
  const index = Math.max(0, Math.min(Math.trunc(toIndex), others.length));
  if (card.column === toColumn && columns[toColumn].indexOf(card) === index) return null;
  const position = positionBetween(others[index - 1]?.position ?? null, others[index]?.position ?? null);
  const changed = new Map<string, BoardCard>();
  const patches: CardPatch[] = [];
  if (position !== null) {
    changed.set(id, { ...card, column: toColumn, position });
    patches.push(card.column === toColumn ? { id, position } : { id, column: toColumn, position });
  } else {
    const order = [...others.slice(0, index), card, ...others.slice(index)];
    order.forEach((c, i) => {
      const p = i + 1;
      if (c.id === id) {
        changed.set(id, { ...c, column: toColumn, position: p });
        patches.push(card.column === toColumn ? { id, position: p } : { id, column: toColumn, position: p });
      } else if (c.position !== p) {
        changed.set(c.id, { ...c, position: p });
        patches.push({ id: c.id, position: p });
      }
    });
  }
  return { cards: cards.map((c) => changed.get(c.id) ?? c), patches };
}

/** A move written to the server and not yet seen back from it. */
export interface PendingMove {
  column: BoardColumn;
  position: number;
  /** Past this time (ms) the server's word wins again, whatever it says. */
  until: number;
}

/**
 * The board as shown: the server's cards with moves still in flight laid
 * over them, so a refresh that left the server before a move was written
 * does not snap the card back. A move drops out once the server's cards
 * show it, once it expires, or when its card is gone; `pending` is what is
 * still in flight.
 */
export function overlayMoves(
  cards: readonly BoardCard[],
  pending: ReadonlyMap<string, PendingMove>,
  now: number,
): { cards: BoardCard[]; pending: Map<string, PendingMove> } {
  const left = new Map<string, PendingMove>();
  const out = cards.map((c) => {
    const m = pending.get(c.id);
    if (!m || now >= m.until || (c.column === m.column && c.position === m.position)) return c;
    left.set(c.id, m);
    return { ...c, column: m.column, position: m.position };
  });
  return { cards: out, pending: left };
}

export type Step = 'up' | 'down' | 'left' | 'right';

/**
 * Where one step moves a card (the buttons and arrow keys that stand in
 * for dragging): up/down within its column, left/right into the neighbour
 * column at the same height. Null when the step would leave the board.
 */
export function stepTarget(
  cards: readonly BoardCard[],
  id: string,
  step: Step,
): { column: BoardColumn; index: number } | null {
  const card = cards.find((c) => c.id === id);
  if (!card) return null;
  const columns = groupColumns(cards);
  const here = columns[card.column].indexOf(card);
  if (step === 'up') return here > 0 ? { column: card.column, index: here - 1 } : null;
  if (step === 'down') return here < columns[card.column].length - 1 ? { column: card.column, index: here + 1 } : null;
  const col = COLUMNS[COLUMNS.indexOf(card.column) + (step === 'left' ? -1 : 1)];
  if (!col) return null;
  return { column: col, index: Math.min(here, columns[col].length) };
}

/** The insertion index for a pointer at `y`, given the vertical midpoints of the other cards in order. */
export function dropIndex(midpoints: readonly number[], y: number): number {
  let i = 0;
  while (i < midpoints.length && midpoints[i]! < y) i++;
  return i;
}

/** The column under a pointer at `x`: the one containing it, else the nearest; -1 when there are none. */
export function pickColumn(spans: readonly { left: number; right: number }[], x: number): number {
  let best = -1;
  let bestDist = Infinity;
  spans.forEach((s, i) => {
    const d = x < s.left ? s.left - x : x > s.right ? x - s.right : 0;
    if (d < bestDist) {
      best = i;
      bestDist = d;
    }
  });
  return best;
}

/** The card's session status: the live session list when it has it, else what the board saw. */
export function cardStatus(card: BoardCard, sessions: readonly SessionView[]): SessionStatus | null {
  if (!card.sessionId) return null;
  return sessions.find((s) => s.id === card.sessionId)?.status ?? card.sessionStatus;
}

/** A card can be launched unless its session is still alive. */
export function canLaunch(status: SessionStatus | null): boolean {
  return (
    status === null || status === 'succeeded' || status === 'failed' || status === 'cancelled' || status === 'refused'
  );
}

/** The badge tone for a status: ok, bad, warn, or plain. */
export function statusTone(status: SessionStatus | null): 'ok' | 'bad' | 'warn' | 'muted' | '' {
  switch (status) {
    case 'succeeded':
      return 'ok';
    case 'failed':
    case 'refused':
      return 'bad';
    case 'lost':
    case 'queued':
    case 'starting':
      return 'warn';
    case 'cancelled':
      return 'muted';
    default:
      return '';
  }
}

/**
 * The harnesses to offer for a card: all of them, each marked installed
 * when the chosen device (or, for "best available", any online device) has it.
 */
export function harnessChoices(
  devices: readonly DeviceView[],
  deviceId: string | null,
): { name: HarnessName; installed: boolean }[] {
  const pool = devices.filter((d) => !d.revoked && (deviceId ? d.id === deviceId : d.online));
  const installed = new Set(pool.flatMap((d) => d.capabilities?.harnesses.map((h) => h.name) ?? []));
  return HARNESSES.map((name) => ({ name, installed: installed.has(name) }));
}
