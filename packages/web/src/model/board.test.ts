import { describe, expect, it } from 'vitest';
import type { BoardCard, BoardColumn, DeviceView, SessionView } from '@fabric/protocol';
import {
  canLaunch,
  cardStatus,
  dropIndex,
  groupColumns,
  harnessChoices,
  moveCard,
  overlayMoves,
  pickColumn,
  positionBetween,
  stepTarget,
  statusTone,
} from './board.js';

let clock = 0;
function card(id: string, column: BoardColumn, position: number, extra: Partial<BoardCard> = {}): BoardCard {
  return {
    id,
    title: id,
    prompt: `echo ${id}`,
    harness: 'shell',
    deviceId: null,
    permissionMode: 'ask',
    credentials: [],
    column,
    position,
    sessionId: null,
    sessionStatus: null,
    createdAt: ++clock,
    updatedAt: clock,
    ...extra,
  };
}

const ids = (cards: BoardCard[]) => cards.map((c) => c.id);
const order = (cards: readonly BoardCard[], col: BoardColumn) => ids(groupColumns(cards)[col]);

describe('positions between neighbours', () => {
  it('puts a card between two neighbours, before the first, after the last, or alone', () => {
    expect(positionBetween(1, 2)).toBe(1.5);
    expect(positionBetween(-3, 5)).toBe(1);
    expect(positionBetween(null, 4)).toBe(3);
    expect(positionBetween(7, null)).toBe(8);
    expect(positionBetween(null, null)).toBe(1);
  });

  it('says there is no room between equal neighbours or when floating point runs out', () => {
    expect(positionBetween(2, 2)).toBeNull();
    expect(positionBetween(3, 2)).toBeNull();
    expect(positionBetween(1, 1 + Number.EPSILON)).toBeNull();
  });

  it('keeps finding room through many inserts at the same spot', () => {
    let lo = 1;
    const hi = 2;
    for (let i = 0; i < 40; i++) {
      const p = positionBetween(lo, hi)!;
      expect(p).toBeGreaterThan(lo);
      expect(p).toBeLessThan(hi);
      lo = p;
    }
  });
});

describe('grouping the board into columns', () => {
  it('sorts each column by position, then age, then id', () => {
    const cards = [
      card('c', 'backlog', 3),
      card('a', 'backlog', 1),
      card('r', 'review', 1),
      card('b', 'backlog', 1),
      card('d', 'done', 0.5),
    ];
    const g = groupColumns(cards);
    expect(ids(g.backlog)).toEqual(['a', 'b', 'c']);
    expect(ids(g.running)).toEqual([]);
    expect(ids(g.review)).toEqual(['r']);
    expect(ids(g.done)).toEqual(['d']);
  });
});

describe('moving a card', () => {
  const board = () => [
    card('a', 'backlog', 1),
    card('b', 'backlog', 2),
    card('c', 'backlog', 3),
    card('x', 'review', 1),
  ];

  it('reorders within a column by writing one position between the new neighbours', () => {
    const plan = moveCard(board(), 'c', 'backlog', 0)!;
    expect(plan.patches).toEqual([{ id: 'c', position: 0 }]);
    expect(order(plan.cards, 'backlog')).toEqual(['c', 'a', 'b']);
    const mid = moveCard(board(), 'a', 'backlog', 1)!;
    expect(mid.patches).toEqual([{ id: 'a', position: 2.5 }]);
    expect(order(mid.cards, 'backlog')).toEqual(['b', 'a', 'c']);
  });

  it('moves to another column with the column in the write', () => {
    const plan = moveCard(board(), 'b', 'review', 0)!;
    expect(plan.patches).toEqual([{ id: 'b', column: 'review', position: 0 }]);
    expect(order(plan.cards, 'backlog')).toEqual(['a', 'c']);
    expect(order(plan.cards, 'review')).toEqual(['b', 'x']);
    const empty = moveCard(board(), 'a', 'done', 5)!;
    expect(empty.patches).toEqual([{ id: 'a', column: 'done', position: 1 }]);
  });

  it('does nothing when the card stays where it is or is unknown', () => {
    expect(moveCard(board(), 'b', 'backlog', 1)).toBeNull();
    expect(moveCard(board(), 'nope', 'backlog', 0)).toBeNull();
  });

  it('leaves the input untouched (the optimistic board is a new array)', () => {
    const before = board();
    const snapshot = JSON.stringify(before);
    moveCard(before, 'a', 'done', 0);
    expect(JSON.stringify(before)).toBe(snapshot);
  });

  it('renumbers the destination column when neighbours share a position', () => {
    const cards = [card('a', 'done', 1), card('b', 'done', 1), card('c', 'done', 2), card('n', 'backlog', 1)];
    const plan = moveCard(cards, 'n', 'done', 1)!;
    expect(order(plan.cards, 'done')).toEqual(['a', 'n', 'b', 'c']);
    expect(plan.patches).toEqual([
      { id: 'n', column: 'done', position: 2 },
      { id: 'b', position: 3 },
      { id: 'c', position: 4 },
    ]);
  });

  it('clamps an index past the end to the end', () => {
    const plan = moveCard(board(), 'a', 'backlog', 99)!;
    expect(order(plan.cards, 'backlog')).toEqual(['b', 'c', 'a']);
    expect(plan.patches).toEqual([{ id: 'a', position: 4 }]);
  });
});

