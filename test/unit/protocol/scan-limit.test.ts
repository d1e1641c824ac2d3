import { describe, expect, it } from 'vitest';
import { wireScanLimit } from '../../../src/protocol/scan-limit.js';
import { ServingClient } from '../../../src/protocol/serving-rpc.js';
import { SpeedClient } from '../../../src/protocol/speed-rpc.js';

describe('a scan limit on the wire', () => {
  it('is 0 for none and the limit itself otherwise; a limit of 0 (which the wire would read as none) is refused', () => {
    expect(wireScanLimit(undefined)).toBe(0);
    expect(wireScanLimit(7)).toBe(7);
    for (const bad of [0, -1, 1.5]) expect(() => wireScanLimit(bad)).toThrow(/Expected a scan limit of at least 1/);
  });

  it('is refused by the Serving and Speed clients before anything is sent, rather than answered with every key', async () => {
    // Nothing listens there: a call sent would fail UNAVAILABLE, not INVALID_ARGUMENT.
    const serving = new ServingClient('127.0.0.1:1');
    const speed = new SpeedClient('127.0.0.1:1');
    try {
      await expect((async () => {
        for await (const _ of serving.scan({ view: 'v', limit: 0 })) { /* nothing */ }
      })()).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
      await expect(speed.scan({ view: 'v', cut: [0], limit: 0 })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    } finally {
      serving.close();
      speed.close();
    }
  });
});
