// One measurement in a fresh Node process (so that each side's JIT, heap and RSS are its own):
//
//   node --expose-gc bench/worker.mjs SCENARIO SIDE 'JSON params'
//
// SIDE is "smtp-wasm" or "nodemailer". Prints one line "RESULT {json}" on success.
import fs from 'node:fs';
import { Readable } from 'node:stream';

import { FROM, TO, largeSize, largeStream, smallMessage } from './lib/message.mjs';
import { peakWindow } from './lib/memory.mjs';

const [scenario, side, json] = process.argv.slice(2);
const params = JSON.parse(json ?? '{}');
const HOST = '127.0.0.1';
const gc = () => {
  if (globalThis.gc) {
    globalThis.gc();
    globalThis.gc();
  }
};

// ------------------------------------------------------------------------------------------------ clients
async function wasmApi() {
  return import('smtp-wasm');
}
async function nodemailerApi() {
  return (await import('nodemailer')).default;
}

/** A connected smtp-wasm SmtpClient (STARTTLS first when `tls`). */
async function wasmSession(api, port, { tls, ca }) {
  const duplex = await api.connectTcp(HOST, port);
  const client = await api.SmtpClient.connect(duplex, {
    serverName: 'localhost',
    rootCertificates: ca ? [ca] : undefined,
  });
  if (tls) await client.startTls();
  return client;
}

function nodemailerTransport(nm, port, { tls, ca, pool }) {
  return nm.createTransport({
    host: HOST,
    port,
    secure: false,
    ignoreTLS: !tls,
    requireTLS: Boolean(tls),
    tls: ca ? { ca: [ca], servername: 'localhost' } : undefined,
    pool: Boolean(pool),
    maxConnections: 1,
    maxMessages: Infinity,
    disableFileAccess: true,
    disableUrlAccess: true,
  });
}

const envelope = { from: FROM, to: [TO] };

