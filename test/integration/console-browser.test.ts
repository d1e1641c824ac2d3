/**
 * The web console in a real browser (Debian's chromium through
 * puppeteer-core) against a live cluster of processes: every page loads
 * without console errors or failed requests and shows the live state; a
 * running job's progress moves without a reload and the Kill button kills
 * it; a SIGKILLed worker turns lost; a new view version appears and the
 * older one can be rolled back to; a function is redeployed and deleted; an
 * unknown job shows the API's not-found message. One cluster and one browser for
 * all of it. On a failure the page's screenshot is saved and its path
 * printed.
 */
import { writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { LaminateClient } from '../../src/client/laminate-client.js';
import { seededRandom } from '../support/seeded-random.js';
import { writeCorpus } from './fault-support.js';
import {
  EXAMPLES, FIXTURES, JobClient, removeDir, startMasterProc, startWorkerProc, tempDir, type MasterProc, type Proc,
} from './harness.js';

const CHROMIUM = process.env['LAMINATE_CHROMIUM'] ?? '/usr/bin/chromium';
/** About 1.5 s per map of 150 lines (slow-map.ts pauses 10 ms a line). */
const SLOW_MAP = join(FIXTURES, 'jobs', 'slow-map.ts');
/**
 * The page's globals as the functions evaluated in the page use them (this
 * file is compiled for Node, without the DOM's types): `page()` is
 * `globalThis` there.
 */
interface InPage {
  readonly document: {
    querySelector(selector: string): { readonly textContent: string | null; querySelector(selector: string): { readonly textContent: string | null } | null } | null;
    querySelectorAll(selector: string): ArrayLike<{ readonly textContent: string | null; querySelector(selector: string): { readonly textContent: string | null } | null }>;
  };
  stayed?: boolean;
}

/** How long the page may take to show what the cluster did: the stream checks every second. */
const SHOWN_MS = 15_000;

describe('the web console in chromium, against a cluster of processes', () => {
  let dir: string;
  let master: MasterProc;
  let http: string;
  const workers: (Proc & { id: string })[] = [];
  let client: LaminateClient;
  let jobs: JobClient;
  /** Launched while the cluster starts (a few seconds each on 2 cores). */
  let browserLaunch: Promise<Browser> | undefined;
  let page: Page;
  /** Console errors, uncaught exceptions, failed and refused requests of the page since the last check. */
  let problems: string[] = [];
  let viewBuildJob = '';
  const random = seededRandom(1111);
  const clicks = (n: number): { page_id: string; event_type: string; user_id: string }[] => Array.from({ length: n }, () => ({
    page_id: `page-${Math.floor(random() * 20)}`, event_type: random() < 0.6 ? 'view' : 'click', user_id: `u${Math.floor(random() * 100)}`,
  }));

  beforeAll(async () => {
    browserLaunch = puppeteer.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--headless=new'] });
    dir = await tempDir('laminate-console-');
    master = await startMasterProc(dir, { heartbeatTimeoutMs: 2000, heartbeatIntervalMs: 250 });
    http = `http://${(await master.waitFor(/master http on (\S+)/)).replace('master http on ', '')}`;
    const started = await Promise.allSettled([0, 1, 2].map(() => startWorkerProc(master.address, dir, { slots: 1, memoryMb: 1024 })));
    for (const r of started) if (r.status === 'fulfilled') workers.push(r.value);
    for (const r of started) if (r.status === 'rejected') throw r.reason;
    // Registration order is not start order: the one to kill is the last by id.
    workers.sort((a, b) => a.id.localeCompare(b.id));
    client = new LaminateClient(master.address);
    jobs = new JobClient(master.address);
    // Something on every page: a dataset, a view with a version, a function.
    await client.createDataset('clicks', { partitions: 2 });
    await client.append('clicks', clicks(500));
    await client.deployView(join(EXAMPLES, 'views', 'page-views.ts'), { partitions: 2 });
    const built = await client.buildView('page-views', { wait: true });
    expect(built.state).toBe('PUBLISHED');
    viewBuildJob = built.jobId;
    await mkdir(join(dir, 'fns'));
    await writeFile(join(dir, 'fns', 'greet.ts'), "import { defineFunction } from 'laminate';\nexport default defineFunction(async (event: { name: string }) => `hello ${event.name}`);\n");
    await client.deployFunction(join(dir, 'fns', 'greet.ts'), { timeoutMs: 5000 });

    page = await (await browserLaunch).newPage();
    await page.setViewport({ width: 1280, height: 900 });
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warn') problems.push(`console ${m.type()}: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`uncaught: ${(e as Error).message}`));
    page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()} ${r.failure()?.errorText ?? ''}`));
    page.on('response', (r) => {
      if (r.status() >= 400) problems.push(`HTTP ${r.status()}: ${r.url()}`);
    });
  }, 90_000);

  afterAll(async () => {
    await (await browserLaunch?.catch(() => undefined))?.close();
    jobs?.close();
    await client?.close();
    for (const w of workers) await w.kill();
    await master?.kill();
    await removeDir(dir);
  });

  /**
   * Starts a case: forgets what an earlier case left in `problems`, and on a
   * failure saves the page as it was to the temporary folder, its path printed.
   */
  function startCase(name: string): void {
    problems = [];
    onTestFailed(async () => {
      const path = join(tmpdir(), `laminate-console-${name}-${Date.now()}.png`);
      try {
        await page.screenshot({ path, fullPage: true });
        console.error(`console browser test: screenshot of the failing page at ${path} (${page.url()})`);
      } catch (err) {
        console.error(`console browser test: no screenshot (${(err as Error).message})`);
      }
    });
  }

  /** Loads a page and resolves once it has rendered the API's first answer. */
  async function visit(path: string): Promise<void> {
    await page.goto(`${http}${path}`, { waitUntil: 'domcontentloaded' });
    await page.waitForSelector('#live-status.live', { timeout: SHOWN_MS });
  }

  const text = (selector: string): Promise<string> => page.$eval(selector, (e) => e.textContent ?? '');

  /** The problems seen since the last call (and forgets them). */
  function takeProblems(): string[] {
    const seen = problems;
    problems = [];
    return seen;
  }

  it('loads every page without console errors or failed requests, each showing the cluster\'s state', async () => {
    startCase('pages');
    const fn = (await client.listFunctions())[0]!.live.name;
    const described = await client.describeDataset('clicks');
    const pages: [string, string, string][] = [
      // [path, selector, text it must show]
      ['/', '.cards', 'Workers alive'],
      ['/cluster', '#workers', workers[0]!.id],
      ['/jobs', '#jobs', viewBuildJob],
      [`/jobs/${viewBuildJob}`, '#job-state', 'SUCCEEDED'],
      ['/datasets', '#datasets', 'clicks'],
      ['/datasets/clicks', '#partitions', described.partitions[0]!.endOffset.toLocaleString('en-US')],
      ['/views', '#views', 'page-views'],
      ['/views/page-views', '#versions', 'v1 (current)'],
      ['/functions', '#functions', fn],
      [`/functions/${fn}`, '#function-versions', 'v1 (live)'],
    ];
    for (const [path, selector, expected] of pages) {
      await visit(path);
      expect(await text(selector), path).toContain(expected);
      expect(takeProblems(), path).toEqual([]);
    }
    // What the pages show is what the API answers: the dataset's partitions and end offsets.
    await visit('/datasets/clicks');
    const rows = await page.$$eval('#partitions tbody tr', (trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent)));
    expect(rows.map((r) => [r[0], r[1]])).toEqual(described.partitions.map((p) => [String(p.partition), p.endOffset.toLocaleString('en-US')]));
    // Names from users are shown as text, never as markup.
    expect(await page.$$eval('#main script, #main img', (els) => els.length)).toBe(0);
  });

  it('moves a running job\'s progress without a reload, and kills it from its page after a confirmation', async () => {
    startCase('job');
    const input = await writeCorpus(join(dir, 'slow-in'), Array.from({ length: 9 }, (_, i) => ({ name: `f${i}.txt`, lines: 150 })), { seed: 5 });
    const jobId = await jobs.submit({ job: SLOW_MAP, inputs: [input], output: join(dir, 'slow-out'), reducers: 2, speculation: false });
    await visit(`/jobs/${jobId}`);
    // A marker on the window: gone if the page reloaded.
    await page.evaluate(() => { (globalThis as unknown as InPage).stayed = true; });
    const killButton = (await page.$('#kill-job'))!;
    const first = await text('#job-progress .progress-label');
    expect(first).not.toBe('100%');
    await page.waitForFunction((p) => (globalThis as unknown as InPage).document.querySelector('#job-progress .progress-label')?.textContent !== p, { timeout: SHOWN_MS }, first);
    const moved = await text('#job-progress .progress-label');
    expect(Number.parseFloat(moved)).toBeGreaterThan(Number.parseFloat(first));
    expect(await page.evaluate(() => (globalThis as unknown as InPage).stayed)).toBe(true);
    // Redrawn in place: the button under the operator's pointer is the same element after the update.
    expect(await killButton.evaluate((b) => b.isConnected)).toBe(true);
    // The timeline draws the attempts that ran.
    expect(await page.$$eval('svg.timeline .bar', (bars) => bars.length)).toBeGreaterThan(0);

    // Cancel first: nothing happens.
    await page.click('#kill-job');
    await page.waitForSelector('dialog[open] [data-cancel]');
    await page.click('dialog[open] [data-cancel]');
    expect(await page.$('dialog[open]')).toBeNull();
    expect((await jobs.status(jobId)).state).toBe('RUNNING');
    await page.click('#kill-job');
    await page.waitForSelector('dialog[open] [data-confirm]');
    await page.click('dialog[open] [data-confirm]');
    await page.waitForFunction(() => (globalThis as unknown as InPage).document.querySelector('#job-state')?.textContent === 'KILLED', { timeout: SHOWN_MS });
    // The page, the client (what the CLI's status prints) and the API agree.
    expect((await jobs.status(jobId)).state).toBe('KILLED');
    const api = await (await fetch(`${http}/api/jobs/${jobId}`)).json() as { job: { state: string } };
    expect(api.job.state).toBe('KILLED');
    expect(await page.$('#kill-job')).toBeNull();
    expect(takeProblems()).toEqual([]);
  });

  it('shows a worker killed with SIGKILL as lost on the cluster page', async () => {
    startCase('cluster');
    const victim = workers[2]!;
    await visit('/cluster');
    const rowOf = (id: string): Promise<string> => page.$$eval('#workers tbody tr', (trs, wid) =>
      trs.map((tr) => tr.textContent ?? '').find((t) => t.startsWith(wid)) ?? '', id);
    expect(await rowOf(victim.id)).toContain('alive');
    await victim.kill('SIGKILL');
    await page.waitForFunction((wid) => Array.from((globalThis as unknown as InPage).document.querySelectorAll('#workers tbody tr'))
      .some((tr) => tr.textContent?.startsWith(wid) && tr.querySelector('.badge')?.textContent === 'lost'), { timeout: SHOWN_MS }, victim.id);
    expect((await jobs.workers()).find((w) => w.workerId === victim.id)?.alive).toBe(false);
    expect(await rowOf(workers[0]!.id)).toContain('alive');
    expect(takeProblems()).toEqual([]);
  });

  it('shows a newly built view version on the view page without a reload', async () => {
    startCase('view');
    await visit('/views/page-views');
    expect(await text('#current-version')).toBe('v1');
    await client.append('clicks', clicks(200));
    const built = await client.buildView('page-views', { wait: true });
    expect(built).toMatchObject({ version: 2, state: 'PUBLISHED' });
    await page.waitForFunction(() => (globalThis as unknown as InPage).document.querySelector('#current-version')?.textContent === 'v2', { timeout: SHOWN_MS });
    const versions = await page.$$eval('#versions tbody tr td:first-child', (tds) => tds.map((td) => td.textContent));
    expect(versions).toEqual(['v2 (current)', 'v1']);
    // The older version offers a rollback; the current one does not. Rolled back, the page and the catalog agree.
    expect(await page.$$eval('[data-rollback]', (bs) => bs.map((b) => b.getAttribute('data-rollback')))).toEqual(['1']);
    await page.click('[data-rollback="1"]');
    await page.waitForSelector('dialog[open] [data-confirm]');
    await page.click('dialog[open] [data-confirm]');
    await page.waitForFunction(() => (globalThis as unknown as InPage).document.querySelector('#current-version')?.textContent === 'v1', { timeout: SHOWN_MS });
    expect((await client.listViews()).find((v) => v.name === 'page-views')?.currentVersion).toBe(1);
    expect(takeProblems()).toEqual([]);
  });

  it('redeploys and deletes a function from its page after a confirmation', async () => {
    startCase('function');
    const fn = 'greet';
    await visit(`/functions/${fn}`);
    await page.click('#redeploy-function');
    await page.waitForSelector('dialog[open] [data-confirm]');
    await page.click('dialog[open] [data-confirm]');
    await page.waitForFunction(() => (globalThis as unknown as InPage).document.querySelector('#function-versions')?.textContent?.includes('v2 (live)') === true,
      { timeout: SHOWN_MS });
    expect((await client.functionVersions(fn)).map((v) => v.version).sort()).toEqual([1, 2]);
    await page.click('#delete-function');
    await page.waitForSelector('dialog[open] [data-confirm]');
    await Promise.all([page.waitForNavigation({ waitUntil: 'domcontentloaded' }), page.click('dialog[open] [data-confirm]')]);
    expect(new URL(page.url()).pathname).toBe('/functions');
    await page.waitForSelector('#live-status.live', { timeout: SHOWN_MS });
    expect(await text('#functions')).toContain('No function has been deployed.');
    expect(await client.listFunctions()).toEqual([]);
    expect(takeProblems()).toEqual([]);
  });

  it('shows the API\'s not-found message for an unknown job', async () => {
    startCase('unknown');
    const res = await fetch(`${http}/api/jobs/job-9999`);
    expect(res.status).toBe(404);
    const { message } = await res.json() as { message: string };
    await page.goto(`${http}/jobs/job-9999`, { waitUntil: 'domcontentloaded' });
    await page.waitForSelector('#problem:not([hidden])', { timeout: SHOWN_MS });
    expect(await text('#problem')).toBe(message);
    expect(takeProblems()).toEqual([]);
  });

  it('asks for the token once on a cluster that has one, serves the pages and their streams with the session cookie, and says when the master is gone', async () => {
    startCase('login');
    const token = 'console-browser-token-0123456789';
    const tokenFile = join(dir, 'token');
    await writeFile(tokenFile, `${token}\n`, { mode: 0o600 });
    const guarded = await startMasterProc(join(dir, 'guarded'), { args: ['--token-file', tokenFile] });
    try {
      const base = `http://${(await guarded.waitFor(/master http on (\S+)/)).replace('master http on ', '')}`;
      await page.goto(`${base}/jobs`, { waitUntil: 'domcontentloaded' });
      expect(new URL(page.url()).pathname).toBe('/login');
      await page.type('#token', token);
      await Promise.all([page.waitForNavigation({ waitUntil: 'domcontentloaded' }), page.click('button[type=submit]')]);
      expect(new URL(page.url()).pathname).toBe('/jobs');
      await page.waitForSelector('#live-status.live', { timeout: SHOWN_MS });
      expect(await text('#jobs')).toContain('No job has been submitted.');
      expect(takeProblems()).toEqual([]);
      expect(await page.$eval('#connection', (e) => (e as unknown as { hidden: boolean }).hidden)).toBe(true);
      // The master gone, the page says it lost the connection (the browser's retries fail meanwhile).
      await guarded.kill('SIGKILL');
      await page.waitForSelector('#connection:not([hidden])', { timeout: SHOWN_MS });
      expect(await text('#live-status')).toBe('disconnected');
      await page.goto('about:blank');
    } finally {
      await guarded.kill();
    }
  });
});
