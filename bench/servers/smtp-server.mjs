// Nodemailer's smtp-server as the benchmarks' STARTTLS peer: accepts any mail without AUTH and discards the content
// as it streams in (so the server's memory and disk stay out of the measurement).
//
//   node bench/servers/smtp-server.mjs --port N --key FILE --cert FILE [--greeting-delay]
//
// smtp-server waits 100 ms before its greeting (an early-talker check that is not configurable). That is idle time
// for the client, but it would make 200 sequential handshakes take 20 s of waiting; unless --greeting-delay is given,
// the greeting goes out at once (a one-line patch of SMTPConnection.init, otherwise the same code path).
import fs from 'node:fs';
import { SMTPServer } from 'smtp-server';
import { SMTPConnection } from 'smtp-server/lib/smtp-connection.js';

const argv = process.argv.slice(2);
const opt = (name) => {
  const i = argv.indexOf(name);
  if (i < 0) throw new Error(`missing ${name}`);
  return argv[i + 1];
};

if (!argv.includes('--greeting-delay')) {
  SMTPConnection.prototype.init = function init() {
    this._setListeners(() => {
      if (this._server.options.maxClients && this._server.connections.size > this._server.options.maxClients) {
        return this.send(421, `${this.name} Too many connected clients, try again in a moment`, false);
      }
      this.connectionReady();
    });
  };
}

let messages = 0;
let bytes = 0;
const server = new SMTPServer({
  key: fs.readFileSync(opt('--key')),
  cert: fs.readFileSync(opt('--cert')),
  name: 'bench.smtp-server.test',
  authOptional: true,
  // smtp-server sets honorCipherOrder: true (server picks the suite); Postfix's default (tls_preempt_cipherlist = no)
  // lets the client's order decide. Benchmark against the Postfix behaviour: each client gets the suite it prefers
  // (Node/OpenSSL with AES-NI: AES-256-GCM; smtp-wasm in wasm: ChaCha20-Poly1305).
  honorCipherOrder: false,
  disableReverseLookup: true,
  size: 256 * 1024 * 1024,
  logger: false,
  maxClients: 10000,
  onData(stream, _session, callback) {
    stream.on('data', (chunk) => {
      bytes += chunk.length;
    });
    stream.on('end', () => {
      messages += 1;
      if (stream.sizeExceeded) callback(Object.assign(new Error('too big'), { responseCode: 552 }));
      else callback(null, 'Ok: discarded');
    });
  },
});
server.on('error', (error) => console.error('smtp-server:', error.message));
server.listen(Number(opt('--port')), '127.0.0.1', () => console.log(`listening ${opt('--port')}`));
process.on('SIGTERM', () => {
  console.log(`messages ${messages} bytes ${bytes}`);
  server.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 500).unref();
});