// ------------------------------------------------------------------------------------------------ scenarios
const scenarios = {
  /** 1. Small messages over one connection, sequentially. */
  async small({ port, count, warmup, size, queued }) {
    const message = smallMessage(size);
    let send;
    let close;
    if (side === 'smtp-wasm') {
      const api = await wasmApi();
      const client = await wasmSession(api, port, { tls: false });
      send = () => client.sendMail({ from: FROM, to: TO, message });
      close = () => client.quit();
    } else {
      const nm = await nodemailerApi();
      const t = nodemailerTransport(nm, port, { tls: false, pool: true });
      const raw = Buffer.from(message);
      send = () => t.sendMail({ envelope, raw });
      close = () => t.close();
    }
    for (let i = 0; i < warmup; i++) await send();
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    if (queued) {
      // Every sendMail issued at once, then awaited together: the client may pipeline across transactions.
      await Promise.all(Array.from({ length: count }, () => send()));
    } else {
      for (let i = 0; i < count; i++) await send();
    }
    const secs = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(c0);
    await close();
    return { messages: count, bytes: message.length, secs, perSec: count / secs, cpuUsPerMessage: (cpu.user + cpu.system) / count };
  },

  /** 2. One large message over STARTTLS, streamed from a ReadableStream. */
  async large({ port, ca, target, warmupTarget, fresh }) {
    const caPem = fs.readFileSync(ca, 'utf8');
    let sendOne;
    if (side === 'smtp-wasm') {
      const api = await wasmApi();
      sendOne = async (size) => {
        const client = await wasmSession(api, port, { tls: true, ca: caPem });
        await client.sendMail({ from: FROM, to: TO, message: largeStream(size, { fresh }) });
        await client.quit();
      };
    } else {
      const nm = await nodemailerApi();
      sendOne = async (size) => {
        const t = nodemailerTransport(nm, port, { tls: true, ca: caPem });
        await t.sendMail({ envelope, raw: Readable.fromWeb(largeStream(size, { fresh })) });
        t.close();
      };
    }
    await sendOne(warmupTarget); // loads code, warms the JIT and TLS
    gc();
    await new Promise((r) => setTimeout(r, 50));
    const window = peakWindow();
    const t0 = performance.now();
    await sendOne(target);
    const secs = (performance.now() - t0) / 1000;
    const mem = window();
    const bytes = largeSize(target);
    return { bytes, secs, mbPerSec: bytes / 1e6 / secs, ...mem };
  },

  /**
   * 2b. The first large message of a fresh process (no warm-up send), as a user sending one message from a script
   * or a Worker pays it: the client is imported (and the wasm instantiated) first, then the kernel's RSS high-water
   * mark is reset and everything from connect to QUIT is measured. Wasm linear memory never shrinks, so the first
   * send's growth stays. Also reports the process CPU and, for smtp-wasm, the wasm memory and the cipher suite.
   */
  async fresh({ port, ca, target, host = HOST }) {
    const caPem = fs.readFileSync(ca, 'utf8');
    let sendOne;
    let memory = null;
    let cipherSuite = null;
    if (side === 'smtp-wasm') {
      const api = await wasmApi();
      await api.init();
      // wasm-bindgen's initSync returns the instance's exports once initialised (the memory among them).
      // (The bindings module is not in the package's exports: reach it through the bench's link to the package.)
      const bindings = await import(new URL('./node_modules/smtp-wasm/dist/smtp_wasm.js', import.meta.url).href).catch(
        () => null,
      );
      memory = bindings?.initSync(undefined)?.memory ?? null;
      sendOne = async () => {
        const duplex = await api.connectTcp(host, port);
        const client = await api.SmtpClient.connect(duplex, { serverName: 'localhost', rootCertificates: [caPem] });
        await client.startTls();
        cipherSuite = client.tlsInfo()?.cipherSuite ?? null;
        await client.sendMail({ from: FROM, to: TO, message: largeStream(target) });
        await client.quit();
      };
    } else {
      const nm = await nodemailerApi();
      sendOne = async () => {
        const t = nodemailerTransport(nm, port, { tls: true, ca: caPem });
        // nodemailer does not report the cipher; its socket is Node's TLSSocket with Node's defaults.
        await t.sendMail({ envelope, raw: Readable.fromWeb(largeStream(target)) });
        t.close();
      };
    }
    const memoryBefore = memory?.buffer.byteLength ?? null;
    const window = peakWindow();
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    await sendOne();
    const secs = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(c0);
    const mem = window();
    const bytes = largeSize(target);
    return {
      bytes,
      secs,
      mbPerSec: bytes / 1e6 / secs,
      cpuSecs: (cpu.user + cpu.system) / 1e6,
      cpuMbPerSec: bytes / 1e6 / ((cpu.user + cpu.system) / 1e6),
      wasmMemoryBefore: memoryBefore,
      wasmMemoryAfter: memory?.buffer.byteLength ?? null,
      cipherSuite,
      ...mem,
    };
  },

  /** 3. Connect, EHLO, STARTTLS + handshake, EHLO, QUIT: process CPU time per connection. */
  async handshake({ port, ca, count, warmup }) {
    const caPem = fs.readFileSync(ca, 'utf8');
    let once;
    if (side === 'smtp-wasm') {
      const api = await wasmApi();
      once = async () => {
        const client = await wasmSession(api, port, { tls: true, ca: caPem });
        await client.quit();
      };
    } else {
      const nm = await nodemailerApi();
      once = async () => {
        const t = nodemailerTransport(nm, port, { tls: true, ca: caPem });
        await t.verify();
        t.close();
      };
    }
    for (let i = 0; i < warmup; i++) await once();
    const cpu = [];
    const wall = [];
    for (let i = 0; i < count; i++) {
      const c0 = process.cpuUsage();
      const w0 = performance.now();
      await once();
      const c = process.cpuUsage(c0);
      wall.push(performance.now() - w0);
      cpu.push((c.user + c.system) / 1000);
    }
    return { cpuMs: cpu, wallMs: wall };
  },

  /** 5. Many concurrent sessions in this process: open all, send on all at once, close all. */
  async concurrent({ port, ca, sessions, messages, size }) {
    const caPem = fs.readFileSync(ca, 'utf8');
    const message = smallMessage(size);
    let open;
    if (side === 'smtp-wasm') {
      const api = await wasmApi();
      open = async () => {
        const client = await wasmSession(api, port, { tls: true, ca: caPem });
        return { send: () => client.sendMail({ from: FROM, to: TO, message }), close: () => client.quit() };
      };
    } else {
      const nm = await nodemailerApi();
      const raw = Buffer.from(message);
      open = async () => {
        // A pool of one connection: opened by the first message and kept, like an smtp-wasm session.
        const t = nodemailerTransport(nm, port, { tls: true, ca: caPem, pool: true });
        return { send: () => t.sendMail({ envelope, raw }), close: async () => t.close() };
      };
    }
    // Warm-up on one session, then the baseline.
    const w = await open();
    await w.send();
    await w.close();
    gc();
    await new Promise((r) => setTimeout(r, 100));
    const base = process.memoryUsage();
    const t0 = performance.now();
    const opened = await Promise.allSettled(
      Array.from({ length: sessions }, async () => {
        const s = await open();
        await s.send(); // every session is connected, secured and has sent one message
        return s;
      }),
    );
    const openSecs = (performance.now() - t0) / 1000;
    const live = opened.filter((r) => r.status === 'fulfilled').map((r) => r.value);
    gc();
    await new Promise((r) => setTimeout(r, 100));
    const held = process.memoryUsage();
    const t1 = performance.now();
    const sent = await Promise.allSettled(
      live.map(async (s) => {
        for (let i = 0; i < messages; i++) await s.send();
      }),
    );
    const sendSecs = (performance.now() - t1) / 1000;
    await Promise.allSettled(live.map((s) => s.close()));
    const okSessions = sent.filter((r) => r.status === 'fulfilled').length;
    const firstError = [...opened, ...sent].find((r) => r.status === 'rejected')?.reason;
    return {
      sessions,
      okSessions,
      failed: sessions - okSessions,
      firstError: firstError ? String(firstError.message ?? firstError) : undefined,
      openSecs,
      messages: okSessions * messages,
      sendSecs,
      perSec: (okSessions * messages) / sendSecs,
      rssPerSession: (held.rss - base.rss) / sessions,
      heapPerSession: (held.heapUsed + held.external - base.heapUsed - base.external) / sessions,
    };
  },

  /** 4. Import + instantiate, timed from inside a cold process. */
  async import() {
    const t0 = performance.now();
    if (side === 'smtp-wasm') {
      const api = await import('smtp-wasm');
      await api.init();
    } else {
      await import('nodemailer');
    }
    return { ms: performance.now() - t0 };
  },
};

const fn = scenarios[scenario];
if (!fn) {
  console.error(`unknown scenario ${scenario}`);
  process.exit(2);
}
try {
  const result = await fn(params);
  process.stdout.write(`RESULT ${JSON.stringify(result)}\n`);
  process.exit(0);
} catch (error) {
  console.error(`${scenario}/${side}:`, error?.stack ?? error);
  process.exit(1);
}
