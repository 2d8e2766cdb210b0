import { fuel } from '../store.js';
import { shortCount, sparklinePath, streak } from '../model/fuel.js';

/** THROUGHPUT, MISSION, YIELD: pinned at the top of every screen. */
export function FuelMeter() {
  const f = fuel.value;
  const spark = f ? sparklinePath(f.throughput.sparkline, 120, 18) : '';
  return (
    <header class="fuel" role="status" aria-label="fuel meter" data-testid="fuel">
      <div class="gauge">
        <div class="k">THROUGHPUT</div>
        <div class="v" data-testid="fuel-throughput">
          {f ? `${shortCount(f.throughput.tokensPerMinute)} tok/m` : '—'}
        </div>
        <svg viewBox="0 0 120 18" preserveAspectRatio="none" aria-hidden="true">
          <path d={spark} fill="none" stroke="var(--amber)" stroke-width="1.5" />
        </svg>
      </div>
      <div class="gauge">
        <div class="k">MISSION</div>
        <div class="v" data-testid="fuel-mission">
          {f ? streak(f.mission.streakMs) : '—'}
        </div>
        <div class="tiny muted">{f?.mission.active ? 'agents working' : 'idle'}</div>
      </div>
      <div class="gauge">
        <div class="k">YIELD</div>
        <div class="v" data-testid="fuel-yield">
          {f ? `${f.yield.sessionsSucceeded} ✓ ${shortCount(f.yield.tokens)}` : '—'}
        </div>
        <div class="tiny muted">
          {f?.yield.tokensPerSession != null ? `${shortCount(f.yield.tokensPerSession)}/session` : 'today'}
        </div>
      </div>
    </header>
  );
}
