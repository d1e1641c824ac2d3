/**
 * A worker's metrics: the containers it starts for task attempts, by kind
 * (cold: a new thread; prestarted: a blank one started ahead; reused: the
 * job's idle one, Hadoop's JVM reuse), attempts it ran by outcome, and the
 * bytes of map outputs its shuffle server (or a node's shuffle service) sent
 * to reducers.
 */
import { counter } from '../common/metrics.js';

export type ContainerStartKind = 'cold' | 'prestarted' | 'reused';

export function containerStarts() {
  return counter({ name: 'laminate_container_starts_total', help: 'Containers given a task attempt, by kind: cold (new thread), prestarted (blank, started ahead), reused (the job\'s idle one)', labelNames: ['kind'] as const });
}

export function attemptsRun() {
  return counter({ name: 'laminate_worker_attempts_total', help: 'Task attempts a worker ran to an end, by kind and outcome', labelNames: ['kind', 'outcome'] as const });
}

export function shuffleBytesSent() {
  return counter({ name: 'laminate_shuffle_sent_bytes_total', help: 'Bytes of map output partitions sent to reducers by this process\'s shuffle server' });
}

/** Counts the chunks of a shuffle fetch as they go out. */
export async function* countShuffleBytes(chunks: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  const sent = shuffleBytesSent();
  for await (const chunk of chunks) {
    sent.inc(chunk.byteLength);
    yield chunk;
  }
}
