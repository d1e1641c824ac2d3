// Two-thread load-and-verify probe: node tmp-prof/lv2.mjs ROOT [threads]
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { join } from 'node:path';
const { ViewFileReader } = await import('/work/main/dist/src/view/view-file-reader.js');
const { readManifest, versionDir } = await import('/work/main/dist/src/view/view-version-dir.js');
async function verify(path, checksum) {
  const r = await ViewFileReader.open(path);
  try { await r.verify({ checksum }); } finally { await r.close(); }
}
if (!isMainThread) {
  parentPort.on('message', async (m) => { for (const f of m) await verify(f.path, f.checksum); parentPort.postMessage('done'); });
} else {
  const [root, threadsArg = '2'] = process.argv.slice(2);
  const m = await readManifest(root, 'kv', 1);
  const dir = versionDir(root, 'kv', 1);
  const files = m.files.map((f) => ({ path: join(dir, f.name), checksum: f.checksum }));
  let w;
  if (threadsArg === '2') { w = new Worker(new URL(import.meta.url), { argv: [root] }); w.postMessage([]); await new Promise((r) => w.once('message', r)); }
  const c0 = process.cpuUsage(); const t0 = performance.now();
  if (w) {
    const other = new Promise((r) => w.once('message', r));
    w.postMessage(files.slice(2));
    for (const f of files.slice(0, 2)) await verify(f.path, f.checksum);
    await other;
  } else for (const f of files) await verify(f.path, f.checksum);
  const ms = performance.now() - t0; const c = process.cpuUsage(c0);
  console.log(JSON.stringify({ threads: threadsArg, ms: ms.toFixed(1), cpuMs: ((c.user + c.system) / 1000).toFixed(1) }));
  w?.terminate();
}
