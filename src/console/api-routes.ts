/**
 * The console's JSON API (`/api/...` on the master's HTTP port), documented
 * in the README ("Console API"): the pages read it, and so can an operator's
 * scripts. Every answer is built from the ConsoleSource, i.e. from the same
 * status the CLI prints; errors are `{ code, message }` with the status of
 * the LaminateError's code (src/common/http-status.ts): an unknown job,
 * view, dataset or function is a 404 naming it, a malformed parameter a 400
 * saying what was expected and what came.
 *
 * Who calls it: the master registers it once on its HTTP server; the event
 * stream (api-stream.ts) calls these routes again, once a second per open
 * stream, through fastify's inject.
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import { errorMessage, LaminateError } from '../common/errors.js';
import { httpStatusOfCode } from '../common/http-status.js';
import type { Logger } from '../common/logger.js';
import type { ConsoleSource } from './console-source.js';
import { DatasetRates, SAMPLE_EVERY_MS } from './dataset-rates.js';
import { datasetSummary, overview, viewDetail } from './api-shapes.js';
import { consoleStream } from './api-stream.js';

export interface ConsoleApiDeps {
  readonly source: ConsoleSource;
  readonly logger: Logger;
  /** The time, ms since the epoch (the master's clock). */
  readonly now: () => number;
}

/** Log lines a logs request may ask for at most. */
export const MAX_LOG_LINES = 1000;

/** A query or body field as an integer in [min, max], or `fallback` when absent. @throws LaminateError INVALID_ARGUMENT */
export function intParam(value: unknown, name: string, min: number, max: number, fallback?: number): number {
  if (value === undefined || value === '') {
    if (fallback !== undefined) return fallback;
    throw new LaminateError('INVALID_ARGUMENT', `Expected ${name}: an integer from ${min} to ${max}, got nothing`);
  }
  const n = typeof value === 'number' ? value : typeof value === 'string' && /^-?\d+$/.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    throw new LaminateError('INVALID_ARGUMENT', `Expected ${name}: an integer from ${min} to ${max}, got ${JSON.stringify(value)}`);
  }
  return n;
}

export function consoleApi(d: ConsoleApiDeps): (app: FastifyInstance) => Promise<void> {
  const log = d.logger.child({ component: 'console' });
  const { source } = d;
  const rates = new DatasetRates();
  const sample = (): void => {
    try {
      const totals = new Map(source.datasets().map((ds) => [ds.name, datasetSummary(ds, { recordsPerSec: 0, bytesPerSec: 0 })]));
      rates.sample(d.now(), totals);
    } catch (err) {
      log.warn({ err }, 'could not sample the datasets\' totals');
    }
  };
  return async (app) => {
    sample();
    const sampler = setInterval(sample, SAMPLE_EVERY_MS);
    sampler.unref();
    app.addHook('onClose', async () => clearInterval(sampler));

    // An answer in the project's shape, whatever went wrong; the console never crashes the master.
    app.setErrorHandler(async (err: Error & { statusCode?: number }, req, reply: FastifyReply) => {
      if (err instanceof LaminateError) return reply.code(httpStatusOfCode(err.code)).send({ code: err.code, message: err.message });
      const status = err.statusCode !== undefined && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500;
      if (status === 500) log.error({ err, url: req.url.split('?')[0] }, 'console API request failed');
      return reply.code(status).send({ code: status === 500 ? 'INTERNAL' : 'INVALID_ARGUMENT', message: errorMessage(err) });
    });
    const param = (req: { params: unknown }, name: string): string => (req.params as Record<string, string>)[name]!;
    const query = (req: { query: unknown }): Record<string, unknown> => (req.query ?? {}) as Record<string, unknown>;

    app.get('/api/overview', async () => ({ at: d.now(), ...overview(source, (await source.speed()).nodes.length) }));
    app.get('/api/cluster', async () => ({ at: d.now(), workers: source.workers(), servingNodes: source.servingNodes(), speed: await source.speed() }));

    app.get('/api/jobs', async () => ({ at: d.now(), jobs: source.jobs().sort((a, b) => b.submitMs - a.submitMs || b.jobId.localeCompare(a.jobId)) }));
    app.get('/api/jobs/:jobId', async (req) => ({ at: d.now(), job: source.job(param(req, 'jobId')) }));
    app.post('/api/jobs/:jobId/kill', async (req) => {
      const jobId = param(req, 'jobId');
      const r = source.killJob(jobId);
      log.info({ jobId, killed: r.killed }, 'job kill asked from the console');
      return r;
    });

    app.get('/api/datasets', async () => ({ at: d.now(), datasets: source.datasets().map((ds) => datasetSummary(ds, rates.rates(ds.name))) }));
    app.get('/api/datasets/:name', async (req) => {
      const ds = source.dataset(param(req, 'name'));
      return { at: d.now(), dataset: datasetSummary(ds, rates.rates(ds.name)), history: rates.history(ds.name) };
    });

    app.get('/api/views', async () => ({ at: d.now(), views: await source.views() }));
    app.get('/api/views/:name', async (req) => {
      const name = param(req, 'name');
      const view = await source.view(name);
      const list = await source.viewVersions(name);
      return { at: d.now(), ...viewDetail(view, list, source.servingNodes(), await source.speed()) };
    });
    app.post('/api/views/:name/rollback', async (req) => {
      const name = param(req, 'name');
      const body = (req.body ?? {}) as Record<string, unknown>;
      const version = intParam(body.version, 'version (in the JSON body)', 1, Number.MAX_SAFE_INTEGER);
      const view = await source.rollbackView(name, version);
      log.info({ view: name, version }, 'view rolled back from the console');
      return { at: d.now(), view };
    });

    app.get('/api/functions', async () => ({ at: d.now(), functions: source.functions() }));
    app.get('/api/functions/:name', async (req) => {
      const name = param(req, 'name');
      return { at: d.now(), function: source.functionSummary(name), versions: source.functionVersions(name) };
    });
    app.get('/api/functions/:name/logs', async (req) => {
      const q = query(req);
      const limit = intParam(q.limit, 'limit', 1, MAX_LOG_LINES, 100);
      const sinceMs = intParam(q.sinceMs, 'sinceMs', 0, Number.MAX_SAFE_INTEGER, 0);
      return { at: d.now(), lines: source.functionLogs(param(req, 'name'), { sinceMs, limit }) };
    });
    app.post('/api/functions/:name/redeploy', async (req) => {
      const name = param(req, 'name');
      const version = await source.redeployFunction(name);
      log.info({ function: name, version: version.version }, 'function redeployed from the console');
      return { at: d.now(), version };
    });
    app.delete('/api/functions/:name', async (req) => {
      const name = param(req, 'name');
      await source.deleteFunction(name);
      log.info({ function: name }, 'function deleted from the console');
      return { deleted: true };
    });

    await app.register(consoleStream({ logger: d.logger }));
  };
}
