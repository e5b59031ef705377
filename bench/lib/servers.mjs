// The benchmarks' own servers, on loopback ports picked at start (never the shared fixed ports of scripts/servers.sh):
//   - Postfix's smtp-sink (plaintext, discards everything; PIPELINING, no CHUNKING) for the small-message run;
//   - Nodemailer's smtp-server (STARTTLS, no AUTH needed, discards the stream) for the TLS runs, in its own process
//     so its CPU and memory are not the sender's.
// Certificates: a test CA and a localhost leaf made by scripts/certs.sh in the bench's own state folder.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { freePort, run, waitForGreeting } from './util.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const ROOT = path.resolve(HERE, '..', '..');
export const STATE = process.env.SMTP_WASM_BENCH_STATE ?? path.join(process.env.TMPDIR ?? '/tmp', 'smtp-wasm-bench');

function which(name, extra = []) {
  for (const dir of [...(process.env.PATH ?? '').split(':'), ...extra]) {
    const p = path.join(dir, name);
    try {
      fs.accessSync(p, fs.constants.X_OK);
      return p;
    } catch {
      // next
    }
  }
  return null;
}

/** Starts every server; resolves with their ports and a stop() that ends exactly the processes started here. */
export async function startServers({ log = () => {} } = {}) {
  fs.mkdirSync(STATE, { recursive: true });
  fs.chmodSync(STATE, 0o755);
  const certs = await run('bash', [path.join(ROOT, 'scripts', 'certs.sh')], {
    env: { ...process.env, SMTP_WASM_STATE: STATE },
    timeoutMs: 120_000,
  });
  if (certs.code !== 0) throw new Error(`scripts/certs.sh failed:\n${certs.stderr}`);
  const certDir = path.join(STATE, 'certs');
  const ca = path.join(certDir, 'ca.pem');

  const children = [];
  const logFile = (name) => fs.openSync(path.join(STATE, `${name}.log`), 'a');
  const startChild = (name, cmd, args) => {
    const out = logFile(name);
    const child = spawn(cmd, args, { stdio: ['ignore', out, out] });
    fs.closeSync(out);
    children.push({ name, child });
    child.on('exit', (code, signal) => {
      child.exited = true;
      if (!child.stopping) log(`${name} exited early (code ${code}, signal ${signal}); see ${STATE}/${name}.log`);
    });
    return child;
  };
  const stop = async () => {
    await Promise.all(
      children.map(
        ({ child }) =>
          new Promise((resolve) => {
            if (child.exited) return resolve();
            child.stopping = true;
            child.once('exit', resolve);
            child.kill('SIGTERM');
            setTimeout(() => {
              if (!child.exited) child.kill('SIGKILL');
              resolve();
            }, 3000).unref();
          }),
      ),
    );
  };

  try {
    const sinkBin = which('smtp-sink', ['/usr/sbin', '/usr/lib/postfix/sbin']);
    if (!sinkBin) throw new Error('smtp-sink not found (it ships with postfix: scripts/setup.sh servers)');
    const sinkPort = await freePort();
    const sinkArgs = ['-h', 'smtp-sink.bench.test', `127.0.0.1:${sinkPort}`, '256'];
    if (process.getuid?.() === 0) sinkArgs.unshift('-u', 'postfix');
    startChild('smtp-sink', sinkBin, sinkArgs);

    const serverPort = await freePort();
    startChild('smtp-server', process.execPath, [
      path.join(ROOT, 'bench', 'servers', 'smtp-server.mjs'),
      '--port',
      String(serverPort),
      '--key',
      path.join(certDir, 'key.pem'),
      '--cert',
      path.join(certDir, 'fullchain.pem'),
    ]);
    await Promise.all([waitForGreeting(sinkPort), waitForGreeting(serverPort)]);
    log(`servers: smtp-sink 127.0.0.1:${sinkPort}, smtp-server (STARTTLS) 127.0.0.1:${serverPort}`);
    return { sinkPort, serverPort, ca, stop, versions: { smtpSink: postfixVersion() } };
  } catch (error) {
    await stop();
    throw error;
  }
}

function postfixVersion() {
  try {
    return fs
      .readFileSync('/var/lib/dpkg/status', 'utf8')
      .split('\n\n')
      .find((b) => b.startsWith('Package: postfix\n'))
      ?.match(/^Version: (.*)$/m)?.[1];
  } catch {
    return undefined;
  }
}
