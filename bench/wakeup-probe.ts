/**
 * The machine's own round trip between two processes, measured just before
 * the open-loop Gets: a sender fires UDP datagrams of 8 bytes on 127.0.0.1 at
 * a fixed rate to a forked echo process that does nothing else, each round
 * trip timed from its intended send, as the Gets are. No gRPC, no HTTP/2, no
 * lookup: what is left is waking the echo (and, on timers, the sender) and
 * the kernel's loopback. The Get's p99 cannot be below it, and on a shared
 * virtual machine it is neither small nor steady (bench/README.md, serving,
 * 2 December evening, sender on timers: p99 2.83 to 15.59 ms, max 6 to 33
 * ms at 8,000/s on an EPYC with nothing else running), so it is printed
 * beside the Gets to say which part of their tail is the machine's.
 *
 * The sender waits between sends as the Get generator does (send-pacing.ts:
 * spinning, or by timer), so the two are timed alike.
 */
import { fork } from 'node:child_process';
import dgram from 'node:dgram';
import { once } from 'node:events';
import { waitUntil } from './send-pacing.js';

export interface WakeupProbe {
  readonly rate: number;
  /** Whether the sender spun between sends (else slept on timers). */
  readonly spin: boolean;
  readonly sent: number;
  readonly received: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Round trips at `rate` per second for `seconds` to a forked echo process; resolves once it has exited. */
export async function probeWakeups(rate = 8000, seconds = 3, spin = true): Promise<WakeupProbe> {
  const echo = fork(new URL(import.meta.url), ['--echo'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const socket = dgram.createSocket('udp4');
  try {
    // The echo's port, or its exit (it failed to start) as an error rather than a wait without end.
    const ac = new AbortController();
    const exited = once(echo, 'exit', { signal: ac.signal }).then(([code]) => {
      throw new Error(`the wake-up probe's echo process exited (${String(code)}) before it listened`);
    });
    let port: number;
    try {
      [port] = (await Promise.race([once(echo, 'message', { signal: ac.signal }), exited])) as [number];
    } finally {
      ac.abort();
      exited.catch(() => undefined);
    }
    const rtts: number[] = [];
    socket.on('message', (m: Buffer) => rtts.push(performance.now() - m.readDoubleLE(0)));
    socket.bind(0, '127.0.0.1');
    await once(socket, 'listening');
    const total = Math.round(rate * seconds);
    const interval = 1000 / rate;
    const t0 = performance.now() + 20;
    let sent = 0;
    while (sent < total) {
      const now = performance.now();
      for (; sent < total && t0 + sent * interval <= now; sent++) {
        const b = Buffer.allocUnsafe(8);
        b.writeDoubleLE(t0 + sent * interval, 0);
        socket.send(b, port, '127.0.0.1');
      }
      if (sent < total) await waitUntil(t0 + sent * interval, spin);
    }
    await sleep(200);
    rtts.sort((a, b) => a - b);
    const at = (q: number): number => rtts[Math.min(rtts.length - 1, Math.floor(rtts.length * q))] ?? NaN;
    return { rate, spin, sent: total, received: rtts.length, p50Ms: at(0.5), p99Ms: at(0.99), maxMs: rtts[rtts.length - 1] ?? NaN };
  } finally {
    socket.close();
    echo.kill('SIGTERM');
    if (echo.exitCode === null && echo.signalCode === null) await once(echo, 'exit');
  }
}

export function formatWakeupProbe(p: WakeupProbe): string {
  return `the machine alone just before (UDP echo from a sender to an idle process, ${p.rate}/s, sender ${p.spin ? 'spinning' : 'on timers'}, ${p.received} of ${p.sent} round trips, timed from the intended send): ` +
    `p50 ${p.p50Ms.toFixed(2)} ms, p99 ${p.p99Ms.toFixed(2)}, max ${p.maxMs.toFixed(2)}`;
}

if (process.argv[2] === '--echo') {
  const socket = dgram.createSocket('udp4');
  socket.on('message', (m, from) => socket.send(m, from.port, from.address));
  socket.bind(0, '127.0.0.1', () => process.send?.(socket.address().port));
  process.on('SIGTERM', () => {
    socket.close();
    process.disconnect();
  });
}
