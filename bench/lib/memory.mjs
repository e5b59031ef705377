// Peak memory of this process over a window, for the benchmarks' fresh worker processes (bench/worker.mjs,
// bench/compose.mjs).
import fs from 'node:fs';

/** A field of /proc/self/status in bytes (`VmHWM`, `VmRSS`), or null off Linux. */
export function statusKb(field) {
  try {
    const m = fs.readFileSync('/proc/self/status', 'utf8').match(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm'));
    return m ? Number(m[1]) * 1024 : null;
  } catch {
    return null;
  }
}

/** Starts a peak-RSS window: resets the kernel's high-water mark (VmHWM) and samples RSS every ms as a fallback. */
export function peakWindow() {
  let reset = false;
  try {
    fs.writeFileSync('/proc/self/clear_refs', '5');
    reset = true;
  } catch {
    // Not Linux, or not allowed: the samples are all there is.
  }
  const start = process.memoryUsage.rss();
  let sampled = start;
  const timer = setInterval(() => {
    sampled = Math.max(sampled, process.memoryUsage.rss());
  }, 1);
  return () => {
    clearInterval(timer);
    const hwm = reset ? statusKb('VmHWM') : null;
    const peak = Math.max(sampled, process.memoryUsage.rss(), hwm ?? 0);
    return { startRss: start, peakRss: peak, growth: peak - start, method: reset ? 'VmHWM' : 'sampled' };
  };
}
