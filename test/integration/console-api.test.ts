/**
 * The console's JSON API on a master's HTTP port: every answer checked
 * against what the gRPC clients (the CLI's source) say of the same thing, or
 * against what the test itself did (records appended, versions deployed);
 * the actions (kill, roll back, redeploy, delete) done through it and seen
 * through the clients; unknown ids 404 and malformed parameters 400; the
 * event stream sending the change it follows; and with a cluster token, the
 * login cookie. The master runs in this process without workers: a job
 * stays pending, which is what the kill needs; the pages' browser test runs
 * a whole cluster.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LaminateClient } from '../../src/client/index.js';
import { silentLogger } from '../../src/common/logger.js';
import { Master } from '../../src/master/master.js';
import { configureSecurity } from '../../src/protocol/security.js';
import { EXAMPLES, GUTENBERG, JobClient, removeDir, tempDir } from './harness.js';

interface Answer { status: number; body: Record<string, unknown> }

describe('the console API', () => {
  let dir: string;
  let master: Master;
  let client: LaminateClient;
  let jobs: JobClient;
  let base: string;

  const get = async (path: string, init: RequestInit = {}): Promise<Answer> => {
    const res = await fetch(`${base}${path}`, init);
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  const post = (path: string, body?: unknown, method = 'POST'): Promise<Answer> =>
    get(path, { method, ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }) });

  beforeAll(async () => {
    dir = await tempDir();
    master = new Master({ port: 0, dataDir: join(dir, 'master'), logger: silentLogger() });
    await master.start();
    base = `http://${master.httpAddress}`;
    client = new LaminateClient(master.address);
    jobs = new JobClient(master.address);
  });
  afterAll(async () => {
    configureSecurity({});
    await client?.close();
    jobs?.close();
    await master?.stop();
    await removeDir(dir);
  });

  it('shows a job as the job client does, kills it, and answers 404 for an unknown one', async () => {
    const jobId = await jobs.submit({ job: join(EXAMPLES, 'wordcount.ts'), inputs: [join(GUTENBERG, 'pg-metamorphosis.txt')], output: join(dir, 'wc'), reducers: 2 });
    const detail = await get(`/api/jobs/${jobId}`);
    expect(detail.status).toBe(200);
    expect(detail.body.job).toEqual(await jobs.status(jobId));
    const list = await get('/api/jobs');
    expect((list.body.jobs as { jobId: string; state: string }[]).map((j) => [j.jobId, j.state])).toEqual([[jobId, 'PENDING']]);

    expect((await post(`/api/jobs/${jobId}/kill`)).body).toEqual({ killed: true });
    // Killed, once its end is journaled (COMMITTING until then, to the job client as well).
    expect((await jobs.wait(jobId)).state).toBe('KILLED');
    // Again: it has ended, nothing to kill (as `laminate kill` answers).
    expect((await post(`/api/jobs/${jobId}/kill`)).body).toEqual({ killed: false });

    const unknown = await get('/api/jobs/job-999');
    expect(unknown.status).toBe(404);
    expect(unknown.body).toEqual({ code: 'NOT_FOUND', message: expect.stringContaining("'job-999'") as string });
    expect((await post('/api/jobs/job-999/kill')).status).toBe(404);
  });

  it('counts a dataset\'s records and bytes as its description does, and streams the change after an append', async () => {
    await client.createDataset('clicks', { partitions: 2 });
    const records = Array.from({ length: 250 }, (_, i) => ({ page_id: `p${i % 7}`, event_type: 'view', n: i }));
    await client.append('clicks', records);
    const d = await get('/api/datasets/clicks');
    const desc = await client.describeDataset('clicks');
    const ds = d.body.dataset as { records: number; bytes: number; endOffsets: number[] };
    expect(ds.records).toBe(records.length);
    expect(ds.bytes).toBe(desc.partitions.reduce((a, p) => a + p.bytes, 0));
    expect(ds.endOffsets).toEqual(desc.partitions.map((p) => p.endOffset));
    expect(((await get('/api/datasets')).body.datasets as { name: string }[]).map((x) => x.name)).toEqual(['clicks']);
    expect((await get('/api/datasets/nope')).status).toBe(404);

    // The stream sends the answer at once, then again when the totals change.
    const abort = new AbortController();
    const res = await fetch(`${base}/api/stream?path=${encodeURIComponent('/api/datasets/clicks')}`, { signal: abort.signal });
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    const events = sseEvents(res.body!);
    const first = await events.next();
    expect(first.value).toMatchObject({ event: 'update' });
    expect((JSON.parse(first.value!.data) as { dataset: { records: number } }).dataset.records).toBe(records.length);
    await client.append('clicks', records.slice(0, 10));
    const second = await events.next();
    expect(second.value).toMatchObject({ event: 'update' });
    expect((JSON.parse(second.value!.data) as { dataset: { records: number } }).dataset.records).toBe(records.length + 10);
    abort.abort();

    const bad = await get(`/api/stream?path=${encodeURIComponent('/elsewhere')}`);
    expect(bad.status).toBe(400);
    expect(bad.body.message).toMatch(/Expected path: an API path .*got "\/elsewhere"/);
  });

  it('shows a view as the view client does, refuses a rollback to a version that does not exist, and 404s an unknown view', async () => {
    await client.deployView(join(EXAMPLES, 'views', 'page-views.ts'), { name: 'page-views' });
    const v = await get('/api/views/page-views');
    expect(v.status).toBe(200);
    const listed = (await client.listViews()).find((x) => x.name === 'page-views');
    expect(v.body.view).toEqual(listed);
    const versions = await client.viewVersions('page-views');
    expect(v.body.versions).toEqual(versions.versions);
    expect(v.body.builds).toEqual(versions.builds);
    expect(((await get('/api/views')).body.views as unknown[])).toEqual(await client.listViews());

    const rollback = await post('/api/views/page-views/rollback', { version: 5 });
    expect(rollback.status).toBeGreaterThanOrEqual(400);
    expect(rollback.status).toBeLessThan(500);
    expect(rollback.body.message).toMatch(/5/);
    const malformed = await post('/api/views/page-views/rollback', { version: 'two' });
    expect(malformed.status).toBe(400);
    expect(malformed.body.message).toBe('Expected version (in the JSON body): an integer from 1 to 9007199254740991, got "two"');
    expect((await get('/api/views/unknown-view')).status).toBe(404);
  });

  it('lists functions as the client does, redeploys one as a new version of the same code, and deletes it', async () => {
    const fn = join(EXAMPLES, 'functions', 'blueprints', 'http-api', 'index.ts');
    const v1 = await client.deployFunction(fn, { name: 'greeter', memoryMb: 128 });
    const f = await get('/api/functions/greeter');
    expect(f.status).toBe(200);
    expect(f.body.function).toEqual((await client.listFunctions()).find((x) => x.live.name === 'greeter'));
    expect(f.body.versions).toEqual([v1]);

    const redeployed = await post('/api/functions/greeter/redeploy');
    expect(redeployed.status).toBe(200);
    const v2 = redeployed.body.version as { version: number; codeSha256: string; config: unknown };
    expect({ version: v2.version, codeSha256: v2.codeSha256, config: v2.config }).toEqual({ version: 2, codeSha256: v1.codeSha256, config: v1.config });
    expect((await client.functionVersions('greeter')).map((x) => x.version).sort()).toEqual([1, 2]);

    expect((await get('/api/functions/greeter/logs?limit=10')).body.lines).toEqual([]);
    const badLimit = await get('/api/functions/greeter/logs?limit=0');
    expect(badLimit.status).toBe(400);
    expect(badLimit.body.message).toBe('Expected limit: an integer from 1 to 1000, got "0"');

    expect((await post('/api/functions/greeter', undefined, 'DELETE')).body).toEqual({ deleted: true });
    expect(await client.listFunctions()).toEqual([]);
    expect((await get('/api/functions/greeter')).status).toBe(404);
    expect((await post('/api/functions/greeter/redeploy')).status).toBe(404);
  });

  it('with a cluster token: 401 without it, a login sets a session cookie that opens the API, a wrong token is refused', async () => {
    configureSecurity({ token: 'console-token-0123456789' });
    try {
      expect((await get('/api/overview')).status).toBe(401);
      // A page asked for by a browser goes to the login form instead.
      const page = await fetch(`${base}/jobs`, { headers: { accept: 'text/html' }, redirect: 'manual' });
      expect({ status: page.status, location: page.headers.get('location') }).toEqual({ status: 303, location: '/login?next=%2Fjobs' });

      const wrong = await fetch(`${base}/login`, { method: 'POST', body: new URLSearchParams({ token: 'not-it', next: '/jobs' }), redirect: 'manual' });
      expect(wrong.status).toBe(401);
      expect(wrong.headers.get('set-cookie')).toBeNull();

      const login = await fetch(`${base}/login`, { method: 'POST', body: new URLSearchParams({ token: 'console-token-0123456789', next: '//evil.example/x' }), redirect: 'manual' });
      expect(login.status).toBe(303);
      // Only a path on this server: never another host.
      expect(login.headers.get('location')).toBe('/');
      const cookie = login.headers.get('set-cookie')!;
      expect(cookie).toMatch(/^laminate_session=[^;]+; Path=\/; HttpOnly; SameSite=Strict$/);
      expect(cookie).not.toContain('console-token-0123456789');
      const overview = await get('/api/overview', { headers: { cookie: cookie.split(';')[0]! } });
      expect(overview.status).toBe(200);
      expect(overview.body.counts).toMatchObject({ datasets: 1, views: 1, functions: 0, jobsTotal: 1, workersAlive: 0 });
      expect((await get('/api/overview', { headers: { cookie: 'laminate_session=forged' } })).status).toBe(401);
    } finally {
      configureSecurity({});
    }
  });
});

/** The events of a server-sent event stream, as they arrive. */
async function* sseEvents(body: ReadableStream<Uint8Array>): AsyncGenerator<{ event: string; data: string }> {
  const decoder = new TextDecoder();
  let buffered = '';
  for await (const chunk of body as unknown as AsyncIterable<Uint8Array>) {
    buffered += decoder.decode(chunk, { stream: true });
    let end: number;
    while ((end = buffered.indexOf('\n\n')) >= 0) {
      const block = buffered.slice(0, end);
      buffered = buffered.slice(end + 2);
      const lines = block.split('\n').filter((l) => !l.startsWith(':'));
      if (lines.length === 0) continue;
      const event = lines.find((l) => l.startsWith('event: '))?.slice(7) ?? 'message';
      yield { event, data: lines.filter((l) => l.startsWith('data: ')).map((l) => l.slice(6)).join('\n') };
    }
  }
}
