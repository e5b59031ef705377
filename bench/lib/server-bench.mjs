// The server side of issue 11, measured against the servers a user would pick instead, same run, same machine:
// smtp-wasm/server on Node, Nodemailer's smtp-server (bench/servers/smtp-server.mjs: its 100 ms early-talker pause
// before the greeting removed, so connections per second measure the server and not that timer), aiosmtpd (the venv of
// scripts/setup.sh servers) and go-smtp (the seed's own server: test-servers/gosmtp, Debian's source built offline).
// Each runs in its own process with STARTTLS offered on the test CA's localhost leaf, accepts any mail without AUTH
// and drains it. All of them run for the whole measurement; each figure is taken from one server at a time while the
// others sit idle (runServerBench below):
//   - RSS per idle connection: `idle` clients connect and send EHLO, then wait; (RSS after - RSS before) / idle, on
//     the fresh process; then, after the same warm-up for each (`idle` connections opened and closed, one
//     smtp-source -s 20 run), live memory per idle connection of the Node servers (JS heap + wasm memory after a
//     full GC, bench/lib/memory-hook.mjs);
//   - messages/s with Postfix's smtp-source (-s 1 and -s 20 sessions, 1 kB messages, one per connection, plaintext),
//     in `rounds` rounds interleaved across the servers, the median round reported, with the server's CPU time per
//     message at -s 20 (utime + stime): on a loaded machine messages/s measure the scheduler as much as the server;
//   - server CPU per STARTTLS handshake (connect, EHLO, STARTTLS, handshake verified against the test CA, EHLO,
//     QUIT; utime + stime of the server process from /proc over `handshakes` sequential sessions);
//   - one large message over STARTTLS (`largeBytes`, default 25 MB), MB/s from DATA to the final 250 (the client is
//     Node's TLS for every server).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';

import { ROOT } from './servers.mjs';
import { freePort, run, sleep } from './util.mjs';

export const SERVER_PEERS = ['smtp-wasm/server', 'smtp-server', 'go-smtp', 'aiosmtpd'];

