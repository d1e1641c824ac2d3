/**
 * The Lambda demo (`npm start`) on an embedded cluster with a speed process,
 * shortened: it must see the batch layer publish new versions while the
 * speed side counts what came after their cuts, and its referee must find
 * every answer exact. The referee itself is checked against a tampered
 * answer: a referee that passed everything would pass this demo too.
 */
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LaminateClient } from '../../src/client/laminate-client.js';
import { DemoReferee } from '../../src/cli/demo/demo-check.js';
import { runLambdaDemo } from '../../src/cli/demo/lambda-demo.js';
import { packageRoot } from '../../src/common/package-root.js';
import type { LocalCluster } from '../../src/local/local-cluster.js';
import { join } from 'node:path';
import { removeDir, startLocal, tempDir } from './harness.js';

describe('the Lambda demo', () => {
  let dir: string;
  let cluster: LocalCluster;
  let client: LaminateClient;

  beforeAll(async () => {
    dir = await tempDir();
    cluster = await startLocal({ dataDir: dir, workers: 2, speed: true });
    client = new LaminateClient(cluster.address);
  });
  afterAll(async () => {
    await client.close();
    await cluster.stop();
    await removeDir(dir);
  });

  it('shows batch and speed parts of exact answers across rebuilds', async () => {
    let text = '';
    const out = new Writable({ write(chunk: Buffer, _enc, done) { text += chunk.toString(); done(); } });
    const result = await runLambdaDemo({
      client, viewFile: join(packageRoot(), 'examples', 'views', 'page-views-per-minute.ts'), seconds: 12, rate: 800, buildEvery: '4s', out,
    });
    expect(result.exact).toBe(true);
    expect(result.answers).toBeGreaterThanOrEqual(16);
    // Version 1 (built at the start over nothing) and at least one rebuild over clicks.
    expect(result.versions[0]).toBe(1);
    expect(result.versions.length).toBeGreaterThanOrEqual(2);
    expect(result.maxSpeedRecords).toBeGreaterThan(0);
    expect(text).toContain('every one exact');

    // The referee tells a wrong count from a right one.
    const referee = new DemoReferee(client, 'clicks', 4);
    const scan = client.scan('page-views-per-minute');
    const counts = new Map<string, number>();
    for await (const e of scan) {
      const [page, minute] = e.key as [string, number];
      counts.set(`${page}|${minute}`, e.value as number);
    }
    const upTo = scan.coverage!.speed ?? scan.coverage!.cut;
    expect(await referee.check({ at: Date.now(), merged: true, upTo, counts })).toBeUndefined();
    const [someKey, someCount] = [...counts.entries()][0]!;
    const tampered = new Map(counts).set(someKey, someCount + 1);
    expect(await referee.check({ at: Date.now(), merged: true, upTo, counts: tampered })).toContain(someKey);
    const missing = new Map(counts);
    missing.delete(someKey);
    expect(await referee.check({ at: Date.now(), merged: true, upTo, counts: missing })).toContain('nothing');
  }, 90_000);
});
