import { useEffect, useRef, useState } from 'preact/hooks';
import type { BoardCard, BoardColumn } from '@fabric/protocol';
import { api } from '../api.js';
import { ErrorLine } from '../components/ErrorLine.js';
import {
  COLUMNS,
  cardStatus,
  groupColumns,
  moveCard,
  overlayMoves,
  stepTarget,
  type PendingMove,
  type Step,
} from '../model/board.js';
import { board, devices, refreshBoard, refreshSessions, sessions } from '../store.js';
import { Card, type CardActions } from './board/Card.js';
import { CardDrawer } from './board/CardDrawer.js';
import { useCardDrag } from './board/drag.js';
import './board/board.css';

const HINT: Record<BoardColumn, string> = {
  backlog: 'tasks waiting to launch',
  running: 'sessions in flight',
  review: 'finished: check the result',
  done: 'accepted',
};

/** On a phone, the column the strip is scrolled to (the one whose left edge is nearest the strip's). */
function columnInView(strip: HTMLElement | null): BoardColumn {
  if (!strip) return 'backlog';
  let best: BoardColumn = 'backlog';
  let bestDist = Infinity;
  for (const el of strip.querySelectorAll<HTMLElement>('[data-column]')) {
    const d = Math.abs(el.offsetLeft - strip.offsetLeft - strip.scrollLeft);
    if (d < bestDist) {
      bestDist = d;
      best = el.dataset.column as BoardColumn;
    }
  }
  return best;
}

/**
 * BOARD: task cards in four columns, stored server-side. A launched card
 * follows its session by itself (the live feed refreshes the board); people
 * move cards by dragging (mouse or finger) or with the arrow controls.
 * Moves show at once and are written as one position between the new
 * neighbours; a failed write reloads the board from the server.
 */
