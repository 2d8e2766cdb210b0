import { useEffect, useRef, useState } from 'preact/hooks';
import type { BoardColumn } from '@fabric/protocol';
import { dropIndex, pickColumn } from '../../model/board.js';

/** A card being dragged: where the pointer is, where the card was grabbed, and where it would land. */
export interface DragState {
  id: string;
  x: number;
  y: number;
  /** Pointer offset inside the card when it was grabbed, so the card does not jump under the finger. */
  dx: number;
  dy: number;
  width: number;
  target: { column: BoardColumn; index: number } | null;
}

/** Movement (px) before a press becomes a drag, so a tap or click stays a tap or click. */
const THRESHOLD = 5;
/** How close (px) to an edge the pointer must be to scroll the page or the columns. */
const EDGE = 56;
const BOTTOM_EDGE = 96;

/**
 * Drag cards with pointer events, so it works the same with a mouse and a
 * finger (HTML5 drag-and-drop does not fire for touch). A mouse can grab a
 * card anywhere but its controls; touch and pen grab the handle, which has
 * `touch-action: none` so the card body still scrolls the page. While a
 * card is held near an edge the page (and on a phone, the column strip)
 * scrolls. The landing spot comes from the `[data-column]` elements under
 * `root` and the `[data-card-id]` cards in them; `onDrop` gets the card's id,
 * column and index among the other cards of that column.
 */
export function useCardDrag(
  root: { current: HTMLElement | null },
  strip: { current: HTMLElement | null },
  onDrop: (id: string, column: BoardColumn, index: number) => void,
): { drag: DragState | null; onPointerDown: (e: PointerEvent) => void } {
  const [drag, setDrag] = useState<DragState | null>(null);
  const stop = useRef<(() => void) | null>(null);
  const dropRef = useRef(onDrop);
  dropRef.current = onDrop;
  useEffect(() => () => stop.current?.(), []);

  const hitTest = (id: string, x: number, y: number): DragState['target'] => {
    const cols = [...(root.current?.querySelectorAll<HTMLElement>('[data-column]') ?? [])];
    const i = pickColumn(
      cols.map((c) => c.getBoundingClientRect()),
      x,
    );
    if (i < 0) return null;
    const mids = [...cols[i]!.querySelectorAll<HTMLElement>('[data-card-id]')]
      .filter((el) => el.dataset.cardId !== id)
      .map((el) => {
        const r = el.getBoundingClientRect();
        return r.top + r.height / 2;
      });
    return { column: cols[i]!.dataset.column as BoardColumn, index: dropIndex(mids, y) };
  };

  const onPointerDown = (e: PointerEvent) => {
    if (e.button !== 0 || stop.current) return;
    const el = e.target as Element;
    const cardEl = el.closest<HTMLElement>('[data-card-id]');
    if (!cardEl) return;
    const onHandle = el.closest('[data-drag-handle]') !== null;
    if (!onHandle && (e.pointerType !== 'mouse' || el.closest('button, a, input, select, textarea'))) return;
    if (e.pointerType === 'mouse') e.preventDefault();
    const id = cardEl.dataset.cardId!;
    const rect = cardEl.getBoundingClientRect();
    const start = { x: e.clientX, y: e.clientY };
    let last = start;
    let active = false;
    let frame = 0;
    let state: DragState | null = null;
    const show = (s: DragState | null) => {
      state = s;
      setDrag(s);
    };

    const update = () => {
      if (!active) return;
      show({
        id,
        x: last.x,
        y: last.y,
        dx: start.x - rect.left,
        dy: start.y - rect.top,
        width: rect.width,
        target: hitTest(id, last.x, last.y),
      });
    };
    // Near an edge, scroll a little every frame and re-aim: the cards moved under a still pointer.
    const autoscroll = () => {
      frame = requestAnimationFrame(autoscroll);
      let moved = false;
      const vy = last.y < EDGE ? -1 : last.y > innerHeight - BOTTOM_EDGE ? 1 : 0;
      if (vy && (vy < 0 ? scrollY > 0 : scrollY + innerHeight < document.documentElement.scrollHeight)) {
        scrollBy(0, vy * 12);
        moved = true;
      }
      const s = strip.current;
      if (s && s.scrollWidth > s.clientWidth) {
        const r = s.getBoundingClientRect();
        const vx = last.x < r.left + EDGE / 2 ? -1 : last.x > r.right - EDGE / 2 ? 1 : 0;
        if (vx) {
          const before = s.scrollLeft;
          s.scrollLeft += vx * 14;
          moved = moved || s.scrollLeft !== before;
        }
      }
      if (moved) update();
    };
    const move = (ev: PointerEvent) => {
      if (ev.pointerId !== e.pointerId) return;
      last = { x: ev.clientX, y: ev.clientY };
      if (!active && Math.hypot(last.x - start.x, last.y - start.y) < THRESHOLD) return;
      if (!active) {
        active = true;
        document.documentElement.classList.add('board-dragging');
        frame = requestAnimationFrame(autoscroll);
      }
      ev.preventDefault();
      update();
    };
    const finish = (drop: boolean) => {
      const s = state;
      cleanup();
      if (!active) return;
      // The release is not a click on whatever lies under it.
      addEventListener('click', swallow, { capture: true, once: true });
      setTimeout(() => removeEventListener('click', swallow, { capture: true }), 0);
      if (drop && s?.target) dropRef.current(id, s.target.column, s.target.index);
    };
    const up = (ev: PointerEvent) => {
      if (ev.pointerId === e.pointerId) finish(true);
    };
    const cancel = (ev: PointerEvent) => {
      if (ev.pointerId === e.pointerId) finish(false);
    };
    const key = (ev: KeyboardEvent) => {
      if (ev.key === 'Escape') finish(false);
    };
    const cleanup = () => {
      cancelAnimationFrame(frame);
      removeEventListener('pointermove', move);
      removeEventListener('pointerup', up);
      removeEventListener('pointercancel', cancel);
      removeEventListener('keydown', key);
      document.documentElement.classList.remove('board-dragging');
      stop.current = null;
      show(null);
    };
    addEventListener('pointermove', move, { passive: false });
    addEventListener('pointerup', up);
    addEventListener('pointercancel', cancel);
    addEventListener('keydown', key);
    stop.current = cleanup;
  };

  return { drag, onPointerDown };
}

function swallow(e: Event): void {
  e.stopPropagation();
  e.preventDefault();
}
