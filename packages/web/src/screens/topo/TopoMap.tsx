import { useEffect, useRef } from 'preact/hooks';
import type { JSX } from 'preact';
import { shipAt, shipKind, type Planet, type Ship, type TopoLayout } from '../../model/topo.js';
import { orbitClock } from './motion.js';

export type Selection = { kind: 'device' | 'ship' | 'depot'; id: string } | null;

const GiB = 1024 ** 3;

/**
 * The map itself: one SVG drawn from a layout. Ships and the fuel lines to
 * them move by a single animation frame loop that sets attributes directly
 * (no re-render per frame); with reduced motion there is no loop and every
 * ship rests at its starting point.
 */
export function TopoMap({
  layout,
  selected,
  onSelect,
  animate,
  live,
  ram,
}: {
  layout: TopoLayout;
  selected: Selection;
  onSelect: (s: Selection) => void;
  animate: boolean;
  live: string;
  /** RAM total per device id, for the planet labels. */
  ram: Map<string, number>;
}) {
  const ships = useRef(new Map<string, SVGGElement>());
  const links = useRef(new Map<string, SVGLineElement>());
  const current = useRef(layout);
  current.current = layout;

  useEffect(() => {
    if (!animate) return;
    let frame = 0;
    const tick = () => {
      frame = requestAnimationFrame(tick);
      const t = orbitClock();
      const at = new Map<string, { x: number; y: number }>();
      for (const s of current.current.ships) {
        const p = shipAt(s, t);
        at.set(s.id, p);
        ships.current.get(s.id)?.setAttribute('transform', shipTransform(p, current.current.markScale));
      }
      for (const l of current.current.links) {
        const p = at.get(l.ship);
        const el = links.current.get(`${l.depot}|${l.ship}`);
        if (p && el) {
          el.setAttribute('x2', p.x.toFixed(1));
          el.setAttribute('y2', p.y.toFixed(1));
        }
      }
    };
    frame = requestAnimationFrame(tick);
    return () => cancelAnimationFrame(frame);
  }, [animate]);

  const t = animate ? orbitClock() : 0;
  const pos = new Map(layout.ships.map((s) => [s.id, shipAt(s, t)]));
  const depotAt = new Map(layout.depots.map((d) => [d.name, d]));
  const { width: w, height: h } = layout;
  const online = layout.planets.filter((p) => p.state !== 'offline').length;
  const press = (s: Selection) => ({
    onClick: (e: Event) => {
      e.stopPropagation();
      onSelect(s);
    },
    onKeyDown: (e: KeyboardEvent) => {
      if (e.key === 'Enter' || e.key === ' ') {
        e.preventDefault();
        onSelect(s);
      }
    },
  });

  return (
    <svg
      class={`topo-svg${animate ? ' animated' : ''}`}
      viewBox={`0 0 ${w} ${h}`}
      width={w}
      height={h}
      role="group"
      aria-label="fleet map"
      onClick={() => onSelect(null)}
    >
      <defs>
        <radialGradient id="topo-glow">
          <stop offset="0" stop-color="#ffb000" stop-opacity="0.9" />
          <stop offset="0.45" stop-color="#ff8c00" stop-opacity="0.28" />
          <stop offset="1" stop-color="#ff8c00" stop-opacity="0" />
        </radialGradient>
        <radialGradient id="topo-body" cx="0.36" cy="0.32" r="0.75">
          <stop offset="0" stop-color="#6b4a00" />
          <stop offset="0.55" stop-color="#2a1c00" />
          <stop offset="1" stop-color="#0d0800" />
        </radialGradient>
        <pattern id="topo-grid" width="48" height="48" patternUnits="userSpaceOnUse">
          <path d="M24 20v8M20 24h8" class="grid-tick" />
        </pattern>
      </defs>
      <rect class="grid" x="0" y="0" width={w} height={h} fill="url(#topo-grid)" />
      <path class="frame" d={`M8 24V8h16M${w - 24} 8h16v16M${w - 8} ${h - 24}v16h-16M24 ${h - 8}H8v-16`} />
      <text class="hud" x="14" y="22">
        TOPO <tspan class={`live-${live}`}>● {live.toUpperCase()}</tspan>
      </text>
      <text class={`hud${w < 560 ? ' compact' : ''}`} x={w - 14} y="22" text-anchor="end" data-testid="topo-counts">
        DEV {online}/{layout.planets.length} · SHIP {layout.ships.length}
        {layout.queued && w >= 560 ? ` · QUEUE ${layout.queued}` : ''}
        {layout.depots.length ? ` · FUEL ${layout.depots.length}` : ''}
      </text>
      {layout.planets.length === 0 && (
        <text class="empty" x={w / 2} y={h / 2} text-anchor="middle">
          NO DEVICES · PAIR ONE ON DEVICES
        </text>
      )}

      {layout.depots.length > 0 && (
        <g class="depot-band">
          <line x1="16" x2={w - 16} y1={h - 64} y2={h - 64} />
          <text class="hud" x="16" y={h - 52}>
            FUEL DEPOTS
          </text>
        </g>
      )}
      <g class="links">
        {layout.links.map((l) => {
          const d = depotAt.get(l.depot)!;
          const p = pos.get(l.ship)!;
          const hot = selected?.id === l.ship || (selected?.kind === 'depot' && selected.id === l.depot);
          return (
            <line
              key={`${l.depot}|${l.ship}`}
              class={`link${hot ? ' hot' : ''}`}
              x1={d.x}
              y1={d.y}
              x2={p.x.toFixed(1)}
              y2={p.y.toFixed(1)}
              ref={(el) => {
                if (el) links.current.set(`${l.depot}|${l.ship}`, el);
                else links.current.delete(`${l.depot}|${l.ship}`);
              }}
            />
          );
        })}
      </g>

      {layout.planets.map((p) => (
        <PlanetMark
          key={p.id}
          p={p}
          ram={ram.get(p.id) ?? 0}
          selected={selected?.kind === 'device' && selected.id === p.id}
          press={press({ kind: 'device', id: p.id })}
        />
      ))}

      {layout.ships.map((s) => (
        <ShipMark
          key={s.id}
          s={s}
          at={pos.get(s.id)!}
          scale={layout.markScale}
          selected={selected?.kind === 'ship' && selected.id === s.id}
          press={press({ kind: 'ship', id: s.id })}
          shipRef={(el) => {
            if (el) ships.current.set(s.id, el);
            else ships.current.delete(s.id);
          }}
        />
      ))}

      {layout.depots.map((d) => (
        <g
          key={d.name}
          class={`depot${selected?.kind === 'depot' && selected.id === d.name ? ' selected' : ''}`}
          transform={`translate(${d.x} ${d.y})`}
          data-depot={d.name}
          role="button"
          tabIndex={0}
          aria-label={`fuel depot ${d.name}`}
          {...press({ kind: 'depot', id: d.name })}
        >
          <g transform={`scale(${layout.markScale})`}>
            <circle class="hit" r="18" />
            <path d="M0 -7L7 0L0 7L-7 0Z" />
            <path class="core" d="M0 -2.5L2.5 0L0 2.5L-2.5 0Z" />
          </g>
          <text
            x={Math.min(Math.max(d.x, labelHalf(d.name) + 28), w - labelHalf(d.name) - 28) - d.x}
            y="22"
            text-anchor="middle"
          >
            {d.name}
          </text>
        </g>
      ))}
    </svg>
  );
}

