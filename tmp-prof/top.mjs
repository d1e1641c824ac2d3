import { readFileSync } from 'node:fs';
// self time per function within [from,to] seconds of the profile; argv: file from to topN
const [file, from = 0, to = 1e9, topN = 40] = process.argv.slice(2);
const p = JSON.parse(readFileSync(file));
const byId = new Map(p.nodes.map((n) => [n.id, n]));
const self = new Map(); let t = 0, total = 0;
for (let i = 0; i < p.samples.length; i++) {
  t += p.timeDeltas[i];
  const s = t / 1e6; if (s < from || s > to) continue;
  const n = byId.get(p.samples[i]); const cf = n.callFrame;
  const k = `${cf.functionName || '(anon)'} ${cf.url.split('/').slice(-2).join('/')}:${cf.lineNumber}`;
  self.set(k, (self.get(k) ?? 0) + p.timeDeltas[i] / 1000); total += p.timeDeltas[i] / 1000;
}
const idle = [...self].filter(([k]) => k.startsWith('(idle)')).reduce((a, [, v]) => a + v, 0);
console.log(`window ms ${total.toFixed(0)} busy ${(total - idle).toFixed(0)}`);
for (const [k, v] of [...self].sort((a, b) => b[1] - a[1]).slice(0, Number(topN))) console.log(v.toFixed(1).padStart(8), (100 * v / (total - idle)).toFixed(1).padStart(5) + '%', k);
