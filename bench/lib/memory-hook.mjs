// Preloaded into the Node servers of the server benchmark (node --expose-gc --import): on SIGUSR2, two full GCs, then
// the live JS heap (`heapUsed`) plus whatever the server script reports through globalThis.benchExtraMemory (the
// wasm linear memory of smtp-wasm/server), written as JSON to $SMTP_WASM_BENCH_MEMORY_FILE. RSS cannot show memory
// per connection after a warm-up (allocator and GC timing move it by more than 1,000 idle connections take); live
// memory after a GC can.
import fs from 'node:fs';

process.on('SIGUSR2', () => {
  globalThis.gc?.();
  globalThis.gc?.();
  const extra = typeof globalThis.benchExtraMemory === 'function' ? globalThis.benchExtraMemory() : 0;
  fs.writeFileSync(process.env.SMTP_WASM_BENCH_MEMORY_FILE, JSON.stringify({ heapUsed: process.memoryUsage().heapUsed, extra }));
});
