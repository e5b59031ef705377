// Composing and DKIM signing, smtp-wasm vs nodemailer, same machine, same run, each measurement in a fresh Node
// process, the sides alternating in each round:
//   send    compose and send N messages with a 100 kB attachment over one plaintext connection to smtp-sink
//   dkim    compose and DKIM-sign (RSA-2048, relaxed/relaxed) N messages into bytes (no network)
//   stream  a 25 MB attachment from a file, composed and sent by the top-level sendMail (its own connection) in a
//           fresh process: the peak RSS it adds over the process's RSS right before the send (the package imported,
//           both wasm modules instantiated, nothing sent yet: issue 14's "from before the first send"), from the
//           kernel's high-water mark (VmHWM, reset through /proc/self/clear_refs) and 1 ms RSS samples. Two ways to
//           give the file: `path` (attachments: [{ path }], both sides) and `fs.createReadStream` (stream); and the
//           same after a warm-up message with a 100 kB attachment given the same way (warm-path, warm-stream: the
//           code of every step loaded and compiled, so what is left is what the attachment's size costs); raw (smtp-wasm only): a finished message of the
//           same size and shape sent from 64 KiB views of one buffer, the client's share without the composer.
//
//   node bench/compose.mjs [--count 1000] [--rounds 3] [--only send,dkim,stream] [--dist DIR]
//                          [--out bench/compose-results.json]
// Needs: npm run build; scripts/servers.sh up (its smtp-sink on port 2600); nodemailer (test-servers/node_modules).
// A worker imports only what it needs (the parent's modules are loaded in main()): a memory window must not find
// parts of Node already loaded by the benchmark that a user's process would load during its first send.
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { peakWindow } from './lib/memory.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '..');
const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : dflt;
};
const HOST = '127.0.0.1';
const FROM = 'bench@example.com';
const TO = 'sink@example.org';

function nodemailer() {
  for (const base of ['bench', 'test-servers']) {
    try {
      return createRequire(path.join(ROOT, base, 'package.json'))('nodemailer');
    } catch {
      // next
    }
  }
  throw new Error('nodemailer not found (scripts/setup.sh servers)');
}

/**
 * A finished message shaped like the composed one (76-character base64 lines, `size` bytes), as 64 KiB views of one
 * buffer: the client's share of the memory, without the composer and the file.
 */
async function* encodedLike(size) {
  const line = 'QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWZnaGlqa2xtbm9wcXJzdHV2d3h5ejAxMjM0\r\n';
  const block = new TextEncoder().encode(line.repeat(Math.floor(65536 / line.length)));
  yield new TextEncoder().encode(`From: ${FROM}\r\nTo: ${TO}\r\nSubject: raw\r\n\r\n`);
  for (let n = 0; n < size; n += block.length) yield block;
}

/** The file as the scenario gives it: `path` (read by the library), or a Node stream. */
function bigAttachment(scenario, file) {
  const filename = path.basename(file);
  return scenario.endsWith('path') ? { filename, path: file } : { filename, content: fs.createReadStream(file) };
}

