// Starts the benchmarks' servers and keeps them up until Ctrl-C / SIGTERM (for profiling by hand):
//   node bench/tools/servers.mjs      -> prints {"sinkPort":..,"serverPort":..,"ca":..}
import { startServers } from '../lib/servers.mjs';

const s = await startServers({ log: (m) => console.error(m) });
console.log(JSON.stringify({ sinkPort: s.sinkPort, serverPort: s.serverPort, ca: s.ca }));
const stop = async () => {
  await s.stop();
  process.exit(0);
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
setInterval(() => {}, 1 << 30);
