/**
 * The floor of a view build: one process reads the serving benchmark's
 * records (a file of u32-length-framed msgpack records, as a dataset's
 * record bodies are), folds them into a Map (the largest value per key, as
 * the view's merge), sorts the keys, and writes key and msgpack value,
 * length-framed, to one file with an fsync at the end. No checksums, no
 * index, no network.
 *
 *   node dist/bench/baselines/serving-floor.js RECORDS_FILE OUTPUT
 * Prints the number of keys.
 */
import { closeSync, fsyncSync, openSync, readSync, writeSync } from 'node:fs';
import { pack, unpack } from 'msgpackr';
import type { KvRecord } from '../data-gen/kv-records.js';

const [input, output] = process.argv.slice(2);
if (!input || !output) throw new Error('usage: serving-floor RECORDS_FILE OUTPUT');
const folded = new Map<string, string>();
const inFd = openSync(input, 'r');
let buf = Buffer.allocUnsafe(4 * 1024 * 1024);
let have = 0;
for (;;) {
  const n = readSync(inFd, buf, have, buf.length - have, null);
  have += n;
  let p = 0;
  while (p + 4 <= have) {
    const len = buf.readUInt32LE(p);
    if (p + 4 + len > have) break;
    const r = unpack(buf.subarray(p + 4, p + 4 + len)) as KvRecord;
    const before = folded.get(r.key);
    if (before === undefined || r.value > before) folded.set(r.key, r.value);
    p += 4 + len;
  }
  buf.copy(buf, 0, p, have);
  have -= p;
  if (n === 0) break;
  if (have === buf.length) buf = Buffer.concat([buf, Buffer.allocUnsafe(buf.length)]);
}
closeSync(inFd);
const keys = [...folded.keys()].sort();
const out = Buffer.allocUnsafe(1024 * 1024 + 64 * 1024);
const fd = openSync(output, 'w');
let used = 0;
for (const k of keys) {
  const kb = Buffer.from(k);
  const vb = pack(folded.get(k));
  out.writeUInt16LE(kb.length, used);
  kb.copy(out, used + 2);
  used += 2 + kb.length;
  out.writeUInt32LE(vb.length, used);
  out.set(vb, used + 4);
  used += 4 + vb.length;
  if (used >= 1024 * 1024) {
    writeSync(fd, out, 0, used);
    used = 0;
  }
}
writeSync(fd, out, 0, used);
fsyncSync(fd);
closeSync(fd);
process.stdout.write(`${keys.length}\n`);