// ------------------------------------------------------------------------------------------------ worker
async function worker(side, scenario, port, count, dir, dist) {
  const memory = !['send', 'dkim'].includes(scenario);
  const attachment = memory ? null : Buffer.alloc(100_000).map((_, i) => (i * 131 + (i >> 7)) & 255);
  const key = memory ? null : fs.readFileSync(path.join(dir, 'rsa.pem'), 'utf8');
  const mail = (i) => ({
    from: `Bench Sender <${FROM}>`,
    to: `Sink <${TO}>`,
    subject: `Message ${i} — Grüße`,
    text: `Hello ${i}\nThis is a benchmark message.\n`,
    html: `<p>Hello ${i}</p>`,
  });
  if (memory && process.env.SMTP_WASM_BENCH_BARE !== '1') {
    // The Node built-ins an SMTP client uses, loaded before the window for both sides (nodemailer loads them when
    // it is imported, smtp-wasm on its first connection): the window then holds what each library's send costs,
    // not Node loading its own modules. SMTP_WASM_BENCH_BARE=1 leaves them out (a script that imported the library
    // and nothing else).
    for (const m of ['node:net', 'node:tls', 'node:dns', 'node:crypto', 'node:stream', 'node:fs/promises']) await import(m);
    globalThis.crypto.getRandomValues(new Uint8Array(16));
  }
  if (side === 'smtp-wasm') {
    const api = await import(path.join(dist, 'node.js'));
    await api.init();
    await api.initCompose();
    if (scenario === 'dkim') {
      const dkim = { domainName: 'example.com', keySelector: 's1', privateKey: key };
      for (let i = 0; i < 50; i++) await api.composeMessage({ ...mail(i), dkim });
      const t0 = performance.now();
      for (let i = 0; i < count; i++) await api.composeMessage({ ...mail(i), dkim });
      return { rate: count / ((performance.now() - t0) / 1000) };
    }
    if (scenario !== 'send') {
      // The top-level sendMail (its own connection), as a user sends a file; nothing sent before the window.
      const sendMail = (opts) => api.sendMail({ host: HOST, port, tls: 'none', ...opts });
      if (scenario.startsWith('warm')) await sendMail({ ...mail(0), attachments: [bigAttachment(scenario, path.join(dir, 'small.bin'))] });
      globalThis.gc?.();
      const window = peakWindow();
      if (scenario === 'raw') await sendMail({ from: FROM, to: TO, message: encodedLike(33_800_000) });
      else await sendMail({ ...mail(1), attachments: [bigAttachment(scenario, path.join(dir, 'big.bin'))] });
      return { addedBytes: window().growth };
    }
    const client = await api.SmtpClient.connect(await api.connectTcp(HOST, port), { serverName: 'localhost' });
    const send = async (opts, stream) => {
      const message = stream ? await api.composeMessage(opts, { stream: true }) : await api.composeMessage(opts);
      await client.sendMail({ from: FROM, to: TO, message });
    };
    for (let i = 0; i < 50; i++) await send({ ...mail(i), attachments: [{ filename: 'a.bin', content: attachment }] });
    const t0 = performance.now();
    for (let i = 0; i < count; i++) await send({ ...mail(i), attachments: [{ filename: 'a.bin', content: attachment }] });
    const rate = count / ((performance.now() - t0) / 1000);
    await client.quit();
    return { rate };
  }
  const nm = nodemailer();
  if (scenario === 'dkim') {
    const t = nm.createTransport({ streamTransport: true, buffer: true, dkim: { domainName: 'example.com', keySelector: 's1', privateKey: key } });
    for (let i = 0; i < 50; i++) await t.sendMail(mail(i));
    const t0 = performance.now();
    for (let i = 0; i < count; i++) await t.sendMail(mail(i));
    return { rate: count / ((performance.now() - t0) / 1000) };
  }
  const t = nm.createTransport({ host: HOST, port, secure: false, ignoreTLS: true, pool: true, maxConnections: 1, maxMessages: Infinity });
  const env = { envelope: { from: FROM, to: [TO] } };
  if (scenario === 'send') {
    for (let i = 0; i < 50; i++) await t.sendMail({ ...mail(i), ...env, attachments: [{ filename: 'a.bin', content: attachment }] });
    const t0 = performance.now();
    for (let i = 0; i < count; i++) await t.sendMail({ ...mail(i), ...env, attachments: [{ filename: 'a.bin', content: attachment }] });
    const rate = count / ((performance.now() - t0) / 1000);
    t.close();
    return { rate };
  }
  if (scenario.startsWith('warm')) await t.sendMail({ ...mail(0), ...env, attachments: [bigAttachment(scenario, path.join(dir, 'small.bin'))] });
  globalThis.gc?.();
  const window = peakWindow();
  await t.sendMail({ ...mail(1), ...env, attachments: [bigAttachment(scenario, path.join(dir, 'big.bin'))] });
  const added = window().growth;
  t.close();
  return { addedBytes: added };
}

