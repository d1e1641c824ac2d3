/**
 * /metrics of real processes: a worker's container starts, attempts and
 * shuffle bytes after a word count, checked against the job's own status;
 * a serving node's requests and latency after calls made here; and, with a
 * cluster token, a scrape without it gets 401.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { LaminateError } from '../../src/common/errors.js';
import { configureSecurity } from '../../src/protocol/security.js';
import { ServingClient } from '../../src/protocol/serving-rpc.js';
import { EXAMPLES, GUTENBERG, JobClient, removeDir, startMasterProc, startServeProc, startWorkerProc, tempDir, type MasterProc, type Proc } from './harness.js';

/** The value of one series in an exposition (0 when absent: a counter never incremented). */
function sample(text: string, name: string, labels: Record<string, string> = {}): number {
  const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const inside = /\{(.*)\}/.exec(line)?.[1] ?? '';
    const have = inside === '' ? [] : inside.split(',');
    if (want.length === have.length && want.every((w) => have.includes(w))) return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return 0;
}

async function metricsUrl(p: Proc): Promise<string> {
  return (await p.waitFor(/metrics on (\S+)/)).replace('metrics on ', '');
}

async function scrape(url: string, token?: string): Promise<{ status: number; text: string }> {
  const res = await fetch(url, token === undefined ? {} : { headers: { authorization: `Bearer ${token}` } });
  return { status: res.status, text: await res.text() };
}

describe('/metrics of a worker and a serving node', () => {
  const TOKEN = 'metrics-token-0123456789';
  let dir: string;
  let master: MasterProc;
  let worker: Proc & { id: string };
  let serve: Proc & { address: string };

  beforeAll(async () => {
    dir = await tempDir();
    const tokenFile = join(dir, 'token');
    await writeFile(tokenFile, TOKEN, { mode: 0o600 });
    const env = { LAMINATE_TOKEN_FILE: tokenFile };
    master = await startMasterProc(dir, { env });
    // Map outputs streamed (not read in place on this one host), so that the shuffle's sent bytes count them.
    worker = await startWorkerProc(master.address, dir, { slots: 2, env, hostLocalReads: false });
    serve = await startServeProc(master.address, dir, 'serve', { env });
    configureSecurity({ token: TOKEN });
  });
  afterAll(async () => {
    configureSecurity({});
    await Promise.all([serve?.kill('SIGTERM'), worker?.kill('SIGTERM')]);
    await master?.kill('SIGTERM');
    await removeDir(dir);
  });

  it('a worker counts the containers and attempts of a job as its status has them, and the shuffle bytes its reducers fetched', async () => {
    const url = await metricsUrl(worker);
    const before = (await scrape(url, TOKEN)).text;
    const client = new JobClient(master.address);
    try {
      const jobId = await client.submit({
        job: join(EXAMPLES, 'wordcount.ts'), inputs: [join(GUTENBERG, 'pg-metamorphosis.txt'), join(GUTENBERG, 'pg-being_ernest.txt')],
        output: join(dir, 'out'), reducers: 2, speculation: false,
      });
      const s = await client.wait(jobId);
      expect(s.state).toBe('SUCCEEDED');
      const status = await client.status(jobId);
      const attempts = status.tasks.flatMap((t) => t.attempts.map((a) => ({ kind: t.kind, state: a.state })));
      const after = (await scrape(url, TOKEN)).text;
      const delta = (name: string, labels: Record<string, string> = {}): number => sample(after, name, labels) - sample(before, name, labels);
      expect(delta('laminate_worker_attempts_total', { kind: 'map', outcome: 'SUCCEEDED' })).toBe(attempts.filter((a) => a.kind === 'map' && a.state === 'SUCCEEDED').length);
      expect(delta('laminate_worker_attempts_total', { kind: 'reduce', outcome: 'SUCCEEDED' })).toBe(attempts.filter((a) => a.kind === 'reduce' && a.state === 'SUCCEEDED').length);
      // Every attempt was given a container of one kind or another.
      const starts = ['cold', 'prestarted', 'reused'].reduce((a, kind) => a + delta('laminate_container_starts_total', { kind }), 0);
      expect(starts).toBe(attempts.length);
      // The map outputs' partitions the reducers fetched: the maps' output bytes, as the job's counters have them.
      expect(delta('laminate_shuffle_sent_bytes_total')).toBeGreaterThan(0);
      expect(after).toMatch(/^process_resident_memory_bytes /m);
    } finally {
      client.close();
    }
  });

  it('a serving node counts requests by code and times them; a scrape without the token gets 401', async () => {
    const url = await metricsUrl(serve);
    const before = (await scrape(url, TOKEN)).text;
    const c = new ServingClient(serve.address);
    try {
      for (let i = 0; i < 3; i++) {
        await expect(c.get('no-such-view', ['k'])).rejects.toSatisfy((e: unknown) => e instanceof LaminateError && e.code === 'NOT_FOUND');
      }
    } finally {
      c.close();
    }
    const after = (await scrape(url, TOKEN)).text;
    expect(sample(after, 'laminate_serving_requests_total', { method: 'get', code: 'NOT_FOUND' })
      - sample(before, 'laminate_serving_requests_total', { method: 'get', code: 'NOT_FOUND' })).toBe(3);
    expect(sample(after, 'laminate_serving_request_duration_seconds_count', { method: 'get' })
      - sample(before, 'laminate_serving_request_duration_seconds_count', { method: 'get' })).toBe(3);
    expect(after).toMatch(/^laminate_serving_loaded_versions\{node="[^"]+"\} 0$/m);
    const refused = await scrape(url);
    expect(refused.status).toBe(401);
    expect(refused.text).toMatch(/UNAUTHENTICATED/);
    expect((await scrape(url, 'wrong-token-0123456789')).status).toBe(401);
    expect((await scrape(url.replace('/metrics', '/other'), TOKEN)).status).toBe(404);
  });
});
