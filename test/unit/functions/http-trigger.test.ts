import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../../src/common/logger.js';
import { FUNCTION_LIMITS } from '../../../src/common/function-shapes.js';
import { functionRoutes } from '../../../src/functions/triggers/http-trigger.js';
import { startHttpServer, type HttpServer } from '../../../src/master/http-server.js';
import { FakeFunctions } from '../../support/fake-functions.js';

let server: HttpServer;
let noFunctions: HttpServer;
const fns = new FakeFunctions();
fns.deploy('echo', [{ kind: 'http' }]);
fns.deploy('quiet', [{ kind: 'schedule', expression: 'every 1m' }]);
fns.handler = (_name, payload) => {
  const p = payload as { fail?: 'HANDLER_ERROR' | 'TIMEOUT' | 'THROTTLED'; give?: unknown; none?: boolean } | null;
  if (p?.none) return { ok: true, result: undefined, durationMs: 2, coldStart: false };
  if (p?.fail) return { ok: false, code: p.fail, message: `it went ${p.fail}`, durationMs: 3, coldStart: true };
  return { ok: true, result: typeof p === 'object' && p !== null && 'give' in p ? p.give : payload, durationMs: 2, coldStart: false };
};

beforeAll(async () => {
  server = await startHttpServer({ host: '127.0.0.1', port: 0, logger: silentLogger(), routes: [functionRoutes({ functions: fns, logger: silentLogger() })] });
  noFunctions = await startHttpServer({ host: '127.0.0.1', port: 0, logger: silentLogger(), routes: [functionRoutes({ functions: undefined, logger: silentLogger() })] });
});
afterAll(async () => {
  await server.close();
  await noFunctions.close();
});

async function post(path: string, body?: string | Buffer, s: HttpServer = server, contentType = 'application/json'): Promise<{ status: number; json: unknown; headers: Headers }> {
  const res = await fetch(`http://${s.address}${path}`, { method: 'POST', ...(body === undefined ? {} : { body, headers: { 'content-type': contentType } }) });
  return { status: res.status, json: await res.json(), headers: res.headers };
}

describe('POST /functions/NAME/invoke', () => {
  it('invokes the function once with the JSON body and answers its result as JSON', async () => {
    const before = fns.invocations.length;
    const r = await post('/functions/echo/invoke', JSON.stringify({ a: [1, 2], b: 'x' }));
    expect(r).toMatchObject({ status: 200, json: { a: [1, 2], b: 'x' } });
    expect(r.headers.get('content-type')).toMatch(/^application\/json/);
    expect(r.headers.get('x-laminate-duration-ms')).toBe('2');
    expect(fns.invocations.slice(before)).toEqual([{ name: 'echo', payload: { a: [1, 2], b: 'x' }, source: 'http' }]);
  });

  it('answers a string result as a JSON string, none as null, and takes an empty body (of any content type) as null', async () => {
    expect((await post('/functions/echo/invoke', JSON.stringify({ give: 'plain' }))).json).toBe('plain');
    expect((await post('/functions/echo/invoke', JSON.stringify({ none: true }))).json).toBe(null);
    expect(await post('/functions/echo/invoke')).toMatchObject({ status: 200, json: null });
    expect(await post('/functions/echo/invoke', '[1]', server, 'application/x-www-form-urlencoded')).toMatchObject({ status: 200, json: [1] });
  });

  it('says 404 for an unknown function, and for one deployed without an http trigger', async () => {
    expect(await post('/functions/nope/invoke', '{}')).toMatchObject({ status: 404, json: { code: 'NOT_FOUND', message: "No function 'nope'" } });
    const r = await post('/functions/quiet/invoke', '{}');
    expect(r.status).toBe(404);
    expect((r.json as { message: string }).message).toMatch(/has no http trigger: deploy it with --trigger http/);
  });

  it('refuses a body over 6 MB with 413 and a JSON error naming the limit', async () => {
    const before = fns.invocations.length;
    const body = Buffer.alloc(FUNCTION_LIMITS.maxSyncPayloadBytes + 1, 0x20);
    const r = await post('/functions/echo/invoke', body);
    expect(r.status).toBe(413);
    expect(r.json).toEqual({ code: 'PAYLOAD_TOO_LARGE', message: `Expected a payload of at most 6291456 bytes (6 MB, the limit of a synchronous invocation), got ${body.length} bytes` });
    expect(fns.invocations.length).toBe(before);
    // Exactly at the limit it is accepted (spaces around a JSON value).
    const atLimit = Buffer.alloc(FUNCTION_LIMITS.maxSyncPayloadBytes, 0x20);
    atLimit.write('7', 0);
    const r2 = await post('/functions/echo/invoke', atLimit);
    expect(r2.json).toBe(7);
    expect(r2.status).toBe(200);
  });

  it('answers a failed invocation with a status by its code and { code, message }', async () => {
    expect(await post('/functions/echo/invoke', JSON.stringify({ fail: 'HANDLER_ERROR' }))).toMatchObject({ status: 502, json: { code: 'HANDLER_ERROR', message: 'it went HANDLER_ERROR' } });
    expect(await post('/functions/echo/invoke', JSON.stringify({ fail: 'TIMEOUT' }))).toMatchObject({ status: 504, json: { code: 'TIMEOUT' } });
    expect(await post('/functions/echo/invoke', JSON.stringify({ fail: 'THROTTLED' }))).toMatchObject({ status: 429, json: { code: 'THROTTLED' } });
  });

  it('says 400 for a body that is not JSON, and 503 on a master without functions', async () => {
    const r = await post('/functions/echo/invoke', '{nope');
    expect(r.status).toBe(400);
    expect(r.json).toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(/^Expected the request body to be JSON, got 5 bytes that are not/) as unknown });
    expect(await post('/functions/echo/invoke', '{}', noFunctions)).toMatchObject({ status: 503, json: { code: 'UNAVAILABLE' } });
  });
});

describe('the HTTP server', () => {
  it('answers /health, and a JSON 404 for a route it does not have', async () => {
    expect(await (await fetch(`http://${server.address}/health`)).json()).toEqual({ ok: true });
    const r = await fetch(`http://${server.address}/nowhere?x=1`);
    expect(r.status).toBe(404);
    expect(await r.json()).toEqual({ code: 'NOT_FOUND', message: 'No route GET /nowhere' });
  });
});
