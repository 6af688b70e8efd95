// The log of a kidfs process (pino): JSON lines on stderr with level, time and component, or one readable line per
// record when stderr is a terminal ([log] format). Mount records carry the mount's pod, identity and target as fields
// (child loggers). Secrets are censored and scrubbed from messages (./secrets.ts).
import { pino, stdTimeFunctions, type Logger } from 'pino';
import pinoPretty from 'pino-pretty';
import type { LogConfig } from '../config/index.ts';
import { REDACTED_PATHS, scrubValue } from './secrets.ts';

export type { Logger };

/** The kidfs processes that log: the node daemon, the CSI controller, a standalone mount. */
export type Component = 'node' | 'controller' | 'mount';

/** What a process logs with before its config is read (and what tests get). */
export const DEFAULT_LOG: Pick<LogConfig, 'level' | 'format'> = { level: 'info', format: 'auto' };

export function createLogger(
  component: Component,
  settings: Pick<LogConfig, 'level' | 'format'> = DEFAULT_LOG,
  stderr: { fd: number; isTTY?: boolean } = process.stderr,
): Logger {
  const pretty = settings.format === 'pretty' || (settings.format === 'auto' && stderr.isTTY === true);
  const options = {
    level: settings.level,
    base: { pid: process.pid, component },
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    hooks: {
      // Messages are text, often with values copied in: scrub every argument, not only the fields redact knows.
      logMethod(this: Logger, args: unknown[], method: (...a: unknown[]) => void) {
        method.apply(
          this,
          args.map((a) => scrubValue(a)),
        );
      },
    },
  };
  if (pretty) {
    // Synchronous: the last lines before process.exit() are never lost.
    return pino(
      options,
      pinoPretty({
        destination: stderr.fd,
        sync: true,
        singleLine: true,
        colorize: stderr.isTTY === true,
        translateTime: 'SYS:yyyy-mm-dd HH:MM:ss.l',
        ignore: 'pid,hostname',
      }),
    );
  }
  return pino(
    {
      ...options,
      timestamp: stdTimeFunctions.isoTime,
      formatters: { level: (label: string) => ({ level: label }) },
    },
    pino.destination({ dest: stderr.fd, sync: true }),
  );
}

/** The `(line) => void` the layers below take, as records of `logger` at `level`. */
export function lineLog(logger: Logger, level: 'info' | 'warn' | 'error' = 'info'): (line: string) => void {
  return (line) => logger[level](line);
}
