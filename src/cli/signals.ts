import type { Logger } from '../common/logger.js';

/**
 * Keeps a long-running command (master, worker, local --serve) up until
 * SIGINT or SIGTERM, then calls `stop` once and exits 0 (1 if it failed).
 */
export function untilSignal(stop: () => Promise<void>, log: Logger): void {
  let stopping = false;
  const onSignal = (sig: string): void => {
    if (stopping) return;
    stopping = true;
    log.info({ signal: sig }, 'shutting down');
    stop().then(() => process.exit(0), (err: unknown) => {
      log.error({ err }, 'shutdown failed');
      process.exit(1);
    });
  };
  process.on('SIGINT', () => onSignal('SIGINT'));
  process.on('SIGTERM', () => onSignal('SIGTERM'));
}