describe('moves in flight', () => {
  const server = () => [card('a', 'backlog', 1), card('b', 'backlog', 2)];

  it('win over a refresh that has not seen them yet', () => {
    const pending = new Map([['b', { column: 'done' as const, position: 1, until: 1000 }]]);
    const view = overlayMoves(server(), pending, 500);
    expect(order(view.cards, 'done')).toEqual(['b']);
    expect([...view.pending.keys()]).toEqual(['b']);
  });

  it('drop out once the server shows them, once they expire, or when the card is gone', () => {
    const pending = new Map([
      ['a', { column: 'backlog' as const, position: 1, until: 1000 }],
      ['b', { column: 'done' as const, position: 1, until: 400 }],
      ['gone', { column: 'done' as const, position: 2, until: 1000 }],
    ]);
    const view = overlayMoves(server(), pending, 500);
    expect(order(view.cards, 'backlog')).toEqual(['a', 'b']);
    expect(view.pending.size).toBe(0);
  });
});

describe('stepping a card with buttons or arrow keys', () => {
  const board = () => [
    card('a', 'backlog', 1),
    card('b', 'backlog', 2),
    card('c', 'backlog', 3),
    card('x', 'running', 1),
  ];

  it('moves up and down within its column and stops at the ends', () => {
    expect(stepTarget(board(), 'b', 'up')).toEqual({ column: 'backlog', index: 0 });
    expect(stepTarget(board(), 'b', 'down')).toEqual({ column: 'backlog', index: 2 });
    expect(stepTarget(board(), 'a', 'up')).toBeNull();
    expect(stepTarget(board(), 'c', 'down')).toBeNull();
  });

  it('moves left and right at the same height, clamped to the neighbour column, and stops at the edges', () => {
    expect(stepTarget(board(), 'c', 'right')).toEqual({ column: 'running', index: 1 });
    expect(stepTarget(board(), 'a', 'right')).toEqual({ column: 'running', index: 0 });
    expect(stepTarget(board(), 'x', 'left')).toEqual({ column: 'backlog', index: 0 });
    expect(stepTarget(board(), 'a', 'left')).toBeNull();
    expect(stepTarget([card('d', 'done', 1)], 'd', 'right')).toBeNull();
  });

  it('gives a step that moveCard carries out', () => {
    const cards = board();
    const t = stepTarget(cards, 'b', 'down')!;
    expect(order(moveCard(cards, 'b', t.column, t.index)!.cards, 'backlog')).toEqual(['a', 'c', 'b']);
  });
});

describe('hit-testing a drag', () => {
  it('drops before the first card whose middle is below the pointer', () => {
    expect(dropIndex([100, 200, 300], 50)).toBe(0);
    expect(dropIndex([100, 200, 300], 150)).toBe(1);
    expect(dropIndex([100, 200, 300], 999)).toBe(3);
    expect(dropIndex([], 10)).toBe(0);
  });

  it('picks the column under the pointer, else the nearest one', () => {
    const spans = [
      { left: 0, right: 100 },
      { left: 110, right: 200 },
      { left: 210, right: 300 },
    ];
    expect(pickColumn(spans, 50)).toBe(0);
    expect(pickColumn(spans, 150)).toBe(1);
    expect(pickColumn(spans, 106)).toBe(1);
    expect(pickColumn(spans, 9999)).toBe(2);
    expect(pickColumn(spans, -40)).toBe(0);
    expect(pickColumn([], 10)).toBe(-1);
  });
});

describe("a card's session", () => {
  const session = (id: string, status: SessionView['status']) => ({ id, status }) as SessionView;

  it("shows the live session status when known, else the board's, and none without a session", () => {
    const c = card('a', 'running', 1, { sessionId: 'ses_1', sessionStatus: 'running' });
    expect(cardStatus(c, [session('ses_1', 'succeeded')])).toBe('succeeded');
    expect(cardStatus(c, [])).toBe('running');
    expect(cardStatus(card('b', 'backlog', 1), [session('ses_1', 'running')])).toBeNull();
  });

  it('can be launched again only once its session has ended', () => {
    expect(
      [null, 'queued', 'starting', 'running', 'lost', 'succeeded', 'failed', 'cancelled', 'refused'].map((s) =>
        canLaunch(s as never),
      ),
    ).toEqual([true, false, false, false, false, true, true, true, true]);
  });

  it('has a tone per status', () => {
    expect(['succeeded', 'failed', 'lost', 'cancelled', 'running'].map((s) => statusTone(s as never))).toEqual([
      'ok',
      'bad',
      'warn',
      'muted',
      '',
    ]);
  });
});

describe('harness choices', () => {
  const device = (id: string, online: boolean, harnesses: string[]) =>
    ({
      id,
      online,
      revoked: false,
      capabilities: { harnesses: harnesses.map((name) => ({ name, version: null })) },
    }) as unknown as DeviceView;

  it('offers every harness, marking those the chosen device (or any online one) has', () => {
    const fleet = [
      device('d1', true, ['shell']),
      device('d2', true, ['shell', 'claude']),
      device('d3', false, ['codex']),
    ];
    const installed = (id: string | null) =>
      harnessChoices(fleet, id)
        .filter((h) => h.installed)
        .map((h) => h.name);
    expect(harnessChoices(fleet, null).map((h) => h.name)).toEqual([
      'shell',
      'claude',
      'codex',
      'opencode',
      'kimi',
      'openclaw',
    ]);
    expect(installed(null)).toEqual(['shell', 'claude']);
    expect(installed('d1')).toEqual(['shell']);
    expect(installed('d3')).toEqual(['codex']);
  });
});
