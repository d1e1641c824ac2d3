/**
 * The `http` trigger: `POST /functions/NAME/invoke` on the master's HTTP
 * port, one synchronous invocation of the function's live version (as a
 * Lambda function URL): the request's JSON body is the event (an empty body:
 * null), the handler's result is the answer, as JSON (undefined: null).
 *
 * - Only a function deployed with `--trigger http` answers (404 otherwise,
 *   saying so).
 * - Body over 6 MB (FUNCTION_LIMITS.maxSyncPayloadBytes, Lambda's limit):
 *   413 with `{ code: 'PAYLOAD_TOO_LARGE', message }` naming the limit; the
 *   body is not read past it.
 * - A failed invocation: `{ code, message }` with a status by its code
 *   (ERROR_STATUS below): the handler's own failures are 502 (the function
 *   is the upstream, as API Gateway answers a Lambda error), its timeout
 *   504, a throttle 429. An error the invoker throws (unknown function,
 *   bad argument, master shutting down) keeps its LaminateError code.
 * - Headers: `x-laminate-duration-ms`, `x-laminate-cold-start`.
 *
 * Who calls it: the master registers it once on its HTTP server.
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { Logger } from '../../common/logger.js';
import { errorMessage, LaminateError } from '../../common/errors.js';
import { httpStatusOfCode } from '../../common/http-status.js';
import { FUNCTION_LIMITS, type InvocationErrorCode } from '../../common/function-shapes.js';
import type { FunctionDirectory, FunctionInvoker } from '../invoker.js';

/** HTTP status of each way an invocation fails. */
export const ERROR_STATUS: Readonly<Record<InvocationErrorCode, number>> = {
  HANDLER_ERROR: 502,
  PROCESS_EXITED: 502,
  OUT_OF_MEMORY: 502,
  RESULT_NOT_SERIALIZABLE: 502,
  NO_HANDLER: 502,
  TIMEOUT: 504,
  WORKER_LOST: 503,
  PAYLOAD_TOO_LARGE: 413,
  THROTTLED: 429,
};


export interface FunctionRoutesDeps {
  /** Undefined while the master has no function service: every call is 503. */
  readonly functions: (FunctionDirectory & Pick<FunctionInvoker, 'invoke'>) | undefined;
  readonly logger: Logger;
  /** Largest body accepted, bytes. Default FUNCTION_LIMITS.maxSyncPayloadBytes (tests make it small). */
  readonly maxBodyBytes?: number;
}

function mb(bytes: number): string {
  return `${Math.round((bytes / (1024 * 1024)) * 100) / 100} MB`;
}

/** The fastify plugin serving POST /functions/:name/invoke; register it on the master's HTTP server. */
export function functionRoutes(deps: FunctionRoutesDeps): (app: FastifyInstance) => Promise<void> {
  const limit = deps.maxBodyBytes ?? FUNCTION_LIMITS.maxSyncPayloadBytes;
  const log = deps.logger.child({ component: 'http-functions' });
  const fail = (reply: FastifyReply, status: number, code: string, message: string): FastifyReply =>
    reply.code(status).type('application/json').send(JSON.stringify({ code, message }));

  return async (app) => {
    // The body is taken as bytes whatever its content type (curl's default form type included) and parsed here, so that
    // the error for bad JSON is ours. Inside this plugin only: other routes keep fastify's parsers.
    app.removeAllContentTypeParsers();
    app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: limit }, (_req, body, done) => done(null, body));
    app.setErrorHandler(async (err: Error & { statusCode?: number; code?: string }, req, reply) => {
      if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE' || err.statusCode === 413) {
        const length = Number(req.headers['content-length']);
        return fail(reply, 413, 'PAYLOAD_TOO_LARGE',
          `Expected a payload of at most ${limit} bytes (${mb(limit)}, the limit of a synchronous invocation), got ${Number.isFinite(length) ? `${length} bytes` : 'more'}`);
      }
      const status = err.statusCode !== undefined && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500;
      if (status === 500) log.error({ err }, 'function invocation over HTTP failed');
      return fail(reply, status, status === 500 ? 'INTERNAL' : 'INVALID_ARGUMENT', err.message);
    });

    app.post<{ Params: { name: string } }>('/functions/:name/invoke', { bodyLimit: limit }, async (req, reply) => {
      const { name } = req.params;
      const fns = deps.functions;
      if (fns === undefined) return fail(reply, 503, 'UNAVAILABLE', 'This master runs no functions');
      const fn = fns.live(name);
      if (fn === undefined) return fail(reply, 404, 'NOT_FOUND', `No function '${name}'`);
      if (!fn.config.triggers.some((t) => t.kind === 'http')) {
        return fail(reply, 404, 'NOT_FOUND', `Function '${name}' has no http trigger: deploy it with --trigger http to invoke it over HTTP`);
      }
      let payload: unknown = null;
      const body = req.body as Buffer | undefined;
      if (body !== undefined && body.length > 0) {
        try {
          payload = JSON.parse(body.toString('utf8'));
        } catch (err) {
          return fail(reply, 400, 'INVALID_ARGUMENT', `Expected the request body to be JSON, got ${body.length} bytes that are not: ${errorMessage(err)}`);
        }
      }
      let outcome;
      try {
        outcome = await fns.invoke(name, payload, { source: 'http', jsonBytes: body?.length ?? 0 });
      } catch (err) {
        if (err instanceof LaminateError) return fail(reply, httpStatusOfCode(err.code), err.code, err.message);
        throw err;
      }
      reply.header('x-laminate-duration-ms', String(outcome.durationMs)).header('x-laminate-cold-start', String(outcome.coldStart));
      if (!outcome.ok) return fail(reply, ERROR_STATUS[outcome.code], outcome.code, outcome.message);
      return reply.code(200).type('application/json').send(JSON.stringify(outcome.result ?? null));
    });
  };
}
