/** One figure: a flat JSON object, printed as one line. */
export type Figure = Record<string, unknown>;

export interface Reporter {
  /** Progress on stderr, with the seconds since the benchmark started. */
  log: (msg: string) => void;
  /** One JSON line on stdout, tagged with the benchmark's name. */
  emit: (figure: Figure) => void;
}

/**
 * A benchmark's output: `emit` prints one JSON line per figure on stdout
 * (tagged with the benchmark's name); `log` prints progress on stderr with
 * the seconds since the benchmark started.
 */
export function reporter(bench: string): Reporter {
  const started = Date.now();
  return {
    log(msg) {
      process.stderr.write(`[${bench} ${((Date.now() - started) / 1000).toFixed(1).padStart(5)} s] ${msg}\n`);
    },
    emit(figure) {
      process.stdout.write(`${JSON.stringify({ bench, ...figure })}\n`);
    },
  };
}
