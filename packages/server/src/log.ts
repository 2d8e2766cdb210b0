/** The few log calls the control plane makes outside request logging. Never pass a secret. */
export interface Logger {
  info(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
}

const nothing = () => undefined;
export const silentLogger: Logger = { info: nothing, warn: nothing, error: nothing };

export function consoleLogger(prefix = 'fabric'): Logger {
  const line = (level: string, msg: string) =>
    process.stderr.write(`${new Date().toISOString()} ${prefix} ${level} ${msg}\n`);
  return { info: (m) => line('info', m), warn: (m) => line('warn', m), error: (m) => line('error', m) };
}
