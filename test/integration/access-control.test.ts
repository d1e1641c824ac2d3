/**
 * Access control with real processes: a cluster started with a token file
 * and TLS (a certificate made here by openssl): master, worker, serving
 * node, speed process. Each service refuses calls without the token and
 * with a wrong one, answers the right one, and does not answer plaintext; a
 * job runs end to end; a worker with a wrong token cannot register nor fetch
 * map outputs; and a master that would serve another address than loopback
 * without a token refuses to start. (One cluster for all: each start costs
 * seconds on a loaded 2-core machine.)
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync, spawn } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import { LaminateError } from '../../src/common/errors.js';
import { DatasetClient } from '../../src/protocol/dataset-rpc.js';
import { MasterClient } from '../../src/protocol/master-rpc.js';
import { configureSecurity, type SecurityConfig } from '../../src/protocol/security.js';
import { ServingClient } from '../../src/protocol/serving-rpc.js';
import { ShuffleClient } from '../../src/protocol/shuffle-rpc.js';
import { SpeedClient } from '../../src/protocol/speed-rpc.js';
import { ViewsClient } from '../../src/protocol/view-rpc.js';
import {
  CLI, EXAMPLES, GUTENBERG, removeDir, startMasterProc, startServeProc, startSpeedProc, startWorkerProc, tempDir,
  type MasterProc, type Proc,
} from './harness.js';
import { byKey, readOutput, runSequential } from './reference.js';

const TOKEN = 'right-token-0123456789abcdef';
const WRONG = 'wrong-token-0123456789abcdef';
const INPUT = join(GUTENBERG, 'pg-metamorphosis.txt');
const JOB = join(EXAMPLES, 'wordcount.ts');

/** The code a call ends with: 'OK' when it answers. */
async function codeOf(call: () => Promise<unknown>): Promise<string> {
  try {
    await call();
    return 'OK';
  } catch (err) {
    return err instanceof LaminateError ? err.code : `not a LaminateError: ${String(err)}`;
  }
}

async function drain(gen: AsyncGenerator<Buffer>): Promise<void> {
  for await (const chunk of gen) void chunk;
}

/** Runs the CLI to its end: exit code, stdout, stderr. */
function runCli(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    p.stderr.on('data', (d: Buffer) => { err += d.toString(); });
    p.on('exit', (code) => resolve({ code, out, err }));
  });
}

async function expectWordCount(out: string): Promise<void> {
  const { lines } = await readOutput(out);
  expect([...lines].sort(byKey)).toEqual(await runSequential(JOB, [INPUT]));
}

