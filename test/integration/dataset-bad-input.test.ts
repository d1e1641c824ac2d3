import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as grpc from '@grpc/grpc-js';
import { LaminateClient, type DatasetDescription } from '../../src/client/index.js';
import { LaminateError } from '../../src/common/errors.js';
import { encodeBody } from '../../src/storage/record-body.js';
import { services } from '../../src/protocol/load.js';
import { fromServiceError } from '../../src/protocol/status-codes.js';
import { removeDir, startMasterProc, tempDir, type MasterProc } from './harness.js';

async function rejection(p: Promise<unknown>): Promise<LaminateError> {
  const err = await p.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(LaminateError);
  return err as LaminateError;
}

async function drain(it: AsyncIterable<unknown>): Promise<unknown[]> {
  const out: unknown[] = [];
  for await (const x of it) out.push(x);
  return out;
}

/** A unary call with the request bytes given as they are: what a broken or hostile client sends. */
function rawUnary(client: grpc.Client, method: string, bytes: Buffer): Promise<LaminateError | Buffer> {
  return new Promise((resolve) => {
    client.makeUnaryRequest(`/laminate.v1.Dataset/${method}`, (x: Buffer) => x, (b: Buffer) => b, bytes, (err, res) => {
      resolve(err ? fromServiceError(err, method) : res!);
    });
  });
}

/** A server-streaming Read with raw request bytes; resolves with the error that ends it, or the chunks' count. */
function rawRead(client: grpc.Client, bytes: Buffer): Promise<LaminateError | number> {
  return new Promise((resolve) => {
    const call = client.makeServerStreamRequest('/laminate.v1.Dataset/Read', (x: Buffer) => x, (b: Buffer) => b, bytes);
    let chunks = 0;
    call.on('data', () => { chunks++; });
    call.on('error', (err) => resolve(fromServiceError(err, 'Read')));
    call.on('end', () => resolve(chunks));
  });
}

/** Encodes a request as the proto says, with any field values, so the server alone judges them. */
function encode(method: string, message: object): Buffer {
  const def = (services().dataset as Record<string, grpc.MethodDefinition<object, object>>)[method]!;
  return def.requestSerialize(message);
}

