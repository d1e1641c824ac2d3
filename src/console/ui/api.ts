/**
 * The console's calls to its API: one live stream per page (server-sent
 * events from /api/stream), plain GETs for what the stream does not carry
 * (a function's logs), and the actions (POST, DELETE). Same origin, so the
 * token cookie goes with every request.
 */
import type { ApiError } from './api-types.js';
import { streamUrl } from './routes.js';

export interface StreamHandlers<T> {
  /** The path's answer: at once, then whenever it changes. */
  update(data: T): void;
  /** The path answers an error (a job forgotten, a view deleted). */
  problem(err: ApiError): void;
  /** The connection is up, or dropped (the browser reconnects by itself). */
  connection(up: boolean): void;
}

/** Opens the page's stream; the caller closes it when leaving (a page load opens one). */
export function openStream<T>(apiPath: string, on: StreamHandlers<T>): EventSource {
  const es = new EventSource(streamUrl(apiPath));
  es.addEventListener('open', () => on.connection(true));
  es.addEventListener('error', () => on.connection(false));
  es.addEventListener('update', (ev) => {
    const data = parseJson((ev as MessageEvent<string>).data);
    if (data !== undefined) on.update(data as T);
  });
  es.addEventListener('problem', (ev) => {
    const data = parseJson((ev as MessageEvent<string>).data);
    on.problem(asApiError(data, 'the server reported a problem it did not describe'));
  });
  return es;
}

/** A failed call, with the API's code and message. */
export class ApiCallError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.code = code;
    this.name = 'ApiCallError';
  }
}

/** Calls the API; resolves with its JSON answer, or rejects with ApiCallError carrying the API's message. */
export async function callApi<T>(method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown): Promise<T> {
  let res: Response;
  try {
    res = await fetch(path, {
      method,
      headers: body === undefined ? { accept: 'application/json' } : { accept: 'application/json', 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      credentials: 'same-origin',
    });
  } catch (err) {
    throw new ApiCallError('UNAVAILABLE', `Could not reach the master: ${(err as Error).message}`);
  }
  const text = await res.text();
  const data = parseJson(text);
  if (!res.ok) {
    const e = asApiError(data, `${method} ${path} answered HTTP ${res.status}`);
    throw new ApiCallError(e.code, e.message);
  }
  return data as T;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function asApiError(data: unknown, fallback: string): ApiError {
  if (typeof data === 'object' && data !== null) {
    const { code, message } = data as { code?: unknown; message?: unknown };
    if (typeof message === 'string') return { code: typeof code === 'string' ? code : 'UNKNOWN', message };
  }
  return { code: 'UNKNOWN', message: fallback };
}
