/**
 * `npm start`: the Lambda Architecture on one machine. An embedded cluster
 * (master, two workers, a serving node, a speed process), a clickstream
 * appended at a steady rate, a view of page views per page and minute that
 * the batch layer rebuilds every 20 s, and a live table of the top pages,
 * each count split into the part the batch version holds and the part the
 * speed layer adds, with the answer's coverage and freshness. At the end
 * every answer shown is checked against a fold of the log up to the offsets
 * its coverage names (src/cli/demo/demo-check.ts), and the verdict printed.
 */
import type { Duration } from '../../api/view.js';
import type { LaminateClient } from '../../client/laminate-client.js';
import type { Coverage } from '../../common/serving-shapes.js';
import { clickGenerator } from './clickstream.js';
import { DemoReferee, type SeenAnswer } from './demo-check.js';

export interface DemoOptions {
  readonly client: LaminateClient;
  /** The view module (page views per page and minute over `clicks`). */
  readonly viewFile: string;
  readonly seconds: number;
  /** Clicks appended per second. */
  readonly rate: number;
  readonly buildEvery: Duration;
  readonly out: NodeJS.WritableStream & { isTTY?: boolean };
}

const DATASET = 'clicks';
const VIEW = 'page-views-per-minute';
const PARTITIONS = 4;
const TOP = 10;

interface Snapshot {
  readonly coverage: Coverage;
  readonly counts: Map<string, number>;
}

async function snapshot(client: LaminateClient, batchOnly: boolean, version?: number): Promise<Snapshot> {
  const scan = client.scan(VIEW, { batchOnly, ...(version !== undefined ? { version } : {}) });
  const counts = new Map<string, number>();
  for await (const e of scan) {
    const [page, minute] = e.key as [string, number];
    counts.set(`${page}|${minute}`, e.value as number);
  }
  return { coverage: scan.coverage!, counts };
}

/** Waits (up to 30 s) until a serving node has loaded the view's first version: it learns of it at its next heartbeat. */
async function servedSoon(client: LaminateClient): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      await client.get(VIEW, ['home', 0], { batchOnly: true });
      return;
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

function perPage(counts: ReadonlyMap<string, number>): Map<string, number> {
  const pages = new Map<string, number>();
  for (const [k, v] of counts) {
    const page = k.slice(0, k.lastIndexOf('|'));
    pages.set(page, (pages.get(page) ?? 0) + v);
  }
  return pages;
}

function sum(xs: readonly number[]): number {
  return xs.reduce((a, b) => a + b, 0);
}

function table(batch: Snapshot, merged: Snapshot, elapsedS: number, appended: number): string[] {
  const b = perPage(batch.counts);
  const m = perPage(merged.counts);
  const top = [...m.entries()].sort((x, y) => y[1] - x[1] || (x[0] < y[0] ? -1 : 1)).slice(0, TOP);
  const c = merged.coverage;
  const lines = [
    `t+${elapsedS.toFixed(0).padStart(3)} s  appended ${appended}  batch v${c.version} counts ${sum(c.cut)} records (cut [${c.cut.join(',')}])`,
    c.speed !== undefined
      ? `         speed side to [${c.speed.join(',')}]: +${sum(c.speed) - sum(c.cut)} records, lag ${c.lag ?? 0}, fresh within ${c.freshnessMs ?? '?'} ms`
        + ((c.uncovered?.length ?? 0) > 0 ? `, uncovered: ${c.uncovered!.map((u) => `p${u.partition} (${u.reason})`).join(', ')}` : '')
      : '         no speed side in this answer (batch only)',
    '',
    `  ${'page'.padEnd(16)}${'batch'.padStart(9)}${'+ speed'.padStart(9)}${'= views'.padStart(9)}`,
  ];
  for (const [page, total] of top) {
    const fromBatch = b.get(page) ?? 0;
    lines.push(`  ${page.padEnd(16)}${String(fromBatch).padStart(9)}${String(total - fromBatch).padStart(9)}${String(total).padStart(9)}`);
  }
  return lines;
}

