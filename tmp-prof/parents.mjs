import { readFileSync } from 'node:fs';
const [file, fn, from = 0, to = 1e9] = process.argv.slice(2);
const p = JSON.parse(readFileSync(file));
const byId = new Map(p.nodes.map((n) => [n.id, n]));
const parent = new Map(); for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const agg = new Map(); let t = 0;
for (let i = 0; i < p.samples.length; i++) {
  t += p.timeDeltas[i]; const s = t / 1e6; if (s < from || s > to) continue;
  let n = byId.get(p.samples[i]); if (n.callFrame.functionName !== fn) continue;
  const chain = []; let id = parent.get(n.id);
  for (let k = 0; k < 4 && id !== undefined; k++) { const m = byId.get(id); chain.push(m.callFrame.functionName || '(anon)'); id = parent.get(id); }
  const key = chain.join(' < '); agg.set(key, (agg.get(key) ?? 0) + p.timeDeltas[i] / 1000);
}
for (const [k, v] of [...agg].sort((a, b) => b[1] - a[1]).slice(0, 8)) console.log(v.toFixed(1).padStart(7), k);
