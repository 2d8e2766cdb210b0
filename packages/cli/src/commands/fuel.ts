import { Command } from 'commander';
import type { FuelFigures } from '@fabric/protocol';
import { Api } from '../api.js';
import type { GlobalOptions } from '../context.js';
import { table } from '../format.js';
import type { Out } from './shared.js';

type Figures = FuelFigures;

const BARS = '▁▂▃▄▅▆▇█';

/** Unicode sparkline; an all-zero series is a flat baseline. */
export function sparkline(points: number[]): string {
  const max = Math.max(...points, 0);
  return points
    .map((p) =>
      max === 0 || p === 0 ? ' ' : BARS[Math.min(BARS.length - 1, Math.floor((p / max) * (BARS.length - 1)))]!,
    )
    .join('')
    .replace(/ /g, '·');
}

export function duration(ms: number): string {
  const m = Math.floor(ms / 60_000);
  if (m < 60) return `${m}m`;
  return `${Math.floor(m / 60)}h ${String(m % 60).padStart(2, '0')}m`;
}

const n = (x: number) => Math.round(x).toLocaleString('en-US');

export function fuelCommand(globals: () => GlobalOptions, out: Out): Command {
  return new Command('fuel')
    .configureHelp({ showGlobalOptions: true })
    .description('token fuel meter: THROUGHPUT (tokens/min), MISSION (current streak), YIELD (today)')
    .option('--json', 'print JSON')
    .action(async (o: { json?: boolean }) => {
      const tz = new Date().getTimezoneOffset();
      const f = await Api.forUser(globals()).fuel({ query: { tzOffset: tz } });
      if (o.json) {
        out.stdout(JSON.stringify(f) + '\n');
        return;
      }
      const m = f.mission;
      const lines = [
        [
          'THROUGHPUT',
          `${n(f.throughput.tokensPerMinute)} tok/min (${f.throughput.windowMinutes}-min avg)`,
          `${sparkline(f.throughput.sparkline)} 60 min`,
        ],
        [
          'MISSION',
          m.streakMs > 0 ? `${duration(m.streakMs)} streak${m.active ? ' (running now)' : ''}` : 'no current streak',
          m.since ? `since ${new Date(m.since).toLocaleTimeString()}` : '',
        ],
        [
          'YIELD',
          `${f.yield.sessionsSucceeded} session(s) succeeded today`,
          `${n(f.yield.tokens)} tokens${f.yield.tokensPerSession !== null ? `, ${n(f.yield.tokensPerSession)}/session` : ''}, ${n(f.yield.cached)} cached`,
        ],
      ];
      out.stdout(table(lines) + '\n');
      const rows = (title: string, items: (Figures & { key: string })[], name: (k: string) => string) => {
        if (items.length === 0) return;
        out.stdout(
          `\n${table([
            [title, 'TOK/MIN', 'TOKENS TODAY', 'SUCCEEDED', 'LAST 60 MIN'],
            ...items.map((i) => [
              name(i.key),
              n(i.throughput.tokensPerMinute),
              n(i.yield.tokens),
              String(i.yield.sessionsSucceeded),
              sparkline(i.throughput.sparkline),
            ]),
          ])}\n`,
        );
      };
      rows('DEVICE', f.byDevice, (k) => f.devices[k] ?? k);
      rows('HARNESS', f.byHarness, (k) => k);
    });
}
