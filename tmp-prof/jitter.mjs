// Wake-up jitter probe: a parked sender at RATE/s to an echo process over UDP on 127.0.0.1; latency from the intended send.
import dgram from 'node:dgram';
import { fork } from 'node:child_process';
if (process.argv[2] === 'echo') {
  const s = dgram.createSocket('udp4');
  s.on('message', (m, r) => s.send(m, r.port, r.address));
  s.bind(0, '127.0.0.1', () => process.send(s.address().port));
} else {
  const rate = Number(process.argv[2] ?? 1000), secs = 5;
  const child = fork(new URL(import.meta.url), ['echo']);
  const port = await new Promise((r) => child.once('message', r));
  const s = dgram.createSocket('udp4');
  const lat = [];
  s.on('message', (m) => { lat.push(performance.now() - m.readDoubleLE(0)); });
  await new Promise((r) => s.bind(0, '127.0.0.1', r));
  const park = new Int32Array(new SharedArrayBuffer(4));
  const t0 = performance.now() + 50, total = rate * secs, iv = 1000 / rate;
  let sent = 0; const late = [];
  while (sent < total) {
    const now = performance.now();
    for (; sent < total && t0 + sent * iv <= now; sent++) { const b = Buffer.alloc(8); b.writeDoubleLE(t0 + sent * iv); late.push(now - (t0 + sent*iv)); s.send(b, port, '127.0.0.1'); }
    const left = t0 + sent * iv - performance.now();
    if (left > 0) Atomics.wait(park, 0, 0, Math.min(left, 0.1));
    await new Promise((r) => setImmediate(r));
  }
  await new Promise((r) => setTimeout(r, 200));
  const q = (a, p) => { a.sort((x, y) => x - y); return a[Math.floor(a.length * p)].toFixed(3); };
  console.log(`rate ${rate}: got ${lat.length}/${total} p50 ${q(lat, .5)} p99 ${q(lat, .99)} max ${q(lat, .9999)} ms; late p99 ${q(late, .99)} max ${q(late,.9999)}`);
  child.kill(); s.close();
}