describe('a cluster with a token and TLS', () => {
  let dir: string;
  let tokenFile: string;
  let wrongFile: string;
  let cert: string;
  let key: string;
  let tls: { tlsCa: Buffer };
  let master: MasterProc;
  let worker: Proc & { id: string };
  let serve: Proc & { address: string };
  let speed: Proc & { address: string };
  const env = (): Record<string, string> => ({ LAMINATE_TOKEN_FILE: tokenFile, LAMINATE_TLS_CERT: cert, LAMINATE_TLS_KEY: key, LAMINATE_TLS_CA: cert });

  beforeAll(async () => {
    dir = await tempDir();
    tokenFile = join(dir, 'token');
    wrongFile = join(dir, 'wrong-token');
    await writeFile(tokenFile, `${TOKEN}\n`, { mode: 0o600 });
    await writeFile(wrongFile, `${WRONG}\n`, { mode: 0o600 });
    cert = join(dir, 'cert.pem');
    key = join(dir, 'key.pem');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
      '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost'],
    { stdio: 'ignore' });
    tls = { tlsCa: await readFile(cert) };
    master = await startMasterProc(dir, { env: env() });
    worker = await startWorkerProc(master.address, dir, { slots: 2, env: env() });
    serve = await startServeProc(master.address, dir, 'serve', { env: env() });
    speed = await startSpeedProc(master.address, dir, 'speed', { env: env() });
  });
  afterAll(async () => {
    configureSecurity({});
    await Promise.all([speed?.kill('SIGTERM'), serve?.kill('SIGTERM'), worker?.kill('SIGTERM')]);
    await master?.kill('SIGTERM');
    await removeDir(dir);
  });

  it('refuses every service\'s calls without the token and with a wrong one, answers the right one, and not over plaintext', async () => {
    const workers = await (async () => {
      configureSecurity({ token: TOKEN, ...tls });
      const m = new MasterClient(master.address);
      try { return await m.listWorkers(); } finally { m.close(); }
    })();
    const shuffleAddress = workers[0]!.shuffleAddress;
    const calls: Record<string, () => Promise<unknown>> = {};
    const codes = async (config: SecurityConfig): Promise<Record<string, string>> => {
      configureSecurity(config);
      const m = new MasterClient(master.address);
      const d = new DatasetClient(master.address);
      const v = new ViewsClient(master.address);
      const s = new ServingClient(serve.address);
      const sp = new SpeedClient(speed.address);
      const sh = new ShuffleClient(shuffleAddress);
      calls.master = () => m.listWorkers();
      calls.dataset = () => d.listDatasets();
      calls.views = () => v.listViews();
      calls.serving = () => s.get('no-such-view', ['k']);
      calls.speed = () => sp.get({ view: 'no-such-view', cut: [0], keys: ['k'] });
      calls.shuffle = () => drain(sh.fetch({ mapAttemptId: 'attempt-job-0001-m-000000-0', partition: 0, offset: 0, length: 10, workerId: worker.id }, 5_000));
      const out: Record<string, string> = {};
      try {
        for (const [name, call] of Object.entries(calls)) out[name] = await codeOf(call);
      } finally {
        for (const c of [m, d, v, s, sp, sh]) c.close();
      }
      return out;
    };
    const none = await codes({ ...tls });
    const wrong = await codes({ token: WRONG, ...tls });
    const right = await codes({ token: TOKEN, ...tls });
    const plaintext = await codes({ token: TOKEN });
    for (const service of ['master', 'dataset', 'views', 'serving', 'speed', 'shuffle']) {
      expect(none[service], `${service} without a token`).toBe('UNAUTHENTICATED');
      expect(wrong[service], `${service} with a wrong token`).toBe('UNAUTHENTICATED');
      expect(right[service], `${service} with the token`).not.toBe('UNAUTHENTICATED');
      expect(plaintext[service], `${service} over plaintext`).toBe('UNAVAILABLE');
    }
    // The answers with the token are the services' own: the cluster's worker, no datasets, no such view or output.
    expect(right.master).toBe('OK');
    expect(right.dataset).toBe('OK');
    expect(right.views).toBe('OK');
    expect(right.serving).toBe('NOT_FOUND');
    // Refusals are logged, without what the call carried.
    await master.waitFor(/refused a call without the cluster token/);
    expect(master.stderr()).not.toContain(WRONG);
    expect(serve.stderr()).not.toContain(WRONG);
  });

  it('runs a job submitted with the token over TLS (its reducers fetch map outputs with both) as the sequential run counts', async () => {
    const out = join(dir, 'wc-out');
    const r = await runCli(['submit', '--master', master.address, '--job', JOB, '--input', INPUT, '--output', out, '--reducers', '2', '--wait'], env());
    expect(r.err).not.toMatch(/FAILED|UNAUTHENTICATED|UNAVAILABLE/);
    expect(r.code).toBe(0);
    await expectWordCount(out);
  });

  it('the master\'s HTTP port wants the token too, over TLS: 401 without it or with a wrong one, its metrics with it', async () => {
    const http = (await master.waitFor(/master http on (\S+)/)).replace('master http on ', '');
    const get = (path: string, token?: string): Promise<{ status: number; body: string }> => new Promise((resolve, reject) => {
      const req = httpsRequest(`https://${http}${path}`, { ca: tls.tlsCa, headers: token === undefined ? {} : { authorization: `Bearer ${token}` } }, (res) => {
        let body = '';
        res.on('data', (d: Buffer) => { body += d.toString(); });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
      req.on('error', reject);
      req.end();
    });
    expect((await get('/metrics')).status).toBe(401);
    expect((await get('/health', WRONG)).status).toBe(401);
    const ok = await get('/metrics', TOKEN);
    expect(ok.status).toBe(200);
    // The one alive worker of this cluster, as the master's status has it.
    expect(ok.body).toMatch(/^laminate_workers\{state="alive"\} 1$/m);
    expect(master.stderr()).not.toContain(WRONG);
  });

  it('refuses the CLI without the token or with a wrong one: exit 2 and UNAUTHENTICATED', async () => {
    for (const e of [{ LAMINATE_TOKEN_FILE: '' }, { LAMINATE_TOKEN_FILE: wrongFile }]) {
      const r = await runCli(['dataset', 'list', '--master', master.address, '--tls-ca', cert], e);
      expect(r.code).toBe(2);
      expect(r.err).toMatch(/UNAUTHENTICATED/);
    }
    // Flags rather than the environment, as a user types them.
    const ok = await runCli(['dataset', 'list', '--master', master.address, '--token-file', tokenFile, '--tls-ca', cert]);
    expect(ok.code).toBe(0);
  });

  it('a worker with a wrong token cannot register: it exits naming the refusal, and the master lists only the good worker', async () => {
    const r = await runCli(['worker', '--master', master.address, '--data', join(dir, 'bad-worker')], { ...env(), LAMINATE_TOKEN_FILE: wrongFile });
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/UNAUTHENTICATED: The master at \S+ refused this worker's registration/);
    configureSecurity({ token: TOKEN, ...tls });
    const m = new MasterClient(master.address);
    try {
      expect((await m.listWorkers()).map((w) => w.workerId)).toEqual([worker.id]);
    } finally {
      m.close();
    }
  });
});

describe('a master without a token', () => {
  it('refuses to serve an address other than loopback, saying why', async () => {
    const dir = await tempDir();
    try {
      const r = await runCli(['master', '--host', '0.0.0.0', '--port', '0', '--data', join(dir, 'master')], { LAMINATE_TOKEN_FILE: '' });
      expect(r.code).toBe(2);
      expect(r.err).toMatch(/FAILED_PRECONDITION: Refusing to serve on --host 0\.0\.0\.0 without a token/);
      expect(r.out).not.toMatch(/listening/);
    } finally {
      await removeDir(dir);
    }
  });
});
