import type { ComponentChildren } from 'preact';
import type { Problem } from '../../model/vault-errors.js';
import { fraction } from '../../model/vault.js';

/** Text with `backtick` spans shown as code (commands to type). */
export function Rich({ text }: { text: string }) {
  return <>{text.split('`').map((part, i) => (i % 2 === 1 ? <code>{part}</code> : part))}</>;
}

/** A problem: one line that says what to do, and the library's own detail when it adds a fact. */
export function ProblemBox({ problem, onDismiss }: { problem: Problem | null; onDismiss?: () => void }) {
  if (!problem) return null;
  return (
    <div class="v-problem" role="alert" data-testid="vault-problem" data-code={problem.code}>
      <div class="row" style="flex-wrap: nowrap; align-items: flex-start;">
        <p class="grow">
          <Rich text={problem.text} />
        </p>
        {onDismiss && (
          <button type="button" aria-label="dismiss" onClick={onDismiss}>
            ×
          </button>
        )}
      </div>
      {problem.detail && <p class="detail">{problem.detail}</p>}
    </div>
  );
}

export function Notice({ text, onDismiss }: { text: string | null; onDismiss?: () => void }) {
  if (!text) return null;
  return (
    <div class="v-notice" role="status" data-testid="vault-notice">
      <p>{text}</p>
      {onDismiss && (
        <button type="button" aria-label="dismiss" onClick={onDismiss}>
          ×
        </button>
      )}
    </div>
  );
}

/** A segmented progress bar with its count. */
export function Bar({ done, total, label }: { done: number; total: number; label: string }) {
  const pct = Math.round(fraction(done, total) * 100);
  return (
    <div>
      <div
        class="v-bar"
        role="progressbar"
        aria-label={label}
        aria-valuemin={0}
        aria-valuemax={total}
        aria-valuenow={done}
      >
        <span style={`width: ${total === 0 ? 0 : pct}%`} />
      </div>
      <div class="tiny muted">
        {label}
        {total > 0 ? ` · ${done}/${total}` : ''}
      </div>
    </div>
  );
}

export function Head({ title, children }: { title: ComponentChildren; children?: ComponentChildren }) {
  return (
    <div class="v-head">
      <h2>{title}</h2>
      {children}
    </div>
  );
}
