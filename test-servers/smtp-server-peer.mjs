// Nodemailer's smtp-server as a loopback test peer (started by scripts/servers.sh).
//
//   node test-servers/smtp-server-peer.mjs --port N [--lmtp] [--implicit-tls] [--cert NAME] [--auth-optional]
//
//   --lmtp           LMTP mode: one reply per recipient after DATA; a recipient whose local part starts with
//                    "reject" gets 550 5.1.1, the others 250
//   --implicit-tls   TLS from the first byte (port 465 style); otherwise STARTTLS is offered
//   --cert NAME      serve $SMTP_WASM_STATE/certs/<NAME>fullchain.pem / <NAME>key.pem, NAME one of
//                    "" (default: valid leaf), "expired-", "wrong-name-"
//   --auth-optional  accept mail without AUTH (always the case with --lmtp)
//
// AUTH PLAIN, LOGIN, CRAM-MD5, XOAUTH2 only after TLS: $SMTP_WASM_USER / $SMTP_WASM_PASS (alice / secret);
// XOAUTH2 accepts that user with the token $SMTP_WASM_XOAUTH2_TOKEN (test-token). SMTPUTF8, DSN, 8BITMIME,
// ENHANCEDSTATUSCODES, SIZE 60000000.
// Every message goes to $SMTP_WASM_SMTP_SERVER_MAIL (default $SMTP_WASM_STATE/smtp-server/mail) as <id>.eml (the
// bytes of the DATA after dot-unstuffing, exactly as received) and then <id>.json (envelope + session facts).
// The .json is written (atomically, by rename) after the .eml is complete: wait for the .json.
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import { SMTPServer } from 'smtp-server';

const argv = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : dflt;
};
const flag = (name) => argv.includes(name);

const STATE = process.env.SMTP_WASM_STATE;
if (!STATE) {
  console.error('SMTP_WASM_STATE is not set');
  process.exit(2);
}
const HOST = process.env.SMTP_WASM_HOST || '127.0.0.1';
const USER = process.env.SMTP_WASM_USER || 'alice';
const PASS = process.env.SMTP_WASM_PASS || 'secret';
const TOKEN = process.env.SMTP_WASM_XOAUTH2_TOKEN || 'test-token';
const port = Number(opt('--port', '2526'));
const lmtp = flag('--lmtp');
const secure = flag('--implicit-tls');
const certName = opt('--cert', '');
const authOptional = lmtp || flag('--auth-optional');
const certs = path.join(STATE, 'certs');
const dir = process.env.SMTP_WASM_SMTP_SERVER_MAIL || path.join(STATE, 'smtp-server', 'mail');
fs.mkdirSync(dir, { recursive: true });

const tlsProtocols = new Map(); // session.id -> negotiated TLS protocol (the session object is replaced on RSET)

const server = new SMTPServer({
  lmtp,
  secure,
  key: fs.readFileSync(path.join(certs, `${certName}key.pem`)),
  cert: fs.readFileSync(path.join(certs, `${certName}fullchain.pem`)),
  name: 'smtp-server.test',
  banner: `smtp-wasm test peer (smtp-server${lmtp ? ', LMTP' : ''}${secure ? ', implicit TLS' : ''})`,
  authMethods: ['PLAIN', 'LOGIN', 'CRAM-MD5', 'XOAUTH2'],
  authOptional,
  allowInsecureAuth: false, // AUTH only after TLS
  hideSTARTTLS: false,
  hideSMTPUTF8: false,
  hideDSN: false,
  hide8BITMIME: false,
  hideENHANCEDSTATUSCODES: false,
  size: 60000000,
  disableReverseLookup: true, // otherwise every connection waits on reverse DNS
  logger: process.env.SMTP_WASM_SMTP_SERVER_DEBUG ? true : false,
  onSecure(socket, session, cb) {
    tlsProtocols.set(session.id, socket.getProtocol ? socket.getProtocol() : null);
    cb();
  },
  onClose(session) {
    tlsProtocols.delete(session.id);
  },
  onAuth(auth, session, cb) {
    if (auth.method === 'CRAM-MD5') {
      return auth.username === USER && auth.validatePassword(PASS)
        ? cb(null, { user: auth.username })
        : cb(new Error('Invalid username or password'));
    }
    if (auth.method === 'XOAUTH2') {
      return auth.username === USER && auth.accessToken === TOKEN
        ? cb(null, { user: auth.username })
        : cb(null, { data: { status: '401', schemes: 'bearer', scope: 'mail' } });
    }
    if (auth.username === USER && auth.password === PASS) return cb(null, { user: auth.username });
    return cb(new Error('Invalid username or password'));
  },
  onData(stream, session, cb) {
    const id = `${Date.now()}-${crypto.randomUUID()}`;
    const eml = path.join(dir, `${id}.eml`);
    const out = fs.createWriteStream(eml);
    let bytes = 0;
    stream.on('data', (c) => (bytes += c.length));
    stream.pipe(out);
    out.on('finish', () => {
      const env = session.envelope;
      const meta = {
        id,
        port,
        mode: lmtp ? 'lmtp' : 'smtp',
        remoteAddress: session.remoteAddress,
        clientHostname: session.hostNameAppearsAs,
        transmissionType: session.transmissionType,
        user: session.user ?? null,
        secure: !!session.secure,
        tlsProtocol: session.secure ? tlsProtocols.get(session.id) ?? null : null,
        tlsCipher: session.tlsOptions ? session.tlsOptions.name : null,
        servername: session.servername ?? null,
        mailFrom: env.mailFrom, // { address, args: { SIZE, BODY, SMTPUTF8, RET, ENVID, ... } }
        rcptTo: env.rcptTo, // [{ address, args: { NOTIFY, ORCPT, ... }, dsn: { notify, orcpt } }]
        dsn: env.dsn ?? null, // { ret, envid }
        bodyType: env.bodyType ?? null,
        smtpUtf8: env.smtpUtf8 ?? null,
        bytes,
        sizeExceeded: !!stream.sizeExceeded,
      };
      const tmp = path.join(dir, `.${id}.json.tmp`);
      fs.writeFileSync(tmp, JSON.stringify(meta, null, 2) + '\n');
      fs.renameSync(tmp, path.join(dir, `${id}.json`));
      console.log('received', JSON.stringify({ id, port, from: env.mailFrom?.address, to: env.rcptTo.map((r) => r.address), bytes }));
      if (lmtp) {
        return cb(null, env.rcptTo.map((r) => {
          if (/^reject/i.test(r.address)) {
            const e = new Error(`<${r.address}>: Recipient address rejected (LMTP test rule)`);
            e.responseCode = 550;
            return e;
          }
          return `<${r.address}> delivered as ${id}`;
        }));
      }
      cb(null, `queued as ${id}`);
    });
    out.on('error', (e) => cb(e));
  },
});
server.on('error', (e) => console.error('server error:', e.message));
// a test peer: stop at once (server.close() would wait ~1.5 s for its idle timers)
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => process.exit(0));
server.listen(port, HOST, () =>
  console.log(`smtp-server listening on ${HOST}:${port} lmtp=${lmtp} implicitTls=${secure} cert=${certName || 'leaf'} authOptional=${authOptional}`));
