import type { BoardCard, SessionStatus } from '@fabric/protocol';
import { canLaunch, statusTone, type Step } from '../../model/board.js';
import { visible, visibleBlock } from '../../model/text.js';

export interface CardActions {
  launch(card: BoardCard): void;
  edit(card: BoardCard): void;
  remove(card: BoardCard): void;
  step(card: BoardCard, step: Step, from: HTMLElement): void;
}

const STEPS: { step: Step; glyph: string; label: string }[] = [
  { step: 'left', glyph: '◀', label: 'move to the previous column' },
  { step: 'up', glyph: '▲', label: 'move up' },
  { step: 'down', glyph: '▼', label: 'move down' },
  { step: 'right', glyph: '▶', label: 'move to the next column' },
];

const KEYS: Record<string, Step> = { ArrowLeft: 'left', ArrowUp: 'up', ArrowDown: 'down', ArrowRight: 'right' };

/**
 * One task card. Its controls double as the accessible way to move it:
 * the arrow buttons, or arrow keys on the focused grip.
 */
export function Card({
  card,
  status,
  deviceName,
  can,
  actions,
  busy,
  dragging,
  dropBefore,
  ghost,
}: {
  card: BoardCard;
  status: SessionStatus | null;
  deviceName: string | null;
  /** Which steps are possible from here. */
  can: Record<Step, boolean>;
  actions: CardActions;
  busy: boolean;
  dragging?: boolean;
  /** Show the landing line above this card. */
  dropBefore?: boolean;
  /** The copy that follows the pointer: drawn, not interactive. */
  ghost?: boolean;
}) {
  const launchable = canLaunch(status);
  return (
    <li
      class={`bcard${dragging ? ' is-dragging' : ''}${dropBefore ? ' drop-before' : ''}${ghost ? ' ghost' : ''}`}
      data-card-id={ghost ? undefined : card.id}
      data-card-title={card.title}
      data-testid={ghost ? undefined : 'card'}
      aria-hidden={ghost ? 'true' : undefined}
    >
      <div class="bcard-head">
        <button
          type="button"
          class="grip"
          data-drag-handle
          aria-label={`move ${card.title}: drag, or use the arrow keys`}
          onKeyDown={(e) => {
            const s = KEYS[e.key];
            if (s) {
              e.preventDefault();
              if (can[s]) actions.step(card, s, e.currentTarget);
            }
          }}
        >
          <svg viewBox="0 0 10 16" width="10" height="16" aria-hidden="true">
            {[3, 8, 13].flatMap((y) => [<circle cx="2.5" cy={y} r="1.4" />, <circle cx="7.5" cy={y} r="1.4" />])}
          </svg>
        </button>
        <strong class="bcard-title">{visible(card.title)}</strong>
        <button type="button" class="icon" aria-label={`edit ${card.title}`} onClick={() => actions.edit(card)}>
          ✎
        </button>
        <button
          type="button"
          class="icon danger"
          aria-label={`delete ${card.title}`}
          onClick={() => actions.remove(card)}
        >
          ✕
        </button>
      </div>
      <div class="bcard-meta tiny muted">
        <span class="harness">{card.harness}</span> ·{' '}
        {deviceName !== null ? visible(deviceName) : card.deviceId ? 'unknown device' : 'best device'}
      </div>
      <div class="bcard-prompt">{visibleBlock(card.prompt)}</div>
      {card.sessionId && (
        <div class="bcard-session row">
          <span class={`badge ${statusTone(status)}`} data-testid="card-status">
            {status ?? 'unknown'}
          </span>
          <a href={`/sessions/${card.sessionId}`} class="tiny" aria-label={`open the session of ${card.title}`}>
            session {card.sessionId.slice(-6)} →
          </a>
        </div>
      )}
      <div class="bcard-actions">
        <button
          type="button"
          class={`launch ${card.column === 'backlog' ? 'primary' : ''}`}
          disabled={!launchable || busy}
          onClick={() => actions.launch(card)}
        >
          {card.sessionId ? (launchable ? 'relaunch' : 'launched') : 'launch'}
        </button>
        <span class="steps">
          {STEPS.map((s) => (
            <button
              type="button"
              class="icon"
              aria-label={s.label}
              disabled={!can[s.step]}
              data-step={s.step}
              onClick={(e) => actions.step(card, s.step, e.currentTarget)}
            >
              {s.glyph}
            </button>
          ))}
        </span>
      </div>
    </li>
  );
}
