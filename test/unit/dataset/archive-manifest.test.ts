import { describe, expect, it } from 'vitest';
import {
  archivedEnd, archivedSegmentAt, archiveManifestKey, archiveSegmentKey, emptyManifest, encodeManifest, parseManifest, segmentsToCopy, withSegment,
  type ArchivedSegment, type SealedSegmentInfo,
} from '../../../src/dataset/archive-manifest.js';
import { cutAtSegments } from '../../../src/dataset/archive-splits.js';
import { intBelow, rng, throwsWith } from './helpers.js';

/** Sealed segments of a log with these base offsets, ending at `end`. */
function sealed(bases: readonly number[], end: number): SealedSegmentInfo[] {
  return bases.map((b, i) => ({ baseOffset: b, endOffset: bases[i + 1] ?? end, bytes: 100 * ((bases[i + 1] ?? end) - b), path: `/d/${b}.log` }));
}

function entry(s: SealedSegmentInfo): ArchivedSegment {
  return { baseOffset: s.baseOffset, endOffset: s.endOffset, bytes: s.bytes, crc32: s.baseOffset * 7 + 1 };
}

describe('archive manifest (pure)', () => {
  it('copies the sealed segments from the manifest\'s end on, in order, and nothing when it is caught up', () => {
    const log = sealed([0, 10, 25, 40], 60);
    let m = emptyManifest('clicks', 2);
    expect(segmentsToCopy(log, m).map((s) => s.baseOffset)).toEqual([0, 10, 25, 40]);
    m = withSegment(m, entry(log[0]!));
    m = withSegment(m, entry(log[1]!));
    expect(archivedEnd(m)).toBe(25);
    expect(segmentsToCopy(log, m).map((s) => s.baseOffset)).toEqual([25, 40]);
    // Repeating the question before the manifest changes gives the same answer: a resumed archiver copies exactly that again.
    expect(segmentsToCopy(log, m).map((s) => s.baseOffset)).toEqual([25, 40]);
    for (const s of log.slice(2)) m = withSegment(m, entry(s));
    expect(segmentsToCopy(log, m)).toEqual([]);
    // A log with nothing sealed yet has nothing to copy.
    expect(segmentsToCopy([], emptyManifest('clicks', 2))).toEqual([]);
  });

  it('refuses an archive whose end is no segment start of the local log, and a segment that leaves a gap', () => {
    const log = sealed([0, 10, 25], 40);
    const other = withSegment(emptyManifest('clicks', 0), { baseOffset: 0, endOffset: 12, bytes: 5, crc32: 1 });
    throwsWith(() => segmentsToCopy(log, other), 'DATA_LOSS', /end at the start of a local sealed segment, got its end 12 .* start at 0, 10, 25/);
    throwsWith(() => withSegment(emptyManifest('clicks', 0), { baseOffset: 10, endOffset: 25, bytes: 5, crc32: 1 }), 'INTERNAL', /cover offsets from 0, got \[10, 25\)/);
    throwsWith(() => withSegment(emptyManifest('clicks', 0), { baseOffset: 0, endOffset: 0, bytes: 5, crc32: 1 }), 'INTERNAL');
  });

  it('reads back what it stores, and rejects a manifest of another partition, with a gap, or not JSON', () => {
    let m = emptyManifest('clicks', 3);
    for (const s of sealed([0, 10, 25], 40)) m = withSegment(m, entry(s));
    expect(parseManifest(encodeManifest(m), 'clicks', 3, 'x')).toEqual(m);
    throwsWith(() => parseManifest(encodeManifest(m), 'clicks', 1, 's3://a/m.json'), 'DATA_LOSS', /partition 1 at s3:\/\/a\/m.json, got one of dataset 'clicks' partition 3/);
    const gap = JSON.parse(encodeManifest(m)) as { segments: ArchivedSegment[] };
    gap.segments.splice(1, 1);
    throwsWith(() => parseManifest(JSON.stringify(gap), 'clicks', 3, 'x'), 'DATA_LOSS', /gap or an overlap/);
    throwsWith(() => parseManifest('{"version":1', 'clicks', 3, 'x'), 'DATA_LOSS', /not JSON/);
    throwsWith(() => parseManifest(JSON.stringify({ ...m, version: 2 }), 'clicks', 3, 'x'), 'DATA_LOSS', /version 2/);
  });

  it('finds the archived segment of an offset, and names keys under the prefix by partition and base offset', () => {
    let m = emptyManifest('clicks', 0);
    for (const s of sealed([0, 10, 25], 40)) m = withSegment(m, entry(s));
    expect([0, 9, 10, 24, 25, 39].map((o) => archivedSegmentAt(m, o)?.baseOffset)).toEqual([0, 0, 10, 10, 25, 25]);
    expect(archivedSegmentAt(m, 40)).toBeUndefined();
    expect(archiveSegmentKey('lake/ds/', 'clicks', 3, 1200)).toBe('lake/ds/clicks/p-0003/00000000000000001200.log');
    expect(archiveManifestKey('lake/ds', 'clicks', 3)).toBe('lake/ds/clicks/p-0003/manifest.json');
  });
});

describe('cutAtSegments (pure)', () => {
  it('tiles each range with pieces inside one archived segment each, then one past the archived end', () => {
    const random = rng(405);
    for (let round = 0; round < 300; round++) {
      const bases = [0];
      for (let i = 0, n = intBelow(random, 6); i < n; i++) bases.push(bases.at(-1)! + 1 + intBelow(random, 20));
      const archivedTo = bases.at(-1)! + 1 + intBelow(random, 20);
      const segments = sealed(bases, archivedTo).map(entry);
      const start = intBelow(random, archivedTo + 10);
      const end = start + 1 + intBelow(random, archivedTo + 10);
      const pieces = cutAtSegments(start, end, segments);
      let at = start;
      for (const p of pieces) {
        expect(p.startOffset).toBe(at);
        expect(p.endOffset).toBeGreaterThan(p.startOffset);
        if (p.segment === undefined) {
          // Only the last piece lies past the archive, and wholly.
          expect(p).toBe(pieces.at(-1));
          expect(p.startOffset).toBeGreaterThanOrEqual(archivedTo);
        } else {
          expect(p.startOffset).toBeGreaterThanOrEqual(p.segment.baseOffset);
          expect(p.endOffset).toBeLessThanOrEqual(p.segment.endOffset);
        }
        at = p.endOffset;
      }
      expect(at).toBe(end);
    }
  });
});
