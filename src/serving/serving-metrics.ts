/**
 * A serving node's metrics: requests by method (get: Get and MultiGet; scan)
 * and outcome code, their latency, and the versions it holds loaded. The
 * handlers are wrapped, so the wire and the query code stay as they are.
 */
import { LaminateError } from '../common/errors.js';
import { addMetricsSource, counter, gauge, histogram, LATENCY_BUCKETS } from '../common/metrics.js';
import type { GetQuery, ScanQuery } from '../common/serving-shapes.js';
import type { ServingHandlers } from '../protocol/serving-rpc.js';
import type { RowCache } from './row-cache.js';

const requests = () => counter({ name: 'laminate_serving_requests_total', help: 'Requests a serving node answered, by method and code (OK or the error\'s code)', labelNames: ['method', 'code'] as const });
const latency = () => histogram({
  name: 'laminate_serving_request_duration_seconds', help: 'Serving requests from arrival to answer (a scan: to its last chunk), by method',
  labelNames: ['method'] as const, buckets: LATENCY_BUCKETS,
});
const loadedVersions = () => gauge({ name: 'laminate_serving_loaded_versions', help: 'View versions a serving node holds loaded and verified', labelNames: ['node'] as const });

const rowLookups = () => counter({
  name: 'laminate_serving_row_cache_lookups_total', help: 'Keys a serving node looked up in its row cache, by result (hit: answered without the block lookup; miss)',
  labelNames: ['node', 'result'] as const,
});
const rowBytes = () => gauge({ name: 'laminate_serving_row_cache_bytes', help: 'Memory a serving node\'s row cache holds (its generations and admission bitmap, as allocated)', labelNames: ['node'] as const });

function codeOf(err: unknown): string {
  return err instanceof LaminateError ? err.code : 'INTERNAL';
}

/** `handlers`, counted and timed. */
export function measuredHandlers(handlers: ServingHandlers): ServingHandlers {
  const req = requests();
  const lat = latency();
  /** A scan (of entries or packed) counted and timed as one request. */
  const timedScan = <T>(scan: (query: ScanQuery, signal: AbortSignal) => AsyncIterable<T>) => async function* (query: ScanQuery, signal: AbortSignal): AsyncGenerator<T> {
    const t0 = performance.now();
    let code = 'OK';
    try {
      yield* scan(query, signal);
    } catch (err) {
      code = codeOf(err);
      throw err;
    } finally {
      req.inc({ method: 'scan', code });
      lat.observe({ method: 'scan' }, (performance.now() - t0) / 1000);
    }
  };
  /** A Get (answered as entries or packed) counted and timed. */
  const timedGet = <T>(get: (query: GetQuery) => Promise<T>) => async (query: GetQuery): Promise<T> => {
    const t0 = performance.now();
    try {
      const a = await get(query);
      req.inc({ method: 'get', code: 'OK' });
      return a;
    } catch (err) {
      req.inc({ method: 'get', code: codeOf(err) });
      throw err;
    } finally {
      lat.observe({ method: 'get' }, (performance.now() - t0) / 1000);
    }
  };
  return {
    get: timedGet(handlers.get.bind(handlers)),
    ...(handlers.getPacked !== undefined ? { getPacked: timedGet(handlers.getPacked.bind(handlers)) } : {}),
    scan: timedScan(handlers.scan.bind(handlers)),
    ...(handlers.scanPacked !== undefined ? { scanPacked: timedScan(handlers.scanPacked.bind(handlers)) } : {}),
  };
}

/** Registers the node's loaded-versions gauge and its row cache's figures; returns the removal, for its stop. */
export function addServingMetrics(node: () => string, loaded: () => number, rows?: RowCache): () => void {
  const g = loadedVersions();
  const lookups = rowLookups();
  const bytes = rowBytes();
  // The cache counts for itself (a field increment per key); each scrape adds what it counted since the last.
  let hits = 0;
  let misses = 0;
  return addMetricsSource(() => {
    const id = node();
    g.set({ node: id }, loaded());
    if (rows === undefined) return;
    lookups.inc({ node: id, result: 'hit' }, rows.hits - hits);
    lookups.inc({ node: id, result: 'miss' }, rows.misses - misses);
    hits = rows.hits;
    misses = rows.misses;
    bytes.set({ node: id }, rows.bytes);
  });
}
