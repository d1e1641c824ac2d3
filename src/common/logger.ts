import { pino, type Logger, type LoggerOptions } from 'pino';

export type { Logger };

export interface LoggerSetup {
  /** pino level; LAMINATE_LOG_LEVEL overrides the default of 'info'. */
  readonly level?: string;
  /** Human-readable output; defaults to whether stderr is a terminal. */
  readonly pretty?: boolean;
}

/**
 * Creates the one logger of a process. Logs go to stderr so that a command's
 * stdout stays its answer (a job id, a table). JSON unless stderr is a
 * terminal, where pino-pretty makes them readable.
 */
export function createLogger(setup: LoggerSetup = {}): Logger {
  const level = setup.level ?? process.env['LAMINATE_LOG_LEVEL'] ?? 'info';
  const pretty = setup.pretty ?? process.stderr.isTTY === true;
  const options: LoggerOptions = { level, base: { pid: process.pid } };
  if (pretty) {
    return pino({
      ...options,
      transport: { target: 'pino-pretty', options: { destination: 2, colorize: true, ignore: 'pid,hostname' } },
    });
  }
  return pino(options, pino.destination({ dest: 2, sync: true }));
}

/** A logger that writes nothing, for tests and library users who want quiet. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
