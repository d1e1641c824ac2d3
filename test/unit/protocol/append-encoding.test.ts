import { describe, expect, it } from 'vitest';
import type * as grpc from '@grpc/grpc-js';
import { allocateAppendBuffer, APPEND_HEADROOM_BYTES, encodeAppendRequest } from '../../../src/protocol/append-encoding.js';
import type { AppendRequest, WireAppendBatch } from '../../../src/protocol/dataset-messages.js';
import { services } from '../../../src/protocol/load.js';

const method = (): grpc.MethodDefinition<AppendRequest, unknown> => services().dataset.Append as grpc.MethodDefinition<AppendRequest, unknown>;

function body(bytes: number, seed: number, headroom: boolean): Buffer {
  const b = headroom ? allocateAppendBuffer(bytes) : Buffer.allocUnsafe(bytes);
  for (let i = 0; i < bytes; i++) b[i] = (i * 31 + seed) & 255;
  return b;
}

function batch(over: Partial<WireAppendBatch>, bodyBytes: number, headroom: boolean): WireAppendBatch {
  return { dataset: 'clicks', partition: 3, producerId: 'p-1', sequence: 1200, count: 7, replay: false, body: body(bodyBytes, bodyBytes, headroom), ...over };
}

/** What protobufjs decodes the bytes into, with the body as plain bytes. */
function decoded(bytes: Buffer): unknown {
  const req = method().requestDeserialize(bytes) as AppendRequest;
  return req.batches.map((b) => ({ ...b, body: [...b.body] }));
}
const expected = (req: AppendRequest): unknown => req.batches.map((b) => ({ ...b, body: [...b.body] }));

describe('Append request encoding', () => {
  const cases: Array<[string, Partial<WireAppendBatch>, number]> = [
    ['a producer batch', {}, 1000],
    ['defaults everywhere (zeros, empty producer id)', { partition: 0, producerId: '', sequence: 0, count: 0 }, 10],
    ['a replay, a large sequence and a multi-byte body length', { replay: true, sequence: 2 ** 40 + 5, count: 70_000, partition: 2 ** 31 - 1 }, 300_000],
    ['names beyond ASCII', { dataset: 'd-é', producerId: 'producteur-ü-€'.repeat(10) }, 5],
    ['an empty body', {}, 0],
  ];
  for (const [name, over, bytes] of cases) {
    it(`decodes as protobufjs encodes, with and without headroom: ${name}`, () => {
      for (const headroom of [false, true]) {
        const req = { batches: [batch(over, bytes, headroom)] };
        const before = Buffer.from(req.batches[0]!.body);
        const out = encodeAppendRequest(req)!;
        expect(decoded(out)).toEqual(expected(req));
        // protobufjs also writes fields at their defaults (replay false, say); never fewer bytes than this encoder.
        expect(out.length).toBeLessThanOrEqual(method().requestSerialize(req).length);
        expect(req.batches[0]!.body.equals(before)).toBe(true);
        if (headroom) {
          // No copy: the request is the region just before and over the body, in the body's own memory.
          expect(out.buffer).toBe(req.batches[0]!.body.buffer);
          expect(out.byteOffset + out.length).toBe(APPEND_HEADROOM_BYTES + bytes);
        } else {
          // A copy: small buffers may share Node's pool, but never these bytes.
          const b = req.batches[0]!.body;
          expect(out.buffer !== b.buffer || out.byteOffset >= b.byteOffset + b.length || out.byteOffset + out.length <= b.byteOffset).toBe(true);
        }
      }
    });
  }

  it('encodes several batches into one buffer, and leaves values it does not write to protobufjs', () => {
    const req = { batches: [batch({}, 100, true), batch({ dataset: 'other', partition: 0, replay: true }, 5000, false), batch({ producerId: '' }, 1, true)] };
    const out = encodeAppendRequest(req)!;
    expect(decoded(out)).toEqual(expected(req));
    for (const bad of [{ partition: -1 }, { count: -2 }, { sequence: -1 }, { sequence: 2 ** 60 }, { partition: 2 ** 31 }, { partition: 1.5 }]) {
      expect(encodeAppendRequest({ batches: [batch(bad, 10, true)] })).toBeUndefined();
    }
  });

  it('copies a body whose header does not fit in the headroom', () => {
    const req = { batches: [batch({ dataset: 'd'.repeat(APPEND_HEADROOM_BYTES) }, 100, true)] };
    const out = encodeAppendRequest(req)!;
    expect(out.buffer).not.toBe(req.batches[0]!.body.buffer);
    expect(decoded(out)).toEqual(expected(req));
  });
});
