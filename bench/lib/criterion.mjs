// Criterion's estimates (target/criterion/<group>/<bench>/new/{estimates,benchmark}.json) as result records.
import fs from 'node:fs';
import path from 'node:path';

/** One record per Criterion benchmark found under `criterionDir`: median throughput (GB/s or M elements/s). */
export function criterionRecords(criterionDir) {
  const records = [];
  if (!fs.existsSync(criterionDir)) return records;
  for (const group of fs.readdirSync(criterionDir).sort()) {
    const groupDir = path.join(criterionDir, group);
    if (!fs.statSync(groupDir).isDirectory() || group === 'report') continue;
    for (const bench of fs.readdirSync(groupDir).sort()) {
      const dir = path.join(groupDir, bench, 'new');
      const est = path.join(dir, 'estimates.json');
      const meta = path.join(dir, 'benchmark.json');
      if (!fs.existsSync(est) || !fs.existsSync(meta)) continue;
      const estimates = JSON.parse(fs.readFileSync(est, 'utf8'));
      const benchmark = JSON.parse(fs.readFileSync(meta, 'utf8'));
      const ns = estimates.median.point_estimate;
      const tp = benchmark.throughput ?? {};
      let value;
      let unit;
      if (tp.Bytes !== undefined) {
        value = tp.Bytes / ns; // bytes per ns = GB/s
        unit = 'GB/s';
      } else if (tp.Elements !== undefined) {
        value = (tp.Elements / ns) * 1e3; // elements per ns * 1000 = M elements/s
        unit = tp.Elements === 1 ? 'M ops/s' : 'M replies/s';
      } else {
        value = ns;
        unit = 'ns';
      }
      records.push({
        name: `codec: ${group}/${bench}`,
        unit,
        smtpWasm: value,
        detail: { medianNs: ns, ci95: [estimates.median.confidence_interval.lower_bound, estimates.median.confidence_interval.upper_bound] },
      });
    }
  }
  return records;
}
