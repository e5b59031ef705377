// Summarises a V8 .cpuprofile (node --cpu-prof): self time per function and inclusive time of the top frames.
//   node bench/tools/cpuprofile-top.mjs FILE.cpuprofile [N]
import fs from 'node:fs';

const [file, nArg] = process.argv.slice(2);
const N = Number(nArg ?? 30);
const prof = JSON.parse(fs.readFileSync(file, 'utf8'));
const byId = new Map(prof.nodes.map((n) => [n.id, n]));
const dt = new Map();
for (let i = 0; i < prof.samples.length; i++) dt.set(prof.samples[i], (dt.get(prof.samples[i]) ?? 0) + (prof.timeDeltas[i] ?? 0));
const parent = new Map();
for (const n of prof.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const key = (n) => {
  const cf = n.callFrame;
  const url = cf.url.replace(/^.*\/(node_modules\/)?/, '');
  return `${cf.functionName || '(anon)'} ${url}:${cf.lineNumber + 1}`;
};
const self = new Map();
const incl = new Map();
let total = 0;
for (const [id, t] of dt) {
  total += t;
  const n = byId.get(id);
  self.set(key(n), (self.get(key(n)) ?? 0) + t);
  const seen = new Set();
  for (let cur = id; cur !== undefined; cur = parent.get(cur)) {
    const k = key(byId.get(cur));
    if (seen.has(k)) continue;
    seen.add(k);
    incl.set(k, (incl.get(k) ?? 0) + t);
  }
}
const show = (m, title) => {
  console.log(`\n${title} (total ${(total / 1000).toFixed(0)} ms)`);
  for (const [k, t] of [...m].sort((a, b) => b[1] - a[1]).slice(0, N)) {
    console.log(`${((100 * t) / total).toFixed(1).padStart(5)}%  ${k}`);
  }
};
show(self, 'self');
show(incl, 'inclusive');
