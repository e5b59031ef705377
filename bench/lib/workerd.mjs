// smtp-wasm's STARTTLS session inside workerd: a config that loads the package's workerd entrypoint unbundled
// (every dist/ file as a module, the .wasm as a wasm module), one request per session, and the CPU time of the
// whole workerd process (every thread, from /proc/PID/task/*/schedstat, nanoseconds) around each request.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

import { ROOT, STATE } from './servers.mjs';
import { freePort, median, run, sleep } from './util.mjs';

export function findWorkerd() {
  const candidates = [
    process.env.SMTP_WASM_WORKERD,
    path.join(ROOT, 'tools', 'node_modules', '@cloudflare', 'workerd-linux-64', 'bin', 'workerd'),
    path.join(ROOT, 'tools', 'node_modules', '.bin', 'workerd'),
  ].filter(Boolean);
  return candidates.find((p) => fs.existsSync(p)) ?? null;
}

function cpuNs(pid) {
  let total = 0;
  for (const t of fs.readdirSync(`/proc/${pid}/task`)) {
    try {
      total += Number(fs.readFileSync(`/proc/${pid}/task/${t}/schedstat`, 'utf8').split(' ')[0]);
    } catch {
      // thread gone
    }
  }
  return total;
}

export async function runWorkerdHandshakes({ pkgDir, port, ca, count, warmup, log }) {
  const workerd = findWorkerd();
  if (!workerd) throw new Error('workerd not found (scripts/setup.sh runtimes, or set SMTP_WASM_WORKERD)');
  const dir = path.join(STATE, 'workerd');
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  const dist = path.join(pkgDir, 'dist');
  // capnp embeds paths relative to the config file: copy what the Worker loads next to it.
  const pkgOut = path.join(dir, 'node_modules', 'smtp-wasm', 'dist');
  fs.mkdirSync(pkgOut, { recursive: true });
  fs.copyFileSync(path.join(ROOT, 'bench', 'workerd', 'worker.js'), path.join(dir, 'worker.js'));
  const modules = ['(name = "worker.js", esModule = embed "worker.js")'];
  for (const f of fs.readdirSync(dist).sort()) {
    const rel = `node_modules/smtp-wasm/dist/${f}`;
    if (f.endsWith('.js')) modules.push(`(name = "${rel}", esModule = embed "${rel}")`);
    else if (f.endsWith('.wasm')) modules.push(`(name = "${rel}", wasm = embed "${rel}")`);
    else continue;
    fs.copyFileSync(path.join(dist, f), path.join(dir, rel));
  }
  // The bare specifier 'smtp-wasm' -> the workerd entrypoint, through a one-line re-export module.
  fs.writeFileSync(path.join(dir, 'smtp-wasm.js'), "export * from './node_modules/smtp-wasm/dist/workerd.js';\n");
  modules.push('(name = "smtp-wasm", esModule = embed "smtp-wasm.js")');
  const httpPort = await freePort();
  const config = `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [
    (name = "main", worker = .bench),
    (name = "internet", network = (allow = ["public", "local", "private"])),
  ],
  sockets = [ (name = "http", address = "127.0.0.1:${httpPort}", http = (), service = "main") ],
);
const bench :Workerd.Worker = (
  modules = [
    ${modules.join(',\n    ')}
  ],
  compatibilityDate = "2025-01-01",
  globalOutbound = "internet",
);
`;
  const configPath = path.join(dir, 'config.capnp');
  fs.writeFileSync(configPath, config);
  const version = (await run(workerd, ['--version'])).stdout.trim() || undefined;
  const out = fs.openSync(path.join(dir, 'workerd.log'), 'a');
  const child = spawn(workerd, ['serve', configPath, '--verbose'], { stdio: ['ignore', out, out] });
  fs.closeSync(out);
  const base = `http://127.0.0.1:${httpPort}`;
  try {
    const deadline = Date.now() + 20_000;
    for (;;) {
      try {
        if ((await fetch(`${base}/noop`)).ok) break;
      } catch {
        // not up yet
      }
      if (child.exitCode !== null || Date.now() > deadline) {
        throw new Error(`workerd did not start: ${fs.readFileSync(path.join(dir, 'workerd.log'), 'utf8').slice(-2000)}`);
      }
      await sleep(100);
    }
    const caPem = fs.readFileSync(ca, 'utf8');
    const once = async (p) => {
      const c0 = cpuNs(child.pid);
      const res = await fetch(`${base}${p}`, p.startsWith('/handshake') ? { method: 'POST', body: caPem } : {});
      const body = await res.text();
      const c1 = cpuNs(child.pid);
      if (!res.ok) throw new Error(`workerd ${p}: ${res.status} ${body.slice(0, 500)}`);
      return (c1 - c0) / 1e6;
    };
    for (let i = 0; i < warmup; i++) await once(`/handshake?port=${port}`);
    const cpuMs = [];
    const noopMs = [];
    for (let i = 0; i < count; i++) {
      cpuMs.push(await once(`/handshake?port=${port}`));
      noopMs.push(await once('/noop'));
    }
    log?.(`workerd: median ${median(cpuMs).toFixed(2)} ms CPU per session, ${median(noopMs).toFixed(2)} ms per empty request`);
    return { cpuMs, noopMs, version };
  } finally {
    child.kill('SIGTERM');
    await sleep(200);
    if (child.exitCode === null) child.kill('SIGKILL');
  }
}
