/**
 * View versions and function code on S3 (s3rver on 127.0.0.1), with real
 * processes from dist/ (`npm run build` first) that read the store's
 * endpoint and keys from the environment they inherit: a master with
 * `--views s3://lake/views/` (function code then beside them, by default),
 * one worker, one serving node (`laminate serve`). One cluster for every
 * case, in order; one case SIGKILLs the master mid-publish (the
 * LAMINATE_FAULT_KILL_AT hook of `laminate master`) and restarts it.
 */
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LaminateClient } from '../../src/client/laminate-client.js';
import { silentLogger } from '../../src/common/logger.js';
import { servedVersions } from '../../src/master/served-versions.js';
import { ViewsClient } from '../../src/protocol/view-rpc.js';
import { S3ObjectStore } from '../../src/storage/s3-object-store.js';
import { decodeManifest, encodeManifest } from '../../src/view/view-manifest.js';
import { seededRandom } from '../support/seeded-random.js';
import { startS3Server, type TestS3Server } from '../support/s3-server.js';
import { Teardown } from './fault-support.js';
import { removeDir, startMasterProc, startServeProc, startWorkerProc, tempDir, type MasterProc } from './harness.js';
import { clicks, foldSums, LogMirror, logEnd, scanView, SUMS_MODULE, SUMS_VIEW, until } from './speed-fault-support.js';

const PARTITIONS = 3;
const BUCKET = 'lake';
const ROOT = `s3://${BUCKET}/views/`;
const teardown = new Teardown();
let s3: TestS3Server;
let store: S3ObjectStore;
let dir: string;
let master: MasterProc;
let client: LaminateClient;
let views: ViewsClient;
let serveDir: string;
let log: LogMirror;

beforeAll(async () => {
  // Before the processes start: they inherit the store's variables.
  s3 = await startS3Server();
  teardown.add(() => s3.stop());
  await s3.createBucket(BUCKET);
  store = new S3ObjectStore(s3.client, BUCKET);
  dir = await tempDir('laminate-views-s3-');
  teardown.add(() => removeDir(dir));
  master = await startMasterProc(dir, { args: ['--views', ROOT] });
  teardown.add(() => master.kill());
  const worker = await startWorkerProc(master.address, dir, { slots: 2 });
  teardown.add(() => worker.kill());
  const serve = await startServeProc(master.address, dir, 'serve-1');
  teardown.add(() => serve.kill());
  serveDir = serve.dir;
  client = new LaminateClient(master.address);
  teardown.add(() => client.close());
  views = new ViewsClient(master.address);
  teardown.add(() => views.close());
  log = new LogMirror(client, 'clicks', PARTITIONS);
  await client.createDataset('clicks', { partitions: PARTITIONS });
  await client.append('clicks', clicks(seededRandom(1), 0, 900));
  await client.deployView(SUMS_MODULE, { partitions: 2 });
}, 60_000);
afterAll(() => teardown.run());

/** Waits until the serving node answers from `version`, then checks its answer against the sequential fold of the log before the version's cut. */
async function servesExactly(version: number, cut: readonly number[]): Promise<void> {
  const scan = await until(async () => {
    const x = await scanView(client, SUMS_VIEW);
    return x.coverage.version === version ? x : undefined;
  }, 30_000, `the serving node answering from version ${version}`);
  expect(scan.coverage.cut).toEqual(cut);
  expect(scan.entries).toEqual(foldSums(await log.upTo(cut)));
}

/** SIGKILLs the master and starts it again on the same port and folders, with `env` (the others reconnect to the same address). */
async function restartMaster(env: Record<string, string>): Promise<void> {
  await master.kill('SIGKILL');
  const port = Number(/:(\d+)$/.exec(master.address)![1]);
  master = await startMasterProc(dir, { port, args: ['--views', ROOT], env });
}

async function text(key: string): Promise<string> {
  return (await store.read(key)).toString('utf8');
}

