import { useEffect, useState } from 'preact/hooks';

const QUERY = '(prefers-reduced-motion: reduce)';

/** True while the person asks for less motion; follows changes to the setting. */
export function useReducedMotion(): boolean {
  const mq = typeof matchMedia === 'function' ? matchMedia(QUERY) : null;
  const [reduced, setReduced] = useState(mq?.matches ?? false);
  useEffect(() => {
    if (!mq) return;
    const on = () => setReduced(mq.matches);
    mq.addEventListener('change', on);
    return () => mq.removeEventListener('change', on);
  }, []);
  return reduced;
}

/** One clock for every orbit, so ships keep their places across re-renders. */
const epoch = typeof performance === 'object' ? performance.now() : 0;
export function orbitClock(): number {
  return (performance.now() - epoch) / 1000;
}

/** The pixel size of an element, kept current with a ResizeObserver. */
export function useSize(ref: { current: HTMLElement | null }): { width: number; height: number } {
  const [size, setSize] = useState({ width: 0, height: 0 });
  useEffect(() => {
    const el = ref.current;
    if (!el) return;
    const read = () => {
      const r = el.getBoundingClientRect();
      const next = { width: Math.round(r.width), height: Math.round(r.height) };
      setSize((prev) => (prev.width === next.width && prev.height === next.height ? prev : next));
    };
    read();
    const ro = new ResizeObserver(read);
    ro.observe(el);
    return () => ro.disconnect();
  }, []);
  return size;
}