/** Starts one peer; resolves with { name, child, port, version }. Rejects with the reason it cannot start. */
async function startPeer(name, { pkg, state, certDir, log }) {
  const cert = path.join(certDir, 'fullchain.pem');
  const key = path.join(certDir, 'key.pem');
  const file = (base, text) => {
    const f = path.join(state, base);
    fs.writeFileSync(f, text);
    return f;
  };
  switch (name) {
    case 'smtp-wasm/server': {
      const src = file('server-bench-ours.mjs', `
import fs from "node:fs";
import { SmtpServer } from ${JSON.stringify(path.join(pkg, 'dist/server/node.js'))};
const session = { mail() {}, rcpt() {}, async data(s) { for await (const _ of s); }, reset() {}, logout() {} };
const server = new SmtpServer({ domain: "bench.test", maxConnections: 0, maxMessageBytes: 64 * 1024 * 1024,
  tls: { cert: fs.readFileSync(${JSON.stringify(cert)}, "utf8"), key: fs.readFileSync(${JSON.stringify(key)}, "utf8") },
  backend: { anonymousLogin: () => session } });
const { port } = await server.listen({ host: "127.0.0.1", port: 0 });
// For the live-memory figure (bench/lib/memory-hook.mjs): the wasm's linear memory. initSync hands back the exports
// of the module the server already instantiated.
const bindings = await import(${JSON.stringify(path.join(pkg, 'dist/server/smtp_wasm_server.js'))});
const wasm = bindings.initSync({ module: new Uint8Array(0) });
globalThis.benchExtraMemory = () => wasm.memory.buffer.byteLength;
console.log("PORT " + port);`);
      return { ...(await startProcess(process.execPath, [...NODE_MEMORY_FLAGS, src], undefined, memoryEnv(state, name))),
        version: pkgVersion(pkg), memoryFile: memoryEnv(state, name).SMTP_WASM_BENCH_MEMORY_FILE };
    }
    case 'smtp-server': {
      const port = await freePort();
      const p = await startProcess(process.execPath, [...NODE_MEMORY_FLAGS, path.join(ROOT, 'bench/servers/smtp-server.mjs'),
        '--port', String(port), '--key', key, '--cert', cert], /listening (\d+)/, memoryEnv(state, name));
      return { ...p, version: pkgVersion(path.join(ROOT, 'bench/node_modules/smtp-server')),
        memoryFile: memoryEnv(state, name).SMTP_WASM_BENCH_MEMORY_FILE };
    }
    case 'go-smtp': {
      const build = await run('bash', [path.join(ROOT, 'test-servers/gosmtp/build.sh')], { timeoutMs: 300_000 });
      if (build.code !== 0) throw new Error(`test-servers/gosmtp/build.sh failed (scripts/setup.sh servers):\n${build.stderr}`);
      const bin = path.join(build.stdout.trim(), 'gosmtp-server');
      const version = debVersion('golang-github-emersion-go-smtp-dev');
      return { ...(await startProcess(bin, ['-tls-cert', cert, '-tls-key', key, '127.0.0.1:0'])), version };
    }
    case 'aiosmtpd': {
      const cache = process.env.SMTP_WASM_CACHE ?? path.join(process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache'), 'smtp-wasm');
      const py = path.join(cache, 'venv/bin/python');
      if (!fs.existsSync(py)) throw new Error(`no aiosmtpd venv at ${py} (scripts/setup.sh servers)`);
      const src = file('server-bench-aiosmtpd.py', `
import socket, ssl, signal
from aiosmtpd.controller import Controller
class Handler:
    async def handle_DATA(self, server, session, envelope):
        return "250 OK"
ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
ctx.load_cert_chain(${JSON.stringify(cert)}, ${JSON.stringify(key)})
s = socket.socket(); s.bind(("127.0.0.1", 0)); port = s.getsockname()[1]; s.close()
c = Controller(Handler(), hostname="127.0.0.1", port=port, tls_context=ctx, require_starttls=False,
               data_size_limit=64 * 1024 * 1024, ready_timeout=20)
c.start()
print("PORT %d" % port, flush=True)
signal.sigwait([signal.SIGTERM, signal.SIGINT])
c.stop()
`);
      const version = (await run(py, ['-c', 'import aiosmtpd; print(aiosmtpd.__version__)'])).stdout.trim();
      return { ...(await startProcess(py, [src])), version };
    }
    default:
      log(`unknown server ${name}`);
      throw new Error(`unknown server ${name}`);
  }
}

/** Node flags of the Node servers: a GC on demand and the hook reporting live memory (bench/lib/memory-hook.mjs). */
const NODE_MEMORY_FLAGS = ['--expose-gc', '--import', path.join(ROOT, 'bench/lib/memory-hook.mjs')];
function memoryEnv(state, name) {
  return { SMTP_WASM_BENCH_MEMORY_FILE: path.join(state, `server-bench-memory-${name.replace(/\W/g, '_')}.json`) };
}

function startProcess(cmd, args, portRe = /PORT (\d+)/, env = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
    let out = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${cmd} did not start:\n${out}`));
    }, 30_000);
    child.stdout.on('data', (d) => {
      out += d;
      const m = portRe.exec(out);
      if (m && timer) {
        clearTimeout(timer);
        resolve({ child, port: Number(m[1]), output: () => out });
      }
    });
    child.stderr.on('data', (d) => (out = (out + d).slice(-20_000)));
    child.on('exit', (code) => {
      child.exited = true;
      clearTimeout(timer);
      reject(new Error(`${cmd} exited ${code}:\n${out}`));
    });
  });
}

async function stopPeer(p) {
  if (!p || p.child.exited) return;
  const gone = new Promise((r) => p.child.once('exit', r));
  p.child.kill('SIGTERM');
  await Promise.race([gone, sleep(3000)]);
  if (!p.child.exited) p.child.kill('SIGKILL');
}

function pkgVersion(dir) {
  try {
    return JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')).version;
  } catch {
    return undefined;
  }
}
function debVersion(pkg) {
  try {
    return fs.readFileSync('/var/lib/dpkg/status', 'utf8').split('\n\n').find((b) => b.startsWith(`Package: ${pkg}\n`))
      ?.match(/^Version: (.*)$/m)?.[1];
  } catch {
    return undefined;
  }
}

// ------------------------------------------------------------------------------------------------ /proc
const rssKb = (pid) => Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]);
const TICK_MS = 1000 / 100; // USER_HZ is 100 on Linux
function cpuMs(pid) {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) * TICK_MS; // utime, stime (fields 14, 15)
}

// ------------------------------------------------------------------------------------------------ a tiny client
/** Reads SMTP replies from a socket (plain or TLS); `next()` resolves with the next complete reply's text. */
function replies(sock) {
  let buf = '';
  const waiting = [];
  const ready = [];
  const onData = (d) => {
    buf += d.toString('latin1');
    for (;;) {
      const m = /^(?:\d{3}-[^\n]*\n)*\d{3}[ \r\n][^\n]*\n/.exec(buf);
      if (!m) break;
      buf = buf.slice(m[0].length);
      const w = waiting.shift();
      if (w) w.resolve(m[0]);
      else ready.push(m[0]);
    }
  };
  const onError = (e) => {
    for (const w of waiting.splice(0)) w.reject(e);
  };
  sock.on('data', onData);
  sock.on('error', onError);
  sock.on('close', () => onError(new Error('connection closed')));
  return {
    next: () => (ready.length ? Promise.resolve(ready.shift()) : new Promise((resolve, reject) => waiting.push({ resolve, reject }))),
    detach: () => {
      sock.off('data', onData);
      sock.off('error', onError);
    },
  };
}
async function expect(r, code, what) {
  const text = await r.next();
  if (!text.startsWith(String(code))) throw new Error(`${what}: expected ${code}, got ${text.trim()}`);
  return text;
}

/** Connects, EHLO, STARTTLS, EHLO over TLS; resolves with the TLS socket and its reply reader. */
async function startTls(port, ca) {
  const plain = net.connect({ host: '127.0.0.1', port, noDelay: true });
  await new Promise((res, rej) => plain.once('connect', res).once('error', rej));
  const r = replies(plain);
  await expect(r, 220, 'greeting');
  plain.write('EHLO bench.test\r\n');
  await expect(r, 250, 'EHLO');
  plain.write('STARTTLS\r\n');
  await expect(r, 220, 'STARTTLS');
  r.detach();
  const sock = tls.connect({ socket: plain, ca, servername: 'localhost' });
  sock.setNoDelay(true);
  await new Promise((res, rej) => sock.once('secureConnect', res).once('error', rej));
  const t = replies(sock);
  sock.write('EHLO bench.test\r\n');
  await expect(t, 250, 'EHLO after STARTTLS');
  return { sock, r: t };
}

async function quit(sock, r) {
  sock.write('QUIT\r\n');
  await r.next().catch(() => {});
  sock.destroy();
}

/** Opens `n` connections that each get the greeting and send EHLO; resolves with the sockets. */
async function openIdle(port, n) {
  const socks = [];
  const one = async () => {
    const s = net.connect({ host: '127.0.0.1', port, noDelay: true });
    s.on('error', () => {});
    const r = replies(s);
    await expect(r, 220, 'greeting');
    s.write('EHLO idle.bench.test\r\n');
    await expect(r, 250, 'EHLO');
    socks.push(s);
  };
  for (let i = 0; i < n; i += 50) await Promise.all(Array.from({ length: Math.min(50, n - i) }, one));
  return socks;
}

/**
 * RSS growth per connection while `n` idle connections are open, once per cycle (they are closed after each). With
 * `live`, the first cycle also reports the Node server's live memory growth ({@link liveBytes}) per connection.
 */
async function idleRssPerConnection(peer, n, cycles = 1, live = null) {
  const per = [];
  for (let c = 0; c < cycles; c++) {
    const liveBefore = live && c === 0 ? await liveBytes(peer) : null;
    const before = rssKb(peer.child.pid);
    const socks = await openIdle(peer.port, n);
    await sleep(1000);
    per.push((rssKb(peer.child.pid) - before) / n);
    if (liveBefore !== null) {
      const after = await liveBytes(peer);
      live.heapKb = (after.heap - liveBefore.heap) / n / 1024;
      live.extraKb = (after.extra - liveBefore.extra) / n / 1024;
    }
    for (const s of socks) s.destroy();
    await sleep(500);
  }
  return per;
}

/** Runs smtp-source; resolves with messages/s, and with the server's CPU µs per message when given its pid. */
/** Live memory of a Node server after two full GCs: { heap, extra } (the wasm memory) in bytes; `null` elsewhere. */
async function liveBytes(peer) {
  if (!peer.memoryFile) return null;
  fs.rmSync(peer.memoryFile, { force: true });
  peer.child.kill('SIGUSR2');
  for (let i = 0; i < 100; i++) {
    await sleep(50);
    try {
      const m = JSON.parse(fs.readFileSync(peer.memoryFile, 'utf8'));
      return { heap: m.heapUsed, extra: m.extra };
    } catch {
      // not written (completely) yet
    }
  }
  throw new Error('the server did not report its memory (bench/lib/memory-hook.mjs)');
}

/**
 * Memory per idle connection of a Node server: `n` connections after EHLO, after GC, minus before: { heapKb,
 * extraKb } (JS heap, wasm memory); `null` for other servers.
 */
async function liveKbPerConnection(peer, n) {
  const before = await liveBytes(peer);
  if (before === null) return null;
  const socks = await openIdle(peer.port, n);
  await sleep(500);
  const after = await liveBytes(peer);
  for (const s of socks) s.destroy();
  await sleep(500);
  return { heapKb: (after.heap - before.heap) / n / 1024, extraKb: (after.extra - before.extra) / n / 1024 };
}

async function smtpSource(port, sessions, messages, pid) {
  const cpu0 = pid === undefined ? 0 : cpuMs(pid);
  const bin = ['/usr/sbin/smtp-source', '/usr/bin/smtp-source'].find((p) => fs.existsSync(p));
  if (!bin) throw new Error('smtp-source not found (it ships with postfix: scripts/setup.sh servers)');
  const t0 = process.hrtime.bigint();
  const r = await run(bin, ['-s', String(sessions), '-m', String(messages), '-l', '1024', '-f', 'a@bench.test',
    '-t', 'b@bench.test', `127.0.0.1:${port}`], { timeoutMs: 600_000 });
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.code !== 0) throw new Error(`smtp-source -s ${sessions} failed (${r.code}): ${r.stderr}${r.stdout}`);
  if (pid !== undefined) return { perSec: messages / seconds, cpuUs: ((cpuMs(pid) - cpu0) * 1000) / messages };
  return messages / seconds;
}

async function handshakeCpuMs(peer, ca, n) {
  const one = async () => {
    const { sock, r } = await startTls(peer.port, ca);
    await quit(sock, r);
  };
  for (let i = 0; i < 3; i++) await one(); // warm-up
  await sleep(200);
  const before = cpuMs(peer.child.pid);
  for (let i = 0; i < n; i++) await one();
  await sleep(200); // let the server finish its side of the last close
  return (cpuMs(peer.child.pid) - before) / n;
}

async function largeMbPerSec(peer, ca, bytes) {
  const { sock, r } = await startTls(peer.port, ca);
  sock.write('MAIL FROM:<a@bench.test>\r\n');
  await expect(r, 250, 'MAIL');
  sock.write('RCPT TO:<b@bench.test>\r\n');
  await expect(r, 250, 'RCPT');
  const t0 = process.hrtime.bigint();
  sock.write('DATA\r\n');
  await expect(r, 354, 'DATA');
  const line = Buffer.from(`${'x'.repeat(998)}\r\n`, 'latin1');
  const chunk = Buffer.concat([Buffer.from('Subject: large server benchmark message\r\n\r\n'), ...Array(64).fill(line)]);
  let sent = 0;
  while (sent < bytes) {
    if (!sock.write(chunk)) await new Promise((res) => sock.once('drain', res));
    sent += chunk.length;
  }
  sock.write('.\r\n');
  await expect(r, 250, 'end of data');
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  await quit(sock, r);
  return sent / 1e6 / secs;
}

/** The median of a non-empty list of numbers. */
function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/**
 * Runs every measurement on every peer that starts; resolves with { results: { [peer]: { idleKb, s1, s20,
 * handshakeCpuMs, largeMbPerSec, rounds } }, versions, failures }.
 *
 * Fairness: every peer runs for the whole measurement (started together, measured one at a time while the others sit
 * idle), gets the same warm-up before its idle-memory figure, and the throughput figures are `config.rounds` rounds
 * interleaved across the peers (the peer order rotates each round), reported as the median round: load from other
 * jobs on the machine then moves every peer's figure alike instead of whichever ran during a busy minute.
 */
export async function runServerBench({ pkg, state, certDir, ca, config, log, peers = SERVER_PEERS }) {
  const results = {};
  const versions = {};
  const failures = [];
  const caPem = fs.readFileSync(ca);
  const running = [];
  const fail = (peer, name, error) => {
    failures.push(`server/${name}: ${error.stack ?? error}${peer ? `\n${peer.output().slice(-2000)}` : ''}`);
    log(`FAILED server/${name}: ${error.message}`);
    delete results[name];
    const i = running.findIndex((p) => p.name === name);
    if (i >= 0) void stopPeer(running.splice(i, 1)[0]);
  };
  try {
    for (const name of peers) {
      try {
        const peer = { name, ...(await startPeer(name, { pkg, state, certDir, log })) };
        running.push(peer);
        versions[name] = peer.version;
        results[name] = { rounds: { s1: [], s20: [], s20CpuUs: [] } };
      } catch (error) {
        fail(null, name, error);
      }
    }
    // Idle memory, two ways. RSS on the fresh process (after one connection): what the first `idle` connections of a
    // new process cost, one-time growth included (JIT code, the wasm tier-up, V8's young generation growing while
    // objects survive scavenges). Live memory (the Node servers): the JS heap after a full GC, measured after the
    // same warm-up for each (`idle` connections opened and closed, one smtp-source run; before it, JIT code would
    // count), plus the growth of the wasm memory during the fresh cycle (a wasm memory never shrinks, so after the
    // warm-up the next 1,000 connections reuse it and show nothing). RSS deltas after the warm-up are logged too,
    // three cycles, but they are allocator and GC timing more than memory per connection (±10 kB between cycles).
    const each = async (what, fn) => {
      for (const peer of [...running]) {
        try {
          await fn(peer, results[peer.name]);
        } catch (error) {
          fail(peer, peer.name, new Error(`${what}: ${error.message}`, { cause: error }));
        }
      }
    };
    await each('idle (fresh)', async (peer, res) => {
      (await openIdle(peer.port, 1)).forEach((s) => s.destroy());
      await sleep(500);
      res.freshLive = {};
      [res.idleKb] = await idleRssPerConnection(peer, config.idle, 1, res.freshLive);
    });
    await each('warm-up', async (peer) => {
      for (const s of await openIdle(peer.port, config.idle)) s.destroy();
      await smtpSource(peer.port, 20, Math.min(1000, config.s20));
      await sleep(500);
    });
    await each('idle (warm)', async (peer, res) => {
      res.idleWarmKbs = await idleRssPerConnection(peer, config.idle, 3);
      const warm = await liveKbPerConnection(peer, config.idle);
      res.liveKb = warm === null ? null : warm.heapKb + (res.freshLive.extraKb ?? 0);
      res.liveHeapKb = warm?.heapKb ?? null;
      res.liveWasmKb = res.freshLive.extraKb ?? null;
    });
    const rounds = config.rounds ?? 3;
    for (let round = 0; round < rounds; round++) {
      const order = running.map((_, i) => running[(i + round) % running.length]);
      for (const peer of order) {
        const res = results[peer.name];
        if (!res) continue;
        try {
          res.rounds.s1.push(await smtpSource(peer.port, 1, Math.ceil(config.s1 / rounds)));
          const s20 = await smtpSource(peer.port, 20, Math.ceil(config.s20 / rounds), peer.child.pid);
          res.rounds.s20.push(s20.perSec);
          res.rounds.s20CpuUs.push(s20.cpuUs);
        } catch (error) {
          fail(peer, peer.name, error);
        }
      }
    }
    for (const res of Object.values(results)) {
      res.s1 = median(res.rounds.s1);
      res.s20 = median(res.rounds.s20);
      res.s20CpuUs = median(res.rounds.s20CpuUs);
    }
    await each('STARTTLS handshakes', async (peer, res) => {
      res.handshakeCpuMs = await handshakeCpuMs(peer, caPem, config.handshakes);
    });
    await each('large message', async (peer, res) => {
      res.largeMbPerSec = await largeMbPerSec(peer, caPem, config.largeBytes);
    });
    for (const [name, res] of Object.entries(results)) {
      log(`server ${name}: ${res.s1.toFixed(0)} msg/s at -s 1, ${res.s20.toFixed(0)} at -s 20 (rounds: ` +
        `${res.rounds.s20.map((x) => x.toFixed(0)).join(', ')}), ${res.s20CpuUs.toFixed(0)} µs server CPU per message; ` +
        `${res.idleKb.toFixed(1)} kB RSS per idle connection (${config.idle}, fresh), warm ` +
        `${res.idleWarmKbs.map((x) => x.toFixed(1)).join(' / ')}, live ${res.liveKb?.toFixed(2) ?? '-'} kB (JS heap ` +
        `${res.liveHeapKb?.toFixed(2) ?? '-'} + wasm ${res.liveWasmKb?.toFixed(2) ?? '-'}); ${res.handshakeCpuMs.toFixed(2)} ms server CPU per STARTTLS handshake; ` +
        `${(config.largeBytes / 1e6).toFixed(0)} MB over STARTTLS ${res.largeMbPerSec.toFixed(1)} MB/s`);
    }
  } finally {
    await Promise.all(running.map(stopPeer));
  }
  return { results, versions, failures };
}
