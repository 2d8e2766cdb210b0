import { useEffect, useRef, useState } from 'preact/hooks';
import { statusTone } from '../model/board.js';
import { layoutTopo } from '../model/topo.js';
import { devices, live, sessions } from '../store.js';
import { Detail } from './topo/Detail.js';
import { useReducedMotion, useSize } from './topo/motion.js';
import { TopoMap, type Selection } from './topo/TopoMap.js';
import './topo/topo.css';

/**
 * TOPO, the live map: devices are planets, sessions ships orbiting them,
 * vault credentials fuel depots wired to the ships that burn them. It reads
 * the fleet signals, so it redraws as the live feed changes them. Tapping
 * opens a detail panel (beside the map on a desk, under it on a phone);
 * the manifest lists the same things as plain buttons for keyboards and
 * screen readers, and for ships too quick to tap.
 */
export function TopoScreen() {
  const [selected, setSelected] = useState<Selection>(null);
  const box = useRef<HTMLDivElement>(null);
  const side = useRef<HTMLDivElement>(null);
  const size = useSize(box);
  const reduced = useReducedMotion();
  const fleet = devices.value;
  const all = sessions.value;
  const layout = layoutTopo(fleet, all, size.width, size.height);
  const ram = new Map(fleet.map((d) => [d.id, d.capabilities?.ramTotal ?? 0]));

  useFitHeight(box);
  const select = (s: Selection) => setSelected(s);
  useEffect(() => {
    // On a phone the detail sits under the map: bring it into view.
    if (selected && side.current && side.current.getBoundingClientRect().top > innerHeight - 120) {
      side.current.scrollIntoView({ behavior: reduced ? 'auto' : 'smooth', block: 'start' });
    }
  }, [selected?.kind, selected?.id]);

  return (
    <div class="topo">
      <div class="topo-map" ref={box}>
        {size.width > 0 && (
          <TopoMap
            layout={layout}
            selected={selected}
            onSelect={select}
            animate={!reduced}
            live={live.value}
            ram={ram}
          />
        )}
      </div>
      <div class="topo-side" ref={side}>
        {selected ? (
          <Detail selected={selected} devices={fleet} sessions={all} onSelect={select} />
        ) : (
          <Manifest onSelect={select} layout={layout} />
        )}
        <Legend />
      </div>
    </div>
  );
}

/**
 * On a desk the map fills the window below whatever chrome sits above it
 * (measured, so a taller header does not push it off screen); on a phone
 * the stylesheet's height holds.
 */
function useFitHeight(box: { current: HTMLElement | null }): void {
  useEffect(() => {
    const desk = matchMedia('(min-width: 1024px)');
    const fit = () => {
      const el = box.current;
      if (!el) return;
      if (!desk.matches) {
        el.style.height = '';
        return;
      }
      const top = el.getBoundingClientRect().top + scrollY;
      el.style.height = `${Math.max(420, Math.round(innerHeight - top - 12))}px`;
    };
    fit();
    addEventListener('resize', fit);
    return () => removeEventListener('resize', fit);
  }, []);
}

function Manifest({ layout, onSelect }: { layout: ReturnType<typeof layoutTopo>; onSelect: (s: Selection) => void }) {
  const byId = new Map(sessions.value.map((s) => [s.id, s]));
  return (
    <section class="panel topo-manifest" aria-label="manifest">
      <h2>manifest</h2>
      {layout.planets.length === 0 && <p class="tiny muted">no devices yet: pair one on the DEVICES screen</p>}
      <ul class="list">
        {layout.planets.map((p) => {
          const ships = layout.ships.filter((s) => s.deviceId === p.id);
          return (
            <li>
              <button type="button" class="linkish planet-link" onClick={() => onSelect({ kind: 'device', id: p.id })}>
                <span class={`dot state-${p.state}`} aria-hidden="true" />
                {p.name}
                <span class="tiny muted">
                  {' '}
                  · {p.state} · {ships.length} ship(s)
                </span>
              </button>
              {ships.length > 0 && (
                <ul class="list nested">
                  {ships.map((s) => (
                    <li class="row">
                      <span class={`badge ${statusTone(s.status)}`}>{s.status}</span>
                      <button type="button" class="linkish grow" onClick={() => onSelect({ kind: 'ship', id: s.id })}>
                        {byId.get(s.id)?.prompt ?? s.id}
                      </button>
                    </li>
                  ))}
                </ul>
              )}
            </li>
          );
        })}
      </ul>
      {layout.depots.length > 0 && (
        <div class="chips depots">
          {layout.depots.map((d) => (
            <button type="button" class="chip linkish" onClick={() => onSelect({ kind: 'depot', id: d.name })}>
              ◆ {d.name}
            </button>
          ))}
        </div>
      )}
      {layout.queued > 0 && <p class="tiny warn">{layout.queued} session(s) queued, waiting for a device</p>}
    </section>
  );
}

function Legend() {
  return (
    <div class="topo-legend tiny" aria-label="legend">
      <span>
        <svg viewBox="-10 -10 20 20" aria-hidden="true">
          <circle r="6" class="lg-planet" />
        </svg>
        device · size RAM · glow load
      </span>
      <span>
        <svg viewBox="-10 -10 20 20" aria-hidden="true">
          <path class="lg-run" d="M8 0L-5 -5L-2.5 0L-5 5Z" />
        </svg>
        running
      </span>
      <span>
        <svg viewBox="-10 -10 20 20" aria-hidden="true">
          <path class="lg-start" d="M8 0L-5 -5L-2.5 0L-5 5Z" />
        </svg>
        starting
      </span>
      <span>
        <svg viewBox="-10 -10 20 20" aria-hidden="true">
          <path class="lg-lost" d="M8 0L-5 -5L-2.5 0L-5 5Z" />
        </svg>
        lost
      </span>
      <span>
        <svg viewBox="-10 -10 20 20" aria-hidden="true">
          <path class="lg-depot" d="M0 -6L6 0L0 6L-6 0Z" />
        </svg>
        fuel depot
      </span>
    </div>
  );
}
