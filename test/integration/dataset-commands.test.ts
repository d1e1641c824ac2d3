import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { LaminateClient } from '../../src/client/index.js';
import { LaminateError } from '../../src/common/errors.js';
import { appendCommand } from '../../src/cli/append.js';
import { datasetCreate, datasetDescribe, datasetList } from '../../src/cli/dataset.js';
import { readCommand } from '../../src/cli/read.js';
import { removeDir, startMasterProc, tempDir, type MasterProc } from './harness.js';

/** The bodies of `laminate dataset|append|read`, run against a master process, their output collected. */
describe('the dataset commands', () => {
  let dir: string;
  let master: MasterProc;
  let client: LaminateClient;
  const run = async (fn: (out: (line: string) => void) => Promise<void>): Promise<string[]> => {
    const lines: string[] = [];
    await fn((l) => lines.push(l));
    return lines;
  };
  const records = async (name: string, partition: number): Promise<unknown[]> =>
    (await run((out) => readCommand(client, { dataset: name, partition }, out))).map((l) => (JSON.parse(l) as { record: unknown }).record);

  beforeAll(async () => {
    dir = await tempDir();
    master = await startMasterProc(dir);
    client = new LaminateClient(master.address);
  });
  afterAll(async () => {
    await client.close();
    await master.kill();
    await removeDir(dir);
  });

  it('creates, describes and lists, as text and as the JSON the issue gives', async () => {
    expect(await run((out) => datasetCreate(client, { name: 'clicks', partitions: 2 }, out))).toEqual(['dataset clicks: 2 partitions, 0 records']);
    expect(await run((out) => datasetList(client, {}, out))).toEqual(['clicks  2 partitions  0 records  0 B']);
    const [json] = await run((out) => datasetDescribe(client, { name: 'clicks', json: true }, out));
    expect(JSON.parse(json!)).toEqual({
      name: 'clicks',
      partitions: [0, 1].map((partition) => ({ partition, endOffset: 0, segments: 1, records: 0, bytes: 0 })),
    });
    const text = await run((out) => datasetDescribe(client, { name: 'clicks' }, out));
    expect(text[0]).toMatch(/^dataset clicks: 2 partitions, 0 records in 2 segments, 0 B, created \d{4}-/);
    expect(text.slice(1)).toEqual(['  partition  end offset  segments  records  bytes', '  0          0           1         0        0 B', '  1          0           1         0        0 B']);
    expect(JSON.parse((await run((out) => datasetList(client, { json: true }, out)))[0]!)).toEqual({ datasets: [JSON.parse(json!)] });
  });

  it('appends a file of JSON lines by key and reads it back, JSON lines either way, from an offset and up to a limit', async () => {
    await client.createDataset('events', { partitions: 2 });
    const lines = Array.from({ length: 40 }, (_, i) => JSON.stringify({ i, user: i % 2 === 0 ? 'ann' : 'cat' }));
    const file = join(dir, 'events.jsonl');
    await writeFile(file, `${lines.slice(0, 20).join('\n')}\n\n${lines.slice(20).join('\r\n')}\n`);
    const [printed] = await run((out) => appendCommand(client, { dataset: 'events', file, key: 'user', json: true }, Readable.from([]), out));
    const result = JSON.parse(printed!) as { appended: number; partitions: Array<{ partition: number; firstOffset: number; count: number }> };
    expect(result.appended).toBe(40);
    expect(result.partitions.map((p) => p.count)).toEqual([20, 20]);
    // 'ann' and 'cat' hash to different partitions; each user's records are in file order.
    const stored = [...await records('events', 0), ...await records('events', 1)] as Array<{ i: number; user: string }>;
    for (const user of ['ann', 'cat']) expect(stored.filter((r) => r.user === user).map((r) => r.i)).toEqual(lines.map((l) => JSON.parse(l) as { i: number; user: string }).filter((r) => r.user === user).map((r) => r.i));
    const p = result.partitions[0]!.partition;
    const some = await run((out) => readCommand(client, { dataset: 'events', partition: p, from: 5, limit: 3 }, out));
    expect(some.map((l) => JSON.parse(l) as { partition: number; offset: number })).toMatchObject([{ partition: p, offset: 5 }, { partition: p, offset: 6 }, { partition: p, offset: 7 }]);
    // Without a key, so few records fill one batch: all 40 land after the 20 of one partition.
    expect(await run((out) => appendCommand(client, { dataset: 'events', file }, Readable.from([]), out))).toEqual([expect.stringMatching(/^appended 40 records to events: partition \d offsets 20-59$/)]);
  });

  it('appends nothing of a file with a malformed line, naming the file and line', async () => {
    await client.createDataset('strict', { partitions: 1 });
    const file = join(dir, 'bad.jsonl');
    await writeFile(file, '{"a":1}\n{"a":2}\n{"a": \n{"a":4}\n');
    const err = await appendCommand(client, { dataset: 'strict', file }, Readable.from([]), () => {}).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(LaminateError);
    expect((err as LaminateError).code).toBe('INVALID_ARGUMENT');
    expect((err as LaminateError).message).toMatch(new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} line 3: malformed JSON: .*; nothing of .* was appended$`));
    expect((await client.describeDataset('strict')).partitions[0]!.endOffset).toBe(0);
  });

  it('from stdin, appends the lines before a malformed one and says exactly what they got', async () => {
    await client.createDataset('piped', { partitions: 1 });
    const stdin = Readable.from(['{"n":1}\n{"n":2}\n', '{"n":3}\n{oops}\n{"n":5}\n']);
    const err = await appendCommand(client, { dataset: 'piped' }, stdin, () => {}).then(() => undefined, (e: unknown) => e);
    expect((err as LaminateError).message).toMatch(/^stdin line 4: malformed JSON: .*; the 3 records before it were appended \(partition:offset\+count 0:0\+3\)$/);
    expect(await records('piped', 0)).toEqual([{ n: 1 }, { n: 2 }, { n: 3 }]);
  });

  it('follows a partition until the limit, printing records appended after it started', async () => {
    await client.createDataset('tail', { partitions: 1 });
    const got: string[] = [];
    let onLine = (): void => {};
    const reading = readCommand(client, { dataset: 'tail', partition: 0, follow: true, limit: 3 }, (l) => { got.push(l); onLine(); });
    for (let k = 0; k < 3; k++) {
      await client.append('tail', [{ k }]);
      await new Promise<void>((resolve) => {
        onLine = () => { if (got.length > k) resolve(); };
        onLine();
      });
    }
    await reading;
    expect(got.map((l) => JSON.parse(l) as unknown)).toEqual([0, 1, 2].map((k) => ({ partition: 0, offset: k, record: { k } })));
  });
});
