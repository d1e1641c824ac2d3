/**
 * The streaming benchmark's event source, as a process of its own (so that
 * its event loop is not shared with the benchmark's queries): YSB events
 * from a seed, appended in open loop at a fixed rate through one
 * LaminateClient producer.
 *
 *   node dist/bench/streaming/appender.js --master ADDR --dataset NAME --rate R --events N --start-ms T [--seed S] [--tolerance-ms MS]
 *
 * Event i is due at T + i * 1000 / R (epoch ms) and carries that time as its
 * event_time. Prints one JSON line a second, `{"progress":{"sent":..,"behindMs":..}}`,
 * and at the end `{"stats":{...},"cpuS":..}` (OpenLoopStats, and this process's CPU seconds) once every event is durable.
 * SIGTERM stops it early (the stats then say how many it sent).
 */
import { LaminateClient } from '../../src/client/laminate-client.js';
import { numberArg } from '../args.js';
import { realClock, runOpenLoop } from './open-loop.js';
import { YsbGenerator } from './ysb-generator.js';

function stringArg(name: string): string {
  const i = process.argv.indexOf(`--${name}`);
  const v = i < 0 ? undefined : process.argv[i + 1];
  if (v === undefined || v.startsWith('--')) throw new Error(`Expected --${name} VALUE`);
  return v;
}

async function main(): Promise<void> {
  const master = stringArg('master');
  const dataset = stringArg('dataset');
  const rate = numberArg('rate', 0);
  const events = numberArg('events', 0, true);
  const startMs = numberArg('start-ms', 0, true);
  const seed = numberArg('seed', 20261203, true);
  const toleranceMs = numberArg('tolerance-ms', 1000);
  if (rate <= 0 || events <= 0 || startMs <= 0) throw new Error('Expected --rate, --events and --start-ms');
  const client = new LaminateClient(master);
  const ac = new AbortController();
  process.once('SIGTERM', () => ac.abort());
  try {
    // The connection is made (and the dataset known) before the schedule starts.
    await client.describeDataset(dataset);
    const producer = client.producer(dataset, {});
    const gen = new YsbGenerator(seed, { startMs, rate });
    const stats = await runOpenLoop(gen, producer, realClock, {
      rate, events, startMs, toleranceMs, signal: ac.signal,
      onProgress: (p) => process.stdout.write(`${JSON.stringify({ progress: p })}\n`),
    });
    const cpu = process.cpuUsage();
    process.stdout.write(`${JSON.stringify({ stats, cpuS: (cpu.user + cpu.system) / 1e6 })}\n`);
  } finally {
    await client.close();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`appender: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
  process.exitCode = 1;
});
