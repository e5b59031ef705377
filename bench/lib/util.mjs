// Small helpers of the benchmark harness: statistics, ports, child processes.
import { spawn } from 'node:child_process';
import net from 'node:net';

/** The median of numbers (mean of the two middle ones for an even count). */
export function median(values) {
  const v = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return null;
  const mid = v.length >> 1;
  return v.length % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
}

/** The q-quantile (0..1) by linear interpolation. */
export function quantile(values, q) {
  const v = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return null;
  const pos = (v.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return v[lo] + (v[hi] - v[lo]) * (pos - lo);
}

/** A TCP port free on 127.0.0.1 right now (the kernel's pick). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** Resolves once `port` answers with an SMTP greeting (a line starting with 220), or rejects after `timeoutMs`. */
export async function waitForGreeting(port, timeoutMs = 15000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise((resolve) => {
      const sock = net.connect(port, '127.0.0.1');
      let buf = '';
      const done = (v) => {
        sock.destroy();
        resolve(v);
      };
      sock.setTimeout(2000, () => done(false));
      sock.on('error', () => done(false));
      sock.on('data', (d) => {
        buf += d.toString('latin1');
        if (buf.includes('\n')) {
          sock.write('QUIT\r\n');
          done(buf.startsWith('220'));
        }
      });
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`no SMTP greeting on 127.0.0.1:${port} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Runs `cmd args` to completion; resolves with { code, stdout, stderr }. Kills it (process group) after `timeoutMs`.
 */
export function run(cmd, args, { timeoutMs = 600_000, env, cwd, input } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env: env ?? process.env, cwd, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${cmd} ${args.join(' ')}: timed out after ${timeoutMs} ms\n${stderr}`));
    }, timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.on('error', () => {}); // a command that exits without reading its stdin: no EPIPE
    if (input !== undefined) child.stdin.end(input);
    else child.stdin.end();
  });
}

/** Waits `ms` milliseconds. */
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