export function BoardScreen() {
  const [drawer, setDrawer] = useState<{ card: BoardCard | null } | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState<string | null>(null);
  const [inView, setInView] = useState<BoardColumn>('backlog');
  const root = useRef<HTMLDivElement>(null);
  const strip = useRef<HTMLDivElement>(null);
  /** A card moved from the keyboard keeps the focus through every redraw of the next seconds (optimistic, then the server's). */
  const keepFocus = useRef<{ id: string; step: string | undefined; until: number } | null>(null);
  const restoreFocus = () => {
    const k = keepFocus.current;
    if (!k || Date.now() > k.until) return;
    const active = document.activeElement;
    const el = root.current?.querySelector<HTMLElement>(`[data-card-id="${k.id}"]`);
    if (!el || el.contains(active)) return;
    // Focus the person put elsewhere stays there; only focus lost with a redrawn card comes back.
    if (active && active !== document.body) {
      keepFocus.current = null;
      return;
    }
    const again = k.step ? el.querySelector<HTMLButtonElement>(`[data-step="${k.step}"]`) : null;
    (again && !again.disabled ? again : el.querySelector<HTMLElement>('[data-drag-handle]'))?.focus();
    el.scrollIntoView({ block: 'nearest', inline: 'nearest' });
  };
  useEffect(restoreFocus);
  const pending = useRef(new Map<string, PendingMove>());
  useEffect(() => {
    refreshBoard().catch(setError);
  }, []);
  const view = overlayMoves(board.value, pending.current, Date.now());
  pending.current = view.pending;
  const cards = view.cards;

  const move = async (id: string, column: BoardColumn, index: number): Promise<boolean> => {
    const plan = moveCard(overlayMoves(board.value, pending.current, Date.now()).cards, id, column, index);
    if (!plan) return false;
    const until = Date.now() + 10_000;
    for (const p of plan.patches) {
      const c = plan.cards.find((x) => x.id === p.id)!;
      pending.current.set(p.id, { column: c.column, position: c.position, until });
    }
    board.value = plan.cards;
    setError(null);
    try {
      for (const p of plan.patches)
        await api.updateCard({
          params: { id: p.id },
          body: p.column ? { column: p.column, position: p.position } : { position: p.position },
        });
    } catch (err) {
      setError(err);
      for (const p of plan.patches) pending.current.delete(p.id);
      await refreshBoard().catch(() => {});
    }
    return true;
  };
  const { drag, onPointerDown } = useCardDrag(root, strip, (id, column, index) => {
    void move(id, column, index);
  });

  const launchCard = async (card: BoardCard) => {
    setBusy(card.id);
    setError(null);
    try {
      const launched = await api.launchCard({ params: { id: card.id } });
      board.value = board.value.map((c) => (c.id === launched.id ? launched : c));
      await refreshSessions();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(null);
    }
  };
  const removeCard = async (card: BoardCard) => {
    if (!confirm(`delete the card "${card.title}"?`)) return;
    board.value = board.value.filter((c) => c.id !== card.id);
    try {
      await api.deleteCard({ params: { id: card.id } });
    } catch (err) {
      setError(err);
      await refreshBoard().catch(() => {});
    }
  };
  const actions: CardActions = {
    launch(card) {
      void launchCard(card);
    },
    edit(card) {
      setDrawer({ card });
    },
    remove(card) {
      void removeCard(card);
    },
    step(card, step, from) {
      const t = stepTarget(cards, card.id, step);
      if (!t) return;
      // Moving re-creates the card, now and again when the server's answer is drawn: keep the keyboard on it.
      keepFocus.current = { id: card.id, step: from.dataset.step, until: Date.now() + 10_000 };
      void move(card.id, t.column, t.index).finally(() => requestAnimationFrame(restoreFocus));
      requestAnimationFrame(restoreFocus);
    },
  };

  const cols = groupColumns(cards);
  const names = new Map(devices.value.map((d) => [d.id, d.name]));
  const dragged = drag ? cards.find((c) => c.id === drag.id) : undefined;
  const canFor = (c: BoardCard): Record<Step, boolean> => {
    const i = cols[c.column].indexOf(c);
    const ci = COLUMNS.indexOf(c.column);
    return { up: i > 0, down: i < cols[c.column].length - 1, left: ci > 0, right: ci < COLUMNS.length - 1 };
  };
  const cardFor = (c: BoardCard, extra: { dragging?: boolean; dropBefore?: boolean; ghost?: boolean } = {}) => (
    <Card
      key={c.id}
      card={c}
      status={cardStatus(c, sessions.value)}
      deviceName={c.deviceId ? (names.get(c.deviceId) ?? null) : null}
      can={canFor(c)}
      actions={actions}
      busy={busy === c.id}
      {...extra}
    />
  );

  return (
    <div class="board" ref={root}>
      <div class="board-bar">
        <h2 class="panel-title">board</h2>
        <nav class="board-tabs" aria-label="columns">
          {COLUMNS.map((col) => (
            <button
              type="button"
              class={`tab${inView === col ? ' active' : ''}`}
              aria-current={inView === col ? 'true' : undefined}
              onClick={() =>
                root.current?.querySelector(`[data-column="${col}"]`)?.scrollIntoView({
                  behavior: matchMedia('(prefers-reduced-motion: reduce)').matches ? 'auto' : 'smooth',
                  inline: 'start',
                  block: 'nearest',
                })
              }
            >
              {col} <span class="count">{cols[col].length}</span>
            </button>
          ))}
        </nav>
        <button type="button" class="primary" onClick={() => setDrawer({ card: null })}>
          + new card
        </button>
      </div>
      {error ? (
        <div class="board-error">
          <ErrorLine error={error} />
        </div>
      ) : null}
      <div
        class={`board-strip${drag ? ' is-dragging' : ''}`}
        ref={strip}
        onPointerDown={onPointerDown}
        onScroll={() => setInView(columnInView(strip.current))}
      >
        {COLUMNS.map((col) => {
          const list = cols[col];
          const target = drag?.target?.column === col ? drag.target.index : -1;
          const others = list.filter((c) => c.id !== drag?.id);
          const before = target >= 0 && target < others.length ? others[target]!.id : null;
          return (
            <section
              class={`board-col col-${col}${drag?.target?.column === col ? ' is-target' : ''}`}
              data-column={col}
              aria-label={`${col} column`}
            >
              <header class="board-col-head">
                <span class="name">{col}</span>
                <span class="count">{list.length}</span>
              </header>
              <ol class={`board-list${target >= 0 && before === null ? ' drop-end' : ''}`}>
                {list.map((c) => cardFor(c, { dragging: c.id === drag?.id, dropBefore: c.id === before }))}
              </ol>
              {list.length === 0 && <p class="board-empty tiny">{HINT[col]}</p>}
            </section>
          );
        })}
      </div>
      {drag && dragged && (
        <ol
          class="board-ghost"
          style={{ left: `${drag.x - drag.dx}px`, top: `${drag.y - drag.dy}px`, width: `${drag.width}px` }}
        >
          {cardFor(dragged, { ghost: true })}
        </ol>
      )}
      {drawer && <CardDrawer key={drawer.card?.id ?? 'new'} card={drawer.card} onClose={() => setDrawer(null)} />}
    </div>
  );
}