/** What a demo run saw. */
export interface DemoResult {
  /** Every answer equalled the fold of the log up to its coverage. */
  readonly exact: boolean;
  /** Answers checked (merged and batch-only). */
  readonly answers: number;
  /** The batch versions the answers read, in order, without repeats. */
  readonly versions: readonly number[];
  /** The most records a merged answer counted beyond its version's cut (the speed side's part). */
  readonly maxSpeedRecords: number;
}

/**
 * Runs the demo against a running cluster with a serving node and a speed
 * process, drawing on `o.out`.
 */
export async function runLambdaDemo(o: DemoOptions): Promise<DemoResult> {
  const { client, out } = o;
  await client.createDataset(DATASET, { partitions: PARTITIONS });
  // Version 1 is built on demand before the schedule starts: deployed with
  // --every at once, the scheduler's first build (due right after deploy)
  // could start before ours, and ours would be refused as a second build.
  await client.deployView(o.viewFile, { name: VIEW });
  await client.buildView(VIEW, { wait: true });
  await client.deployView(o.viewFile, { name: VIEW, every: o.buildEvery });
  await servedSoon(client);

  const next = clickGenerator(20261201);
  const producer = client.producer(DATASET, { lingerMs: 20 });
  let appended = 0;
  const started = Date.now();
  const tickMs = 50;
  // write(): no promise per record. It throws once the producer has failed: kept, and thrown by the loop below.
  let appendFailure: unknown;
  const appender = setInterval(() => {
    const due = Math.floor(((Date.now() - started) * o.rate) / 1000) - appended;
    const now = Date.now();
    try {
      for (let i = 0; i < due; i++) producer.write(next(now));
    } catch (err) {
      appendFailure = err;
      clearInterval(appender);
    }
    appended += Math.max(0, due);
  }, tickMs);

  const seen: SeenAnswer[] = [];
  const versions: number[] = [];
  let maxSpeedRecords = 0;
  let drawn = 0;
  const draw = (lines: string[]): void => {
    if (out.isTTY === true && drawn > 0) out.write(`\x1b[${drawn}A\x1b[J`);
    out.write(`${lines.join('\n')}\n`);
    drawn = out.isTTY === true ? lines.length : 0;
  };
  try {
    let lastPrinted = 0;
    while (Date.now() - started < o.seconds * 1000) {
      await new Promise((r) => setTimeout(r, 1000));
      if (appendFailure !== undefined) throw appendFailure;
      const merged = await snapshot(client, false);
      // The same version read batch-only: the batch part of each count.
      const batch = await snapshot(client, true, merged.coverage.version);
      seen.push({ at: Date.now(), merged: true, upTo: merged.coverage.speed ?? merged.coverage.cut, counts: merged.counts });
      if (versions.at(-1) !== merged.coverage.version) versions.push(merged.coverage.version);
      maxSpeedRecords = Math.max(maxSpeedRecords, sum(merged.coverage.speed ?? merged.coverage.cut) - sum(merged.coverage.cut));
      seen.push({ at: Date.now(), merged: false, upTo: batch.coverage.cut, counts: batch.counts });
      if (out.isTTY === true || Date.now() - lastPrinted >= 5000) {
        draw(table(batch, merged, (Date.now() - started) / 1000, appended));
        lastPrinted = Date.now();
      }
    }
  } finally {
    clearInterval(appender);
    await producer.flush();
  }

  const referee = new DemoReferee(client, DATASET, PARTITIONS);
  let failures = 0;
  for (const a of seen) {
    const why = await referee.check(a);
    if (why !== undefined && failures++ < 5) out.write(`MISMATCH in the ${a.merged ? 'merged' : 'batch-only'} answer at t+${((a.at - started) / 1000).toFixed(1)} s: ${why}\n`);
  }
  const mergedCount = seen.filter((a) => a.merged).length;
  out.write(`\nChecked ${seen.length} answers (${mergedCount} batch + speed, ${seen.length - mergedCount} batch only) against a sequential fold of the log up to each answer's coverage: `
    + (failures === 0 ? 'every one exact.\n' : `${failures} wrong.\n`));
  return { exact: failures === 0, answers: seen.length, versions, maxSpeedRecords };
}