describe('bad dataset input gets a clear error and changes nothing', () => {
  let dir: string;
  let master: MasterProc;
  let client: LaminateClient;
  let before: DatasetDescription;

  beforeAll(async () => {
    dir = await tempDir();
    master = await startMasterProc(dir);
    client = new LaminateClient(master.address);
    await client.createDataset('events', { partitions: 2 });
    await client.append('events', Array.from({ length: 10 }, (_, i) => ({ i })), { key: 'i' });
    before = await client.describeDataset('events');
  });
  afterAll(async () => {
    // Whatever came before, the dataset is as it was and the master still serves.
    expect(master.proc.exitCode).toBeNull();
    expect(await client.describeDataset('events')).toEqual(before);
    await client.close();
    await master.kill();
    await removeDir(dir);
  });

  it('answers NOT_FOUND for an unknown dataset, whatever the call', async () => {
    for (const call of [
      () => client.describeDataset('nope'),
      () => client.append('nope', [{ a: 1 }]),
      () => client.producer('nope').send({ a: 1 }),
      () => drain(client.read('nope', { partition: 0 })),
    ]) {
      const err = await rejection(call());
      expect(err.code).toBe('NOT_FOUND');
      expect(err.message).toContain("'nope'");
    }
    expect((await client.listDatasets()).map((d) => d.name)).toEqual(['events']);
  });

  it('refuses to create a dataset that exists with other settings, and leaves it as it was', async () => {
    const err = await rejection(client.createDataset('events', { partitions: 3 }));
    expect(err.code).toBe('ALREADY_EXISTS');
    expect(err.message).toMatch(/'events'.*3 partitions.*exists with 2/);
    expect(await client.describeDataset('events')).toEqual(before);
  });

  it('refuses invalid names and partition counts, creating nothing', async () => {
    for (const name of ['', '../escape', 'a/b', '.hidden', 'x'.repeat(129), 'white space']) {
      const err = await rejection(client.createDataset(name, { partitions: 1 }));
      expect(err.code).toBe('INVALID_ARGUMENT');
      expect(err.message).toMatch(/Expected a dataset name of 1 to 128 letters/);
    }
    const ten = await rejection(client.createDataset('ten', { partitions: 'ten' as unknown as number }));
    expect(ten.message).toBe("Expected partitions to be a positive integer, got 'ten'");
    for (const partitions of [0, -1, 1.5]) {
      expect((await rejection(client.createDataset('bad', { partitions }))).message).toBe(`Expected partitions to be a positive integer, got ${partitions}`);
    }
    // Past the client: the server judges what reaches it.
    expect((await rejection(client.createDataset('huge', { partitions: 5000 }))).message).toMatch(/partitions to be a positive integer of at most 1024, got 5000/);
    const negative = await rawUnary(new grpc.Client(master.address, grpc.credentials.createInsecure()), 'CreateDataset', encode('CreateDataset', { name: 'neg', partitions: -5 }));
    expect(negative).toMatchObject({ code: 'INVALID_ARGUMENT' });
    expect((await client.listDatasets()).map((d) => d.name)).toEqual(['events']);
  });

  it('refuses an oversized record, appending nothing of the input it came in', async () => {
    const big = { blob: 'x'.repeat(1024 * 1024 + 10) };
    const err = await rejection(client.append('events', [{ ok: 1 }, big, { ok: 2 }]));
    expect(err.code).toBe('INVALID_ARGUMENT');
    expect(err.message).toMatch(/^Record 1: Expected a record of at most 1048576 bytes encoded, got \d+ bytes/);
    await expect(client.producer('events').send(big)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(client.append('events', 'abc' as unknown as unknown[])).rejects.toThrow("Expected the records to append as an array or an (async) iterable of records, got 'abc'");
    // A body that bypasses the client's check is refused by the store.
    const raw = new grpc.Client(master.address, grpc.credentials.createInsecure());
    const body = Buffer.alloc(4 + 2 * 1024 * 1024, 0xa0);
    body.writeUInt32LE(2 * 1024 * 1024, 0);
    const res = await rawUnary(raw, 'Append', encode('Append', { batches: [{ dataset: 'events', partition: 0, count: 1, body }] }));
    expect(res).toMatchObject({ code: 'INVALID_ARGUMENT' });
    expect((res as LaminateError).message).toMatch(/at most 1048576 bytes/);
    raw.close();
    expect(await client.describeDataset('events')).toEqual(before);
  });

  it('refuses reads of an unknown partition, from beyond the end, and to an end beyond the end', async () => {
    const end0 = before.partitions[0]!.endOffset;
    const unknown = await rejection(drain(client.read('events', { partition: 7 })));
    expect(unknown.code).toBe('NOT_FOUND');
    expect(unknown.message).toMatch(/partition of dataset 'events' from 0 to 1, got 7/);
    const beyond = await rejection(drain(client.read('events', { partition: 0, from: end0 + 1 })));
    expect(beyond.code).toBe('OUT_OF_RANGE');
    expect(beyond.message).toContain(`${end0 + 1}`);
    const endBeyond = await rejection(drain(client.read('events', { partition: 0, from: 0, endOffset: end0 + 5 })));
    expect(endBeyond.code).toBe('OUT_OF_RANGE');
    expect(endBeyond.message).toMatch(new RegExp(`end offset of at most the end of events/0 \\(${end0}\\), got ${end0 + 5}`));
    expect((await rejection(drain(client.read('events', { partition: -1 })))).message).toBe('Expected partition to be a non-negative integer, got -1');
    // At the end exactly: nothing, and no error.
    expect(await drain(client.read('events', { partition: 0, from: end0 }))).toEqual([]);
  });

  it('answers malformed RPCs with errors and keeps serving', async () => {
    const raw = new grpc.Client(master.address, grpc.credentials.createInsecure());
    try {
      const garbage = Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f, 0x12]);
      for (const method of ['CreateDataset', 'DescribeDataset', 'InitProducer', 'Append']) {
        expect(await rawUnary(raw, method, garbage)).toBeInstanceOf(LaminateError);
      }
      expect(await rawRead(raw, garbage)).toBeInstanceOf(LaminateError);

      const body = encodeBody([{ a: 1 }, { a: 2 }]);
      const batch = { dataset: 'events', partition: 0, count: 2, body, producerId: '', sequence: 0 };
      const bad: Array<[string, object, RegExp]> = [
        ['no batches', { batches: [] }, /1 to 4096 batches in an append, got 0/],
        ['a count the body does not hold', { batches: [{ ...batch, count: 3 }] }, /body of 3 records as its count says, got 2/],
        ['a zero count', { batches: [{ ...batch, count: 0 }] }, /record count that is a positive integer, got 0/],
        ['a cut body', { batches: [{ ...batch, body: body.subarray(0, body.length - 1) }] }, /Expected/],
        ['a body that is not msgpack', { batches: [{ ...batch, count: 1, body: Buffer.from([1, 0, 0, 0, 0xc1]) }] }, /msgpack/],
        ['a negative partition', { batches: [{ ...batch, partition: -3 }] }, /from 0 to 1, got -3/],
        ['a negative sequence', { batches: [{ ...batch, producerId: 'p', sequence: -7 }] }, /sequence that is a non-negative integer, got -7/],
        ['a producer id too long', { batches: [{ ...batch, producerId: 'p'.repeat(300), sequence: 0 }] }, /producer id of at most 255/],
        ['a first sequence other than 0', { batches: [{ ...batch, producerId: 'fresh', sequence: 40 }] }, /sequence/],
      ];
      for (const [what, message, re] of bad) {
        const res = await rawUnary(raw, 'Append', encode('Append', message));
        expect(res, what).toBeInstanceOf(LaminateError);
        expect((res as LaminateError).message, what).toMatch(re);
      }
      const reads: Array<[object, string]> = [
        [{ dataset: 'events', partition: 0, from: -5 }, 'INVALID_ARGUMENT'],
        [{ dataset: 'events', partition: 0, from: 0, maxBytes: 1 << 30 }, 'INVALID_ARGUMENT'],
        [{ dataset: 'events', partition: 0, from: 3, endOffset: 1 }, 'INVALID_ARGUMENT'],
        [{ dataset: 'events', partition: 99, from: 0, follow: true }, 'NOT_FOUND'],
        [{ dataset: '', partition: 0, from: 0 }, 'NOT_FOUND'],
      ];
      for (const [req, code] of reads) expect(await rawRead(raw, encode('Read', req)), JSON.stringify(req)).toMatchObject({ code });
      expect(await rawUnary(raw, 'InitProducer', encode('InitProducer', { dataset: 'events', producerId: '' }))).toMatchObject({ code: 'INVALID_ARGUMENT' });
    } finally {
      raw.close();
    }
    expect(master.proc.exitCode).toBeNull();
    expect((await client.listDatasets()).map((d) => d.name)).toEqual(['events']);
    expect(await client.describeDataset('events')).toEqual(before);
  });
});
