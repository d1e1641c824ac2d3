/**
 * TeraValidate for the sort benchmark: keys never decrease within a file and
 * across files read in order, and the sum of the records' CRC-32s equals the
 * input's (so no record is lost, duplicated or changed). Also a CRC of the
 * key sequence, so two sorted outputs can be shown to agree key by key.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { CrcSum, KEY_BYTES, RECORD_BYTES } from '../data-gen/gensort.js';
import { forEachLine } from './lines.js';

export interface SortCheck {
  records: number;
  /** Sum of the records' CRC-32s, hex (valsort's checksum). */
  crcSum: string;
  /** First place where a key is smaller than the one before, or null. */
  disorder: string | null;
  /** CRC-32 of all keys in order. */
  keySequenceCrc: number;
}

class Checker {
  private readonly prev = Buffer.alloc(KEY_BYTES);
  private readonly sum = new CrcSum();
  private readonly record = Buffer.alloc(RECORD_BYTES);
  private records = 0;
  private disorder: string | null = null;
  private keyCrc = 0;

  /** A record whose key is key[ks, ks + 10) of buf and whose 100 bytes are in `record`. */
  private check(buf: Buffer, ks: number, where: string): void {
    if (this.records > 0 && this.disorder === null) {
      for (let i = 0; i < KEY_BYTES; i++) {
        const d = buf[ks + i]! - this.prev[i]!;
        if (d < 0) { this.disorder = `record ${this.records} (${where}): key '${buf.toString('latin1', ks, ks + KEY_BYTES)}' after '${this.prev.toString('latin1')}'`; break; }
        if (d > 0) break;
      }
    }
    buf.copy(this.prev, 0, ks, ks + KEY_BYTES);
    this.keyCrc = crc32(this.prev, this.keyCrc);
    this.sum.add(crc32(this.record));
    this.records++;
  }

  /** A gensort line (CR LF stripped of its LF by the line reader). */
  gensortLine(buf: Buffer, start: number, end: number, where: string): void {
    if (end - start !== RECORD_BYTES - 1) throw new Error(`a line of ${end - start + 1} bytes in ${where}, expected ${RECORD_BYTES}`);
    buf.copy(this.record, 0, start, end);
    this.record[RECORD_BYTES - 1] = 10;
    this.check(buf, start, where);
  }

  /** A Laminate line: key TAB value; the record is key + value + CR LF. */
  laminateLine(buf: Buffer, start: number, end: number, where: string): void {
    if (end - start !== RECORD_BYTES - 1 || buf[start + KEY_BYTES] !== 9) throw new Error(`unexpected line in ${where}: '${buf.toString('latin1', start, end)}'`);
    buf.copy(this.record, 0, start, start + KEY_BYTES);
    buf.copy(this.record, KEY_BYTES, start + KEY_BYTES + 1, end);
    this.record[RECORD_BYTES - 2] = 13;
    this.record[RECORD_BYTES - 1] = 10;
    this.check(buf, start, where);
  }

  result(): SortCheck {
    return { records: this.records, crcSum: this.sum.hex(), disorder: this.disorder, keySequenceCrc: this.keyCrc >>> 0 };
  }
}

/** Validates a file in gensort -a layout (the input, or GNU sort's output). */
export function checkGensortFile(path: string): SortCheck {
  const c = new Checker();
  forEachLine(path, (buf, s, e) => c.gensortLine(buf, s, e, path));
  return c.result();
}

/** Validates a Laminate output folder: its part files in name order. */
export function checkLaminateOutput(dir: string): SortCheck & { parts: number } {
  const c = new Checker();
  const parts = readdirSync(dir).filter((f) => f.startsWith('part-')).sort();
  for (const f of parts) forEachLine(join(dir, f), (buf, s, e) => c.laminateLine(buf, s, e, f));
  return { ...c.result(), parts: parts.length };
}
