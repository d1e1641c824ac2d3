/**
 * The floor for any Node.js log: one process generates the benchmark's
 * events, encodes each as msgpack, frames it (u32 length, then the bytes,
 * as the dataset's record body does), and appends to one file, calling
 * fsync once per MiB written and once at the end. No checksums, no
 * offsets, no network: what is left is the cost every durable log pays.
 *
 *   node dist/bench/baselines/ingest-floor.js OUTPUT RECORDS SEED
 * Prints `records bytes` on stdout.
 */
import { closeSync, fsyncSync, openSync, writeSync } from 'node:fs';
import { pack } from 'msgpackr';
import { YsbEventGenerator } from '../data-gen/ysb-events.js';

const [output, recordsArg, seedArg] = process.argv.slice(2);
if (!output || !recordsArg || !seedArg) throw new Error('usage: ingest-floor OUTPUT RECORDS SEED');
const records = Number(recordsArg);
const gen = new YsbEventGenerator(Number(seedArg));
const MiB = 1024 * 1024;
const buf = Buffer.allocUnsafe(MiB + 64 * 1024);
const fd = openSync(output, 'w');
let used = 0;
let total = 0;
for (let i = 0; i < records; i++) {
  const bytes = pack(gen.next());
  buf.writeUInt32LE(bytes.length, used);
  buf.set(bytes, used + 4);
  used += 4 + bytes.length;
  if (used >= MiB) {
    writeSync(fd, buf, 0, used);
    fsyncSync(fd);
    total += used;
    used = 0;
  }
}
writeSync(fd, buf, 0, used);
fsyncSync(fd);
total += used;
closeSync(fd);
process.stdout.write(`${records} ${total}\n`);
