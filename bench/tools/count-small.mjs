// Sends N 1 kB messages sequentially over one plaintext connection, for counting instructions with callgrind (the
// count is repeatable where timings on a shared machine are not). Run it twice and subtract, so start-up cancels out:
//   valgrind --tool=callgrind --smc-check=all node bench/tools/count-small.mjs PKG_ENTRY 200  SINK_PORT
//   valgrind --tool=callgrind --smc-check=all node bench/tools/count-small.mjs PKG_ENTRY 1200 SINK_PORT
//   -> (I refs of 1200 - I refs of 200) / 1000 = instructions per message
// PKG_ENTRY: the package's dist/node.js (this tree's, or another copy's for a before/after); SINK_PORT: an smtp-sink
// (bench/tools/servers.mjs prints one; scripts/servers.sh has one on SMTP_WASM_SINK_PORT).
import { pathToFileURL } from 'node:url';

const [entry, nArg, portArg] = process.argv.slice(2);
const api = await import(pathToFileURL(entry).href);
const port = Number(portArg ?? process.env.SMTP_WASM_SINK_PORT);
const head = 'From: a@example.test\r\nTo: b@example.test\r\nSubject: x\r\n\r\n';
const message = new TextEncoder().encode(head + `${'A'.repeat(76)}\r\n`.repeat(12));
const client = await api.SmtpClient.connect(await api.connectTcp('127.0.0.1', port), { serverName: 'localhost' });
for (let i = 0; i < Number(nArg); i++) await client.sendMail({ from: 'a@example.test', to: 'b@example.test', message });
await client.quit();
