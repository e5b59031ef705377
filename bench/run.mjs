// smtp-wasm vs nodemailer, same machine, same run: `npm run bench` (full) or `npm run bench -- --quick`.
//
//   node bench/run.mjs [--quick] [--only small,large,handshake,import,concurrent,sizes,workerd,codec,server]
//                      [--rounds N] [--out bench/results.json] [--no-report] [--sides smtp-wasm,nodemailer]
//
// Starts its own servers on loopback (bench/lib/servers.mjs), runs every measurement in a fresh Node process
// (bench/worker.mjs), alternating which side goes first in each round, and reports medians and the ratio
// smtp-wasm / nodemailer. Writes bench/results.json (one record per metric) and regenerates BENCHMARKS.md and
// bench/chart.svg from it (bench/report.mjs). --quick shrinks every scenario to a smoke run: it checks that each
// scenario runs and that results are written; it never judges speed (the numbers of a quick run mean little).
//
// The `server` scenario (issue 11, bench/lib/server-bench.mjs) measures the other side: smtp-wasm/server on Node
// against Nodemailer's smtp-server, go-smtp and aiosmtpd, with Postfix's smtp-source as the load generator. Its rows
// compare smtp-wasm/server (the smtp-wasm column) with one other server each (named in the row; the nodemailer column
// holds that server's figure).
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import zlib from 'node:zlib';

import { criterionRecords } from './lib/criterion.mjs';
import { ROOT, STATE, startServers } from './lib/servers.mjs';
import { median, quantile, run } from './lib/util.mjs';

const BENCH = path.dirname(fileURLToPath(import.meta.url));
const PKG = path.resolve(process.env.SMTP_WASM_BENCH_PACKAGE ?? ROOT);
const args = process.argv.slice(2);
const flag = (name) => args.includes(name);
const opt = (name, dflt) => {
  const i = args.indexOf(name);
  if (i >= 0) return args[i + 1];
  const eq = args.find((a) => a.startsWith(`${name}=`));
  return eq ? eq.slice(name.length + 1) : dflt;
};
const QUICK = flag('--quick');
const ALL = ['codec', 'sizes', 'import', 'small', 'large', 'fresh', 'handshake', 'workerd', 'concurrent', 'server'];
const ONLY = opt('--only', '')
  .split(',')
  .filter(Boolean);
for (const s of ONLY) if (!ALL.includes(s)) throw new Error(`unknown scenario ${s} (${ALL.join(', ')})`);
// Criterion needs a release build of the bench (~40 s cold) and runs for minutes: full runs only, unless asked.
const want = (s) => (ONLY.length ? ONLY.includes(s) : s !== 'codec' || !QUICK);
const OUT = path.resolve(opt('--out', path.join(BENCH, QUICK ? 'results.quick.json' : 'results.json')));
const ROUNDS = opt('--rounds') ? Number(opt('--rounds')) : undefined;

const CONFIG = QUICK
  ? {
      small: { count: 100, warmup: 20, size: 1024, rounds: 1 },
      large: { target: 2_000_000, warmupTarget: 200_000, rounds: 1 },
      fresh: { targets: [1_000_000, 2_000_000], rounds: 1 },
      handshake: { count: 10, warmup: 2, rounds: 1 },
      import: { runs: 3 },
      concurrent: { sessions: 20, messages: 2, size: 1024, rounds: 1 },
      workerd: { count: 5, warmup: 1 },
      server: { s1: 100, s20: 200, idle: 100, handshakes: 10, largeBytes: 2_000_000, rounds: 1 },
    }
  : {
      small: { count: 2000, warmup: 1000, size: 1024, rounds: 5 },
      large: { target: 25_000_000, warmupTarget: 1_000_000, rounds: 3 },
      fresh: { targets: [1_000_000, 25_000_000, 100_000_000], rounds: 3 },
      handshake: { count: 200, warmup: 10, rounds: 3 },
      import: { runs: 20 },
      concurrent: { sessions: 200, messages: 5, size: 1024, rounds: 3 },
      workerd: { count: 200, warmup: 10 },
      server: { s1: 3000, s20: 10000, idle: 1000, handshakes: 200, largeBytes: 25_000_000, rounds: 3 },
    };