// ------------------------------------------------------------------------------------------------ parent
async function main() {
  const { execFileSync } = await import('node:child_process');
  const { generateKeyPairSync } = await import('node:crypto');
  const os = (await import('node:os')).default;
  const count = Number(opt('--count', '1000'));
  const rounds = Number(opt('--rounds', '3'));
  const out = path.resolve(opt('--out', path.join(HERE, 'compose-results.json')));
  const dist = path.resolve(opt('--dist', path.join(ROOT, 'dist')));
  const only = opt('--only', 'send,dkim,stream').split(',');
  const scenarios = [
    ...(only.includes('send') ? ['send'] : []),
    ...(only.includes('dkim') ? ['dkim'] : []),
    ...(only.includes('stream') ? ['path', 'stream', 'warm-path', 'warm-stream', 'raw'] : []),
  ];
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'smtp-wasm-compose-bench-'));
  fs.writeFileSync(path.join(dir, 'rsa.pem'), generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }));
  fs.writeFileSync(path.join(dir, 'big.bin'), Buffer.alloc(25_000_000).map((_, i) => (i * 7 + (i >> 11)) & 255));
  fs.writeFileSync(path.join(dir, 'small.bin'), Buffer.alloc(100_000).map((_, i) => (i * 7 + (i >> 11)) & 255));
  // The shared smtp-sink of scripts/servers.sh (plaintext, discards everything).
  const servers = { sinkPort: Number(process.env.SMTP_WASM_SINK_PORT ?? 2600), stop: async () => {} };
  const results = {};
  try {
    for (let round = 0; round < rounds; round++) {
      for (const scenario of scenarios) {
        const both = round % 2 === 0 ? ['smtp-wasm', 'nodemailer'] : ['nodemailer', 'smtp-wasm'];
        // raw: the client's share of smtp-wasm's figure (the same bytes as a finished message).
        const sides = scenario === 'raw' ? ['smtp-wasm'] : both;
        for (const side of sides) {
          const stdout = execFileSync(process.execPath, ['--expose-gc', fileURLToPath(import.meta.url), '--worker', side, scenario, String(servers.sinkPort), String(count), dir, dist], { maxBuffer: 1 << 24 }).toString();
          const line = stdout.split('\n').find((l) => l.startsWith('RESULT '));
          const value = JSON.parse(line.slice(7));
          (results[`${scenario}/${side}`] ??= []).push(value.rate ?? value.addedBytes);
          console.log(`round ${round + 1} ${scenario} ${side}: ${value.rate ? `${value.rate.toFixed(1)} msg/s` : `${(value.addedBytes / 1e6).toFixed(1)} MB added`}`);
        }
      }
    }
  } finally {
    await servers.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const summary = {};
  for (const [k, v] of Object.entries(results)) summary[k] = { median: median(v), all: v };
  for (const s of ['send', 'dkim'].filter((s) => scenarios.includes(s))) {
    summary[`${s}/ratio`] = summary[`${s}/smtp-wasm`].median / summary[`${s}/nodemailer`].median;
  }
  const record = { date: new Date().toISOString(), node: process.version, cpus: os.cpus().length, load: os.loadavg(), count, rounds, dist, summary };
  fs.writeFileSync(out, JSON.stringify(record, null, 2) + '\n');
  console.log(JSON.stringify(summary, null, 2));
}

if (args[0] === '--worker') {
  const [, side, scenario, port, count, dir, dist] = args;
  const result = await worker(side, scenario, Number(port), Number(count), dir, dist);
  console.log(`RESULT ${JSON.stringify(result)}`);
  process.exit(0);
} else {
  await main();
}