describe('view versions on S3', () => {
  it('a version built to S3 (files, manifest, then the pointer) is served by a laminate serve process, exactly; the next one merges the first in place; rollback moves the pointer', async () => {
    const cut1 = await logEnd(client, 'clicks');
    const b1 = await client.buildView(SUMS_VIEW, { wait: true });
    expect([b1.state, b1.version, b1.cut]).toEqual(['PUBLISHED', 1, cut1]);
    const keys = (await store.listAll(`views/${SUMS_VIEW}/`)).map((o) => o.key);
    expect(keys).toEqual(expect.arrayContaining([
      `views/${SUMS_VIEW}/CURRENT`, `views/${SUMS_VIEW}/v1/MANIFEST.json`, `views/${SUMS_VIEW}/v1/part-00000`, `views/${SUMS_VIEW}/v1/part-00001`,
    ]));
    expect(keys.filter((k) => k.includes('_temporary'))).toEqual([]);
    expect(await text(`views/${SUMS_VIEW}/CURRENT`)).toBe('v1\n');
    // No version on the master's disk: only the catalog's state is there.
    expect(await readdir(join(dir, 'master', 'views'))).toEqual(['_catalog']);
    await servesExactly(1, cut1);
    // The node's copy is on its own disk.
    expect(await readdir(join(serveDir, 'views', SUMS_VIEW))).toEqual(expect.arrayContaining(['v1']));

    await client.append('clicks', clicks(seededRandom(2), 900, 600));
    const cut2 = await logEnd(client, 'clicks');
    const b2 = await client.buildView(SUMS_VIEW, { wait: true });
    expect([b2.state, b2.version, b2.incremental]).toEqual(['PUBLISHED', 2, true]);
    expect(await text(`views/${SUMS_VIEW}/CURRENT`)).toBe('v2\n');
    await servesExactly(2, cut2);

    await client.rollbackView(SUMS_VIEW, 1);
    expect(await text(`views/${SUMS_VIEW}/CURRENT`)).toBe('v1\n');
    await servesExactly(1, cut1);
    await client.rollbackView(SUMS_VIEW, 2);
    await servesExactly(2, cut2);
  }, 90_000);

  it('a master SIGKILLed between a version\'s manifest and its pointer leaves the old version served; restarted, it finishes the publish', async () => {
    const cut2 = (await servedVersions(ROOT, SUMS_VIEW, 3, silentLogger()))!.versions[0]!.cut;
    await client.append('clicks', clicks(seededRandom(3), 1500, 300));
    const cut3 = await logEnd(client, 'clicks');
    await restartMaster({ LAMINATE_FAULT_KILL_AT: 'manifest:renamed' });
    const died = new Promise<void>((resolve) => master.proc.once('exit', () => resolve()));
    const b3 = await client.buildView(SUMS_VIEW, { wait: false });
    expect(b3.version).toBe(3);
    await died;
    // The manifest is on the store, the pointer still names version 2: a reader following it serves 2, not 3.
    expect(await store.stat(`views/${SUMS_VIEW}/v3/MANIFEST.json`)).toBeDefined();
    expect(await text(`views/${SUMS_VIEW}/CURRENT`)).toBe('v2\n');
    const served = await servedVersions(ROOT, SUMS_VIEW, 3, silentLogger());
    expect([served?.current, served?.versions.map((v) => v.version)]).toEqual([2, [2, 1]]);
    expect(served?.versions[0]?.cut).toEqual(cut2);
    await restartMaster({});
    await servesExactly(3, cut3);
    expect(await text(`views/${SUMS_VIEW}/CURRENT`)).toBe('v3\n');
  }, 90_000);

  it('a version whose files and manifest are on S3 but that no pointer names is not served', async () => {
    const before = await servedVersions(ROOT, SUMS_VIEW, 3, silentLogger());
    expect(before?.current).toBe(3);
    // Version 9 whole on the store, as a publish cut short before its pointer would leave it.
    const m = decodeManifest(await store.read(`views/${SUMS_VIEW}/v3/MANIFEST.json`), 'v3');
    for (const f of m.files) await store.put(`views/${SUMS_VIEW}/v9/${f.name}`, await store.read(`views/${SUMS_VIEW}/v3/${f.name}`));
    await store.put(`views/${SUMS_VIEW}/v9/MANIFEST.json`, encodeManifest({ ...m, version: 9 }));

    const after = await servedVersions(ROOT, SUMS_VIEW, 3, silentLogger());
    expect(after?.current).toBe(3);
    expect(after?.versions.map((v) => v.version)).not.toContain(9);
    // A rollback the node then follows: the assignments it got after v9 appeared never named v9.
    const cut1 = before!.versions.find((v) => v.version === 1)!.cut;
    await client.rollbackView(SUMS_VIEW, 1);
    await servesExactly(1, cut1);
    const nodes = await views.listServingNodes();
    expect(nodes.flatMap((n) => n.loaded).filter((l) => l.view === SUMS_VIEW).map((l) => l.version)).not.toContain(9);
    expect(await readdir(join(serveDir, 'views', SUMS_VIEW))).not.toContain('v9');
  }, 60_000);

  it('a version damaged on S3 is refused by the serving node, which keeps serving the one it has', async () => {
    const held = await servedVersions(ROOT, SUMS_VIEW, 3, silentLogger());
    expect(held?.current).toBe(1);
    const cut1 = held!.versions[0]!.cut;
    // One byte of version 2 flipped on the store: same size, another CRC.
    const key = `views/${SUMS_VIEW}/v2/part-00001`;
    const bytes = Buffer.from(await store.read(key));
    bytes[10] = bytes[10]! ^ 0xff;
    await store.put(key, bytes);
    await client.rollbackView(SUMS_VIEW, 2);
    const refused = await until(async () => {
      const v2 = (await client.viewVersions(SUMS_VIEW)).versions.find((v) => v.version === 2);
      return v2 !== undefined && v2.refusedBy.length > 0 ? v2.refusedBy : undefined;
    }, 30_000, 'the serving node to refuse version 2');
    expect(refused.join('\n')).toMatch(/part-00001/);
    const scan = await scanView(client, SUMS_VIEW);
    expect(scan.coverage.version).toBe(1);
    expect(scan.entries).toEqual(foldSums(await log.upTo(cut1)));
    expect(await readdir(join(serveDir, 'views', SUMS_VIEW))).not.toContain('v2');
  }, 60_000);
});

describe('function code on S3', () => {
  it('is stored there sealed (beside the views by default), and a deployed function is invoked from it', async () => {
    const file = join(dir, 'double.ts');
    await writeFile(file, "import { defineFunction } from 'laminate';\nexport default defineFunction(async (event) => ({ doubled: event.x * 2, marker: 'plain-text-marker' }));\n");
    const v = await client.deployFunction(file, { timeoutMs: 10_000 });
    const sealed = await store.read(`views/_function-code/double.v${v.version}.bin`);
    expect(sealed.length).toBeGreaterThan(0);
    expect(sealed.includes(Buffer.from('plain-text-marker'))).toBe(false);
    expect(await readdir(join(dir, 'master', 'functions'))).not.toContain('code');
    const out = await client.invoke('double', { x: 21 });
    expect(out).toMatchObject({ ok: true, result: { doubled: 42, marker: 'plain-text-marker' } });
  }, 60_000);
});
