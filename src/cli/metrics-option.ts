/**
 * `--metrics-port`, for the processes whose only other ports speak gRPC
 * (worker, serve, speed, shuffle-service): their Prometheus `/metrics` on
 * the process's `--host`, behind the cluster token and TLS like every port.
 */
import type { Command } from 'commander';
import type { Logger } from '../common/logger.js';
import { serveMetrics, type MetricsServer } from '../protocol/metrics-http.js';
import { port } from './arguments.js';

export function addMetricsOption(cmd: Command): Command {
  return cmd.option('--metrics-port <port>', 'port of its Prometheus /metrics on --host (0 picks one, logged)', port, 0);
}

/** Serves `/metrics` and says where, on stdout (for scripts) and in the log. */
export async function startMetrics(host: string, metricsPort: number, log: Logger): Promise<MetricsServer> {
  const m = await serveMetrics(host, metricsPort);
  log.info({ url: m.url }, 'metrics served');
  process.stdout.write(`metrics on ${m.url}\n`);
  return m;
}