function shipTransform(p: { x: number; y: number; heading: number }, scale: number): string {
  return `translate(${p.x.toFixed(1)} ${p.y.toFixed(1)}) rotate(${p.heading.toFixed(1)}) scale(${scale})`;
}

/** Rough width of a depot label in px (10px mono), to keep it inside the map. */
const labelHalf = (text: string) => (text.length * 6.6) / 2;

interface Press {
  onClick: (e: Event) => void;
  onKeyDown: (e: KeyboardEvent) => void;
}

function PlanetMark({ p, ram, selected, press }: { p: Planet; ram: number; selected: boolean; press: Press }) {
  const gauge = p.r + 5;
  const circ = 2 * Math.PI * gauge;
  const label = p.labelY;
  const b = p.r + 9;
  return (
    <g
      class={`planet state-${p.state}${selected ? ' selected' : ''}${p.glow > 0.75 ? ' hot' : ''}`}
      data-planet={p.id}
      data-planet-name={p.name}
      role="button"
      tabIndex={0}
      aria-label={`device ${p.name}, ${p.state}`}
      {...press}
    >
      <g transform={`translate(${p.x} ${p.y})`}>
        {p.state !== 'offline' && (
          <circle
            class="halo"
            r={(p.r * (1.7 + 1.3 * p.glow)).toFixed(1)}
            fill="url(#topo-glow)"
            opacity={(0.12 + 0.8 * p.glow).toFixed(2)}
          />
        )}
        {p.orbits.map((o) => (
          <circle class="orbit" r={o} />
        ))}
        <circle class="gauge-track" r={gauge} />
        <circle
          class="gauge"
          r={gauge}
          stroke-dasharray={`${(circ * p.ramUsed).toFixed(1)} ${circ.toFixed(1)}`}
          transform="rotate(-90)"
        />
        <circle class="body" r={p.r} fill="url(#topo-body)" />
        <ellipse class="lat" rx={p.r} ry={(p.r * 0.32).toFixed(1)} />
        <ellipse class="lat" rx={(p.r * 0.5).toFixed(1)} ry={p.r} />
        {selected && (
          <path
            class="brackets"
            d={`M${-b} ${-b + 8}V${-b}H${-b + 8}M${b - 8} ${-b}H${b}V${-b + 8}M${b} ${b - 8}V${b}H${b - 8}M${-b + 8} ${b}H${-b}V${b - 8}`}
          />
        )}
      </g>
      <text class="name" x={p.x} y={label} text-anchor="middle">
        {p.name}
      </text>
      <text class="stats" x={p.x} y={label + 14} text-anchor="middle">
        {p.state === 'offline'
          ? 'OFFLINE'
          : `${ram ? `${Math.round(ram / GiB)}G` : '—'} · LD ${Math.round(p.glow * 100)}%${p.state === 'draining' ? ' · DRAIN' : ''}`}
      </text>
    </g>
  );
}

function ShipMark({
  s,
  at,
  scale,
  selected,
  press,
  shipRef,
}: {
  s: Ship;
  at: { x: number; y: number; heading: number };
  scale: number;
  selected: boolean;
  press: Press;
  shipRef: (el: SVGGElement | null) => void;
}): JSX.Element {
  const kind = shipKind(s.status);
  return (
    <g
      ref={shipRef}
      class={`ship kind-${kind}${s.attention ? ' attention' : ''}${selected ? ' selected' : ''}`}
      transform={shipTransform(at, scale)}
      data-ship={s.id}
      data-device={s.deviceId}
      data-status={s.status}
      role="button"
      tabIndex={0}
      aria-label={`session ${s.id}, ${s.status}`}
      {...press}
    >
      <circle class="hit" r="16" />
      {selected && <circle class="ring" r="11" />}
      {s.attention && <circle class="beacon" r="9" />}
      <path class="hull" d="M9 0L-6 -5.5L-3 0L-6 5.5Z" />
      {kind === 'running' && <path class="flame" d="M-4 0L-9 -1.8L-11 0L-9 1.8Z" />}
    </g>
  );
}
