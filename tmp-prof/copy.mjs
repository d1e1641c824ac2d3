const blocks = Array.from({ length: 7000 }, () => Buffer.alloc(16384, 7));
const out = Buffer.allocUnsafeSlow(65536);
function loop(v, s, e, buf, pos) { const n = e - s; for (let i = 0; i < n; i++) buf[pos + i] = v[s + i]; }
function cp(v, s, e, buf, pos) { v.copy(buf, pos, s, e); }
const setv = (v, s, e, buf, pos) => buf.set(v.subarray(s, e), pos);
for (const [name, f] of [['loop', loop], ['copy', cp], ['set', setv], ['loop', loop], ['copy', cp], ['set', setv]]) {
  for (const seq of [false, true]) {
    let pos = 0; let x = 12345;
    const N = 2_000_000; const t = performance.now();
    for (let k = 0; k < N; k++) {
      x = (x * 1103515245 + 12345) >>> 0;
      const b = blocks[seq ? (k >> 7) % 7000 : x % 7000]; const s = seq ? (k & 127) * 120 : (x >>> 8) % 16000;
      f(b, s, s + 110, out, pos); pos += 110; if (pos > 65000) pos = 0;
    }
    console.log(name, seq ? 'seq' : 'rand', ((performance.now() - t) * 1e6 / N).toFixed(0), 'ns');
  }
}