if (ROUNDS) for (const c of Object.values(CONFIG)) if ('rounds' in c) c.rounds = ROUNDS;

const log = (...a) => console.log('[bench]', ...a);
const failures = [];
const versionsExtra = {};
const records = [];
const SIDES = opt('--sides', 'smtp-wasm,nodemailer').split(',').filter(Boolean); // --sides nodemailer: harness work

// ------------------------------------------------------------------------------------------------ preparation
function ensureBenchDeps() {
  const lock = path.join(BENCH, 'package-lock.json');
  const stamp = path.join(BENCH, 'node_modules', '.lock-sha');
  const sha = fs.existsSync(lock) ? hash(fs.readFileSync(lock)) : 'none';
  if (!fs.existsSync(stamp) || fs.readFileSync(stamp, 'utf8') !== sha) {
    log('npm ci in bench/');
    execFileSync('npm', ['ci', '--no-audit', '--no-fund'], { cwd: BENCH, stdio: 'inherit' });
    fs.writeFileSync(stamp, sha);
  }
  // The package under test is the repo itself, resolved through its package.json `exports` like an install would.
  // SMTP_WASM_BENCH_PACKAGE=DIR benchmarks another copy of the package (an unpacked tarball, another worktree).
  const link = path.join(BENCH, 'node_modules', 'smtp-wasm');
  const target = path.relative(path.dirname(link), PKG);
  let current = null;
  try {
    current = fs.readlinkSync(link);
  } catch {
    // absent (or not a link: leave a real install alone)
  }
  if (current !== target && !(fs.existsSync(link) && current === null)) {
    fs.rmSync(link, { force: true });
    fs.symlinkSync(target, link, 'dir');
  }
}
function hash(buf) {
  return createHash('sha256').update(buf).digest('hex');
}
function ensurePackageBuilt() {
  if (fs.existsSync(path.join(PKG, 'dist', 'smtp_wasm_bg.wasm'))) return;
  log(`${PKG}/dist missing: npm run build`);
  execFileSync('npm', ['run', 'build'], { cwd: PKG, stdio: 'inherit' });
}
function pkgVersion(dir) {
  try {
    return JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')).version;
  } catch {
    return undefined;
  }
}
function cmdOut(cmd, a) {
  try {
    return execFileSync(cmd, a, { stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
  } catch {
    return undefined;
  }
}

// ------------------------------------------------------------------------------------------------ running
/** Runs one worker process; resolves with its RESULT object, or records the failure and resolves with null. */
async function worker(scenario, side, params, { node = process.execPath, timeoutMs = 600_000 } = {}) {
  const r = await run(node, ['--expose-gc', path.join(BENCH, 'worker.mjs'), scenario, side, JSON.stringify(params)], {
    timeoutMs,
    cwd: BENCH,
  }).catch((error) => ({ code: -1, stdout: '', stderr: String(error) }));
  const line = r.stdout.split('\n').find((l) => l.startsWith('RESULT '));
  if (r.code !== 0 || !line) {
    const why = `${scenario}/${side}: exit ${r.code}\n${r.stderr.trim().split('\n').slice(-15).join('\n')}`;
    failures.push(why);
    log(`FAILED ${why}`);
    return null;
  }
  return JSON.parse(line.slice(7));
}

/** Runs `rounds` rounds of both sides, alternating which goes first; returns { 'smtp-wasm': [...], nodemailer: [...] }. */
async function interleaved(scenario, params, rounds) {
  const out = { 'smtp-wasm': [], nodemailer: [] };
  for (let r = 0; r < rounds; r++) {
    const order = r % 2 === 0 ? SIDES : [...SIDES].reverse();
    for (const side of order) {
      const res = await worker(scenario, side, params);
      if (res) out[side].push(res);
      log(`${scenario} round ${r + 1}/${rounds} ${side}: ${res ? summary(scenario, res) : 'failed'}`);
    }
  }
  return out;
}
function summary(scenario, r) {
  switch (scenario) {
    case 'small':
      return `${r.perSec.toFixed(0)} msg/s, ${r.cpuUsPerMessage.toFixed(0)} µs CPU/message`;
    case 'fresh':
      return `${r.mbPerSec.toFixed(1)} MB/s, CPU ${r.cpuSecs.toFixed(2)} s, peak RSS +${(r.growth / 2 ** 20).toFixed(1)} MiB${r.wasmMemoryAfter ? `, wasm ${r.wasmMemoryAfter / 1024} KiB` : ''}${r.cipherSuite ? `, ${r.cipherSuite}` : ''}`;
    case 'large':
      return `${r.mbPerSec.toFixed(1)} MB/s, peak RSS +${(r.growth / 1e6).toFixed(1)} MB`;
    case 'handshake':
      return `median CPU ${median(r.cpuMs).toFixed(2)} ms, wall ${median(r.wallMs).toFixed(2)} ms`;
    case 'concurrent':
      return `${r.okSessions}/${r.sessions} ok, ${r.perSec.toFixed(0)} msg/s, ${(r.rssPerSession / 1024).toFixed(0)} kB RSS/session`;
    case 'import':
      return `${r.ms.toFixed(1)} ms`;
    default:
      return JSON.stringify(r);
  }
}

/** A record: both sides' medians, the ratio smtp-wasm / nodemailer, the goal and whether it is met. */
function record(name, unit, wasm, nm, goal, extra = {}) {
  const ratio = wasm != null && nm != null && nm !== 0 ? wasm / nm : null;
  let met = null;
  if (goal) {
    const subject = goal.of === 'ratio' ? ratio : goal.of === 'nodemailer' ? nm : wasm;
    if (subject != null) met = goal.op === '>=' ? subject >= goal.value : goal.op === '<=' ? subject <= goal.value : subject === goal.value;
  }
  const rec = { name, unit, 'smtp-wasm': wasm, nodemailer: nm, ratio, goal: goal ?? null, met, ...extra };
  records.push(rec);
  return rec;
}
const goalText = (g) => (g ? `${g.of === 'ratio' ? 'ratio' : g.of} ${g.op} ${g.value}${g.unit ? ` ${g.unit}` : ''}` : '');

// ------------------------------------------------------------------------------------------------ scenarios
async function runSizes() {
  const wasmPath = path.join(PKG, 'dist', 'smtp_wasm_bg.wasm');
  const wasm = fs.readFileSync(wasmPath);
  const gz = zlib.gzipSync(wasm, { level: 9 }).length;
  const br = zlib.brotliCompressSync(wasm, { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 11 } }).length;
  record('.wasm size (raw)', 'kB', wasm.length / 1000, null, null);
  record('.wasm size (gzip -9)', 'kB', gz / 1000, null, { of: 'smtp-wasm', op: '<=', value: 250 });
  record('.wasm size (brotli 11)', 'kB', br / 1000, null, null);
  // The Mozilla roots, a separate module since issue 14: loaded only by connections that trust them.
  const rootsPath = path.join(PKG, 'dist', 'mozilla_roots.js');
  if (fs.existsSync(rootsPath)) {
    const roots = fs.readFileSync(rootsPath);
    record('mozilla_roots.js, loaded separately (gzip -9)', 'kB', zlib.gzipSync(roots, { level: 9 }).length / 1000, null, null);
    record('.wasm + mozilla_roots.js (gzip -9)', 'kB', (gz + zlib.gzipSync(roots, { level: 9 }).length) / 1000, null, null);
  }
  let unpacked = null;
  let tarball = null;
  const packJson = cmdOut('npm', ['pack', '--dry-run', '--json', '--ignore-scripts', PKG]);
  if (packJson) {
    const info = JSON.parse(packJson)[0];
    unpacked = info.unpackedSize / 1000;
    tarball = info.size / 1000;
  } else failures.push('sizes: npm pack --dry-run failed');
  const nmDir = path.join(BENCH, 'node_modules', 'nodemailer');
  const nmUnpacked = Number(cmdOut('du', ['-sb', '--apparent-size', nmDir])?.split('\t')[0]) / 1000 || null;
  record('package unpacked (npm pack)', 'kB', unpacked, nmUnpacked, null, { detail: { tarballKb: tarball } });
  log(`sizes: wasm ${(wasm.length / 1000).toFixed(1)} kB raw, ${(gz / 1000).toFixed(1)} kB gzip; package ${unpacked} kB unpacked`);
}

async function runImport() {
  const { runs } = CONFIG.import;
  const out = { 'smtp-wasm': [], nodemailer: [] };
  for (let i = 0; i < runs; i++) {
    for (const side of i % 2 === 0 ? SIDES : [...SIDES].reverse()) {
      const r = await worker('import', side, {});
      if (r) out[side].push(r.ms);
    }
  }
  log(`import: smtp-wasm median ${median(out['smtp-wasm'])?.toFixed(1)} ms, nodemailer ${median(out.nodemailer)?.toFixed(1)} ms`);
  record('import + instantiate (cold Node process)', 'ms', median(out['smtp-wasm']), median(out.nodemailer),
    { of: 'smtp-wasm', op: '<=', value: 30 }, { samples: out });
}

async function runSmall(servers) {
  const c = CONFIG.small;
  const res = await interleaved('small', { port: servers.sinkPort, ...c }, c.rounds);
  const m = (s) => median(res[s].map((r) => r.perSec));
  record(`small messages, one connection (${c.count} x ${c.size} B, smtp-sink)`, 'messages/s', m('smtp-wasm'), m('nodemailer'),
    { of: 'ratio', op: '>=', value: 3 }, { rounds: roundsOf(res, 'perSec'), cpuUsPerMessage: medians(res, 'cpuUsPerMessage') });
  // The same work with every sendMail issued before the first completes: what pipelining across transactions gives.
  const q = await interleaved('small', { port: servers.sinkPort, ...c, queued: true }, c.rounds);
  const mq = (s) => median(q[s].map((r) => r.perSec));
  record(`small messages, one connection, all sendMail calls queued at once`, 'messages/s', mq('smtp-wasm'), mq('nodemailer'),
    null, { rounds: roundsOf(q, 'perSec'), cpuUsPerMessage: medians(q, 'cpuUsPerMessage') });
}
const medians = (res, key) => Object.fromEntries(Object.entries(res).map(([s, rs]) => [s, median(rs.map((r) => r[key]))]));

async function runLarge(servers) {
  const c = CONFIG.large;
  const res = await interleaved('large', { port: servers.serverPort, ca: servers.ca, ...c }, c.rounds);
  const m = (s, k) => median(res[s].map((r) => r[k]));
  const mb = (c.target / 1e6).toFixed(0);
  record(`one ${mb} MB message over STARTTLS (smtp-server), streamed`, 'MB/s', m('smtp-wasm', 'mbPerSec'), m('nodemailer', 'mbPerSec'),
    { of: 'ratio', op: '>=', value: 0.8 }, { rounds: roundsOf(res, 'mbPerSec') });
  record(`peak RSS growth sending one ${mb} MB message`, 'MB', scale(m('smtp-wasm', 'growth'), 1e-6), scale(m('nodemailer', 'growth'), 1e-6),
    { of: 'smtp-wasm', op: '<=', value: 8 }, { rounds: roundsOf(res, 'growth', 1e-6), method: res['smtp-wasm'][0]?.method });
}

/**
 * The issue-14 rows: the first large message of a fresh process (no warm-up), memory from before the send (after
 * import + instantiate), to smtp-server (ours) at 1, 25 and 100 MB, and to Postfix (the shared instance of
 * scripts/servers.sh, when its env.sh is sourced: SMTP_WASM_POSTFIX_PORT, SMTP_WASM_CA) at 25 MB.
 */
async function runFresh(servers) {
  const c = CONFIG.fresh;
  const mib = (v) => scale(v, 1 / 2 ** 20);
  const wasmMem = {};
  for (const target of c.targets) {
    const res = await interleaved('fresh', { port: servers.serverPort, ca: servers.ca, target }, c.rounds);
    const m = (s, k) => median(res[s].map((r) => r[k]));
    const mb = (target / 1e6).toFixed(0);
    record(`fresh process, one ${mb} MB message over STARTTLS (smtp-server): peak RSS growth from before the send`, 'MiB',
      mib(m('smtp-wasm', 'growth')), mib(m('nodemailer', 'growth')), target === 25_000_000 ? { of: 'ratio', op: '<=', value: 0.75 } : null,
      { rounds: roundsOf(res, 'growth', 1 / 2 ** 20) });
    record(`fresh process, one ${mb} MB message over STARTTLS (smtp-server), first send`, 'MB/s', m('smtp-wasm', 'mbPerSec'),
      m('nodemailer', 'mbPerSec'), null, { rounds: roundsOf(res, 'mbPerSec'), cpuMbPerSec: medians(res, 'cpuMbPerSec') });
    wasmMem[mb] = res['smtp-wasm'].map((r) => r.wasmMemoryAfter);
    record(`fresh process, one ${mb} MB message: wasm linear memory after the send`, 'KiB',
      scale(median(wasmMem[mb]), 1 / 1024), null, null, { rounds: { 'smtp-wasm': wasmMem[mb] }, before: res['smtp-wasm'][0]?.wasmMemoryBefore });
  }
  const growthOf = (mb) => records.find((r) => r.name.startsWith(`fresh process, one ${mb} MB message over STARTTLS (smtp-server): peak`))?.['smtp-wasm'];
  if (growthOf(100) != null && growthOf(25) != null) {
    record('fresh process: RSS growth for 100 MB minus for 25 MB', 'MiB', growthOf(100) - growthOf(25), null, { of: 'smtp-wasm', op: '<=', value: 4 });
  }
  const pfPort = Number(process.env.SMTP_WASM_POSTFIX_PORT);
  const pfCa = process.env.SMTP_WASM_CA;
  if (!pfPort || !pfCa || !fs.existsSync(pfCa)) {
    log('fresh: no Postfix (source /tmp/smtp-wasm-state/env.sh after scripts/servers.sh up for the Postfix rows)');
    return;
  }
  const target = c.targets.includes(25_000_000) ? 25_000_000 : c.targets[c.targets.length - 1];
  const started = Date.now();
  const res = await interleaved('fresh', { port: pfPort, ca: pfCa, target }, c.rounds);
  await removeDeliveredBenchMessages(process.env.SMTP_WASM_POSTFIX_MAILDIR, started);
  const m = (s, k) => median(res[s].map((r) => r[k]));
  const mb = (target / 1e6).toFixed(0);
  record(`one ${mb} MB message over STARTTLS to Postfix, fresh process`, 'MB/s', m('smtp-wasm', 'mbPerSec'), m('nodemailer', 'mbPerSec'),
    { of: 'ratio', op: '>=', value: 1 }, { rounds: roundsOf(res, 'mbPerSec'), cipherSuite: res['smtp-wasm'][0]?.cipherSuite });
  record(`one ${mb} MB message over STARTTLS to Postfix, fresh process: client CPU`, 'CPU s', m('smtp-wasm', 'cpuSecs'), m('nodemailer', 'cpuSecs'),
    null, { rounds: roundsOf(res, 'cpuSecs') });
  record(`one ${mb} MB message over STARTTLS to Postfix, fresh process: peak RSS growth from before the send`, 'MiB',
    mib(m('smtp-wasm', 'growth')), mib(m('nodemailer', 'growth')), { of: 'ratio', op: '<=', value: 0.75 }, { rounds: roundsOf(res, 'growth', 1 / 2 ** 20) });
}

/**
 * The shared Postfix delivers what the bench sends into its Maildir (25 MB per message): once the last delivery is
 * in, remove the bench's own messages (delivered since `since`, with the bench's subject), nothing else.
 */
async function removeDeliveredBenchMessages(maildir, since) {
  if (!maildir) return;
  await new Promise((r) => setTimeout(r, 3000));
  let removed = 0;
  for (const sub of ['new', 'cur']) {
    const dir = path.join(maildir, sub);
    let names = [];
    try {
      names = fs.readdirSync(dir);
    } catch {
      continue;
    }
    for (const name of names) {
      const file = path.join(dir, name);
      try {
        if (fs.statSync(file).mtimeMs < since) continue;
        const fd = fs.openSync(file, 'r');
        const head = Buffer.alloc(4096);
        const n = fs.readSync(fd, head, 0, head.length, 0);
        fs.closeSync(fd);
        if (head.subarray(0, n).includes('Subject: large benchmark message')) {
          fs.rmSync(file);
          removed += 1;
        }
      } catch {
        // Gone or unreadable: not ours to worry about.
      }
    }
  }
  log(`fresh: removed ${removed} delivered bench message(s) from ${maildir}`);
}

async function runHandshake(servers) {
  const c = CONFIG.handshake;
  const res = await interleaved('handshake', { port: servers.serverPort, ca: servers.ca, ...c }, c.rounds);
  const all = (s, k) => res[s].flatMap((r) => r[k]);
  const stats = (s) => ({ p10: quantile(all(s, 'cpuMs'), 0.1), p90: quantile(all(s, 'cpuMs'), 0.9), n: all(s, 'cpuMs').length,
    wallMedianMs: median(all(s, 'wallMs')) });
  record('STARTTLS session CPU per connection (connect, EHLO, STARTTLS, EHLO, QUIT), Node', 'ms CPU', median(all('smtp-wasm', 'cpuMs')),
    median(all('nodemailer', 'cpuMs')), { of: 'smtp-wasm', op: '<=', value: 3 },
    { detail: { 'smtp-wasm': stats('smtp-wasm'), nodemailer: stats('nodemailer') }, rounds: {
      'smtp-wasm': res['smtp-wasm'].map((r) => median(r.cpuMs)), nodemailer: res.nodemailer.map((r) => median(r.cpuMs)) } });
}

async function runConcurrent(servers) {
  const c = CONFIG.concurrent;
  const res = await interleaved('concurrent', { port: servers.serverPort, ca: servers.ca, ...c }, c.rounds);
  const m = (s, k) => median(res[s].map((r) => r[k]));
  const fails = (s) => (res[s].length ? res[s].reduce((n, r) => n + r.failed, 0) : null);
  record(`${c.sessions} concurrent STARTTLS sessions: sessions failed (all rounds)`, 'sessions', fails('smtp-wasm'), fails('nodemailer'),
    { of: 'smtp-wasm', op: '<=', value: 0 }, { firstError: res['smtp-wasm'].find((r) => r.firstError)?.firstError });
  record(`${c.sessions} concurrent sessions x ${c.messages} messages (smtp-server)`, 'messages/s', m('smtp-wasm', 'perSec'), m('nodemailer', 'perSec'),
    null, { rounds: roundsOf(res, 'perSec') });
  record(`memory per open session (${c.sessions} open, RSS)`, 'kB', scale(m('smtp-wasm', 'rssPerSession'), 1 / 1024), scale(m('nodemailer', 'rssPerSession'), 1 / 1024),
    null, { rounds: roundsOf(res, 'rssPerSession', 1 / 1024) });
  for (const s of SIDES) if (res[s].length === 0 || fails(s) > 0) failures.push(`concurrent: ${s} sessions failed`);
}

async function runWorkerd(servers) {
  const { runWorkerdHandshakes } = await import('./lib/workerd.mjs');
  const c = CONFIG.workerd;
  const r = await runWorkerdHandshakes({ pkgDir: PKG, port: servers.serverPort, ca: servers.ca, ...c, log }).catch((error) => {
    failures.push(`workerd: ${error.stack ?? error}`);
    log(`FAILED workerd: ${error.message}`);
    return null;
  });
  if (!r) return;
  versionsExtra.workerd = r.version;
  record('STARTTLS session CPU per connection, inside workerd (all workerd threads, incl. the HTTP request)', 'ms CPU', median(r.cpuMs), null,
    { of: 'smtp-wasm', op: '<=', value: 3 }, { detail: { n: r.cpuMs.length, p10: quantile(r.cpuMs, 0.1), p90: quantile(r.cpuMs, 0.9), emptyRequestMedianMs: median(r.noopMs) } });
}

async function runCodec() {
  const cargoArgs = ['bench', '--bench', 'codec', '--'];
  if (QUICK) cargoArgs.push('--quick');
  log(`cargo ${cargoArgs.join(' ')}`);
  const r = await run('cargo', cargoArgs, { cwd: ROOT, timeoutMs: 1_200_000 });
  if (r.code !== 0) {
    failures.push(`codec: cargo bench failed\n${r.stderr.slice(-2000)}`);
    return;
  }
  const meta = JSON.parse(cmdOut('cargo', ['metadata', '--format-version', '1', '--no-deps', '--manifest-path', path.join(ROOT, 'Cargo.toml')]));
  for (const rec of criterionRecords(path.join(meta.target_directory, 'criterion'))) {
    record(rec.name, rec.unit, rec.smtpWasm, null, null, { detail: rec.detail, native: true });
  }
}

async function runServer() {
  const { runServerBench } = await import('./lib/server-bench.mjs');
  const c = CONFIG.server;
  const certs = await run('bash', [path.join(ROOT, 'scripts', 'certs.sh')], { env: { ...process.env, SMTP_WASM_STATE: STATE }, timeoutMs: 120_000 });
  if (certs.code !== 0) throw new Error(`scripts/certs.sh failed:\n${certs.stderr}`);
  const certDir = path.join(STATE, 'certs');
  const { results, versions, failures: failed } = await runServerBench({ pkg: PKG, state: STATE, certDir,
    ca: path.join(certDir, 'ca.pem'), config: c, log });
  failures.push(...failed);
  for (const [k, v] of Object.entries(versions)) if (k !== 'smtp-wasm/server') versionsExtra[k] = v;
  const ours = results['smtp-wasm/server'] ?? {};
  const rows = [
    ['s1', `server: messages/s, smtp-source -s 1 (${c.s1} x 1 kB, one per connection)`, 'messages/s', {}],
    ['s20', `server: messages/s, smtp-source -s 20 (${c.s20} x 1 kB, one per connection)`, 'messages/s',
      { 'smtp-server': { of: 'ratio', op: '>=', value: 3 }, 'go-smtp': { of: 'ratio', op: '>=', value: 1 } }],
    ['s20CpuUs', `server: server CPU per message, smtp-source -s 20`, 'µs CPU', {}],
    ['idleKb', `server: RSS per idle connection (${c.idle} open after EHLO, fresh process)`, 'kB', { 'smtp-server': { of: 'ratio', op: '<=', value: 0.5 } }],
    ['liveKb', `server: live memory per idle connection (${c.idle} open after EHLO, after a warm-up; JS heap + wasm after GC, Node servers)`, 'kB', { 'smtp-server': { of: 'ratio', op: '<=', value: 0.5 } }],
    ['handshakeCpuMs', 'server: server CPU per STARTTLS session (EHLO, STARTTLS, EHLO, QUIT)', 'ms CPU', {}],
    ['largeMbPerSec', `server: one ${(c.largeBytes / 1e6).toFixed(0)} MB message over STARTTLS (Node TLS client)`, 'MB/s', {}],
  ];
  for (const [key, name, unit, goals] of rows) {
    for (const other of ['smtp-server', 'go-smtp', 'aiosmtpd']) {
      if (!results[other] && !ours[key]) continue;
      if (results[other]?.[key] === null) continue; // not measurable there (live memory: Node servers only)
      record(`${name}: smtp-wasm/server vs ${other}`, unit, ours[key] ?? null, results[other]?.[key] ?? null, goals[other] ?? null,
        { against: other });
    }
  }
}

const scale = (v, k) => (v == null ? null : v * k);

function roundsOf(res, key, scale = 1) {
  return Object.fromEntries(Object.entries(res).map(([s, rs]) => [s, rs.map((r) => r[key] * scale)]));
}

// ------------------------------------------------------------------------------------------------ main
const started = new Date();
ensureBenchDeps();
const needsPackage = ALL.filter((s) => s !== 'codec').some(want) && SIDES.includes('smtp-wasm');
if (needsPackage) ensurePackageBuilt();
let servers;
const stopServers = async () => servers?.stop();
process.on('SIGINT', async () => {
  await stopServers();
  process.exit(130);
});
try {
  if (want('codec')) await runCodec();
  if (want('sizes') && needsPackage) await runSizes();
  if (want('import')) await runImport();
  if (['small', 'large', 'fresh', 'handshake', 'workerd', 'concurrent'].some(want)) servers = await startServers({ log });
  if (want('small')) await runSmall(servers);
  if (want('large')) await runLarge(servers);
  if (want('fresh')) await runFresh(servers);
  if (want('handshake')) await runHandshake(servers);
  if (want('workerd')) await runWorkerd(servers);
  if (want('concurrent')) await runConcurrent(servers);
  if (want('server')) await runServer();
} catch (error) {
  failures.push(String(error.stack ?? error));
} finally {
  await stopServers();
}

const gitRev = cmdOut('git', ['-C', ROOT, 'rev-parse', '--short', 'HEAD']);
const dirty = cmdOut('git', ['-C', ROOT, 'status', '--porcelain', '--untracked-files=no']);
const machine = {
  cpu: os.cpus()[0]?.model,
  cores: os.cpus().length,
  memoryGb: +(os.totalmem() / 2 ** 30).toFixed(1),
  os: `${os.type()} ${os.release()} ${os.arch()}`,
  loadavg: os.loadavg().map((x) => +x.toFixed(2)),
};
const versions = {
  node: process.version,
  'smtp-wasm': `${pkgVersion(ROOT)} (${gitRev}${dirty ? ', uncommitted changes' : ''})`,
  nodemailer: pkgVersion(path.join(BENCH, 'node_modules', 'nodemailer')),
  'smtp-server': pkgVersion(path.join(BENCH, 'node_modules', 'smtp-server')),
  postfix: servers?.versions?.smtpSink,
  rustc: cmdOut('rustc', ['--version']),
  ...versionsExtra,
};
const date = started.toISOString();
const doc = {
  mode: QUICK ? 'quick' : 'full',
  date,
  machine,
  versions,
  config: CONFIG,
  failures,
  records: records.map((r) => ({ ...r, machine: `${machine.cpu} x${machine.cores}`, versions, date })),
};
fs.writeFileSync(OUT, `${JSON.stringify(doc, null, 2)}\n`);
log(`wrote ${path.relative(process.cwd(), OUT)} (${records.length} records)`);
for (const r of records) {
  const f = (v) => (v == null ? '-' : v.toPrecision(4));
  log(`  ${r.name}: smtp-wasm ${f(r['smtp-wasm'])} ${r.unit}, ${r.against ?? 'nodemailer'} ${f(r.nodemailer)}, ratio ${f(r.ratio)}${r.goal ? `, goal ${goalText(r.goal)}: ${r.met === null ? 'n/a' : r.met ? 'met' : 'MISSED'}` : ''}`);
}
if (!flag('--no-report') && !QUICK) {
  const { writeReport } = await import('./report.mjs');
  writeReport(OUT);
}
if (failures.length) {
  log(`${failures.length} failure(s):\n${failures.join('\n---\n')}`);
  process.exit(1);
}
log('all scenarios ran');
