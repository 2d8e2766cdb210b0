import { signal } from '@preact/signals';
import type { Signer } from '@fabric/vault';
import { IDLE_LOCK_MS, idleLeft, type LockReason } from '../../model/vault.js';

/**
 * This browser's unlocked vault keys: in this module's memory only, never in
 * storage, and never sent anywhere. They are dropped (the signer's bytes
 * zeroed) on lock, when the page is hidden for good (tab closed, navigated
 * away: `pagehide`), and after 15 minutes without a tap or key press.
 * Identities are strings, which JavaScript cannot clear: dropping the last
 * reference is the best a page can do.
 */
export interface UnlockedKeys {
  /** The browser's age identity (AGE-SECRET-KEY-1…). */
  identity: string;
  /** The browser's Ed25519 signer, for the next recipient set. */
  signer: Signer;
  /** Which enrolment these keys belong to. */
  identityId: string;
}

let keys: UnlockedKeys | null = null;
/** Last user activity (ms), published for the countdown on screen. */
export const lastActivity = signal(0);
const dropped = new Set<(reason: Exclude<LockReason, 'fresh'>) => void>();
let watch: ReturnType<typeof setInterval> | null = null;

const ACTIVITY = ['pointerdown', 'keydown', 'wheel', 'touchstart'] as const;
const onActivity = () => {
  lastActivity.value = Date.now();
};
const onPageHide = () => drop('hidden');

/** Keep `k` as the unlocked keys and start the idle watch. */
export function hold(k: UnlockedKeys): void {
  if (keys && keys !== k) zeroSigner(keys);
  keys = k;
  lastActivity.value = Date.now();
  if (watch === null) {
    for (const t of ACTIVITY) addEventListener(t, onActivity, { passive: true, capture: true });
    addEventListener('pagehide', onPageHide);
    watch = setInterval(checkIdle, 5_000);
  }
}

/** The unlocked keys, or null when locked (an idle timeout that a sleeping timer missed is enforced here too). */
export function unlocked(): UnlockedKeys | null {
  checkIdle();
  return keys;
}

/** Forget the keys; listeners learn why. Safe to call when already locked. */
export function drop(reason: Exclude<LockReason, 'fresh'>): void {
  if (watch !== null) {
    clearInterval(watch);
    watch = null;
    for (const t of ACTIVITY) removeEventListener(t, onActivity, { capture: true });
    removeEventListener('pagehide', onPageHide);
  }
  if (keys === null) return;
  zeroSigner(keys);
  keys = null;
  for (const f of dropped) f(reason);
}

/** Called with the reason whenever the keys are dropped. Returns an unsubscribe function. */
export function onDrop(f: (reason: Exclude<LockReason, 'fresh'>) => void): () => void {
  dropped.add(f);
  return () => dropped.delete(f);
}

function checkIdle(): void {
  if (keys !== null && idleLeft(lastActivity.value, Date.now(), IDLE_LOCK_MS) === 0) drop('idle');
}

function zeroSigner(k: UnlockedKeys): void {
  k.signer.secretKey.fill(0);
}
