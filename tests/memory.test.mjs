// Memory by design (not timed): the wasm heap holds a fixed window of message content and TLS records, so the wasm
// linear memory (which never shrinks) is the same after streaming 100 MB over STARTTLS as after 1 MB, each from a
// fresh process. Each send runs in its own Node process (this file, with SMTP_WASM_MEMORY_CHILD set) against the
// loopback sink of tests/sink.mjs; the child reports the memory's size before and after, and its RSS growth.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";

const MB = 1_000_000;
/** The body writer's slice size (ts/client.ts BODY_SLICE): what one chunk of the stream is. */
const CHUNK = 64 * 1024;

if (process.env.SMTP_WASM_MEMORY_CHILD !== undefined) {
  await child(JSON.parse(process.env.SMTP_WASM_MEMORY_CHILD));
} else {
  const { startSink } = await import("./sink.mjs");
  let sink;
  before(async () => {
    sink = await startSink({ chunking: process.env.SMTP_WASM_MEMORY_CHUNKING === "1" });
  });
  after(() => sink?.close());

  test("the wasm memory after a 100 MB streamed send over STARTTLS is the same window as after 1 MB", async () => {
    const small = await send({ port: sink.port, cert: sink.cert, bytes: 1 * MB });
    const large = await send({ port: sink.port, cert: sink.cert, bytes: 100 * MB });
    assert.equal(sink.received.length, 2);
    assert.ok(sink.received[1] >= 100 * MB, `the sink got ${sink.received[1]} bytes`);
    console.log(`# wasm memory: 1 MB: ${kib(small.memoryBefore)} -> ${kib(small.memoryAfter)} KiB; ` +
      `100 MB: ${kib(large.memoryBefore)} -> ${kib(large.memoryAfter)} KiB`);
    console.log(`# RSS growth (VmHWM from before the send): 1 MB: ${kib(small.rssGrowth)} KiB; ` +
      `100 MB: ${kib(large.rssGrowth)} KiB`);
    // The window the heap needs: the 64 KiB slice the driver hands in (ts/client.ts BODY_SLICE), its dot-stuffed
    // copy, its TLS records and their ciphertext before the driver takes it (measured: +320 KiB over the instance's
    // start), plus the allocator's slack. A heap that grew with the message would be ~100 MB over it.
    const WINDOW = 1024 * 1024;
    for (const [name, run] of [["1 MB", small], ["100 MB", large]]) {
      const grew = run.memoryAfter - run.memoryBefore;
      assert.ok(grew <= WINDOW, `${name}: the wasm memory grew by ${grew} bytes`);
    }
    // The same as after 1 MB, up to two 64 KiB pages: the allocator's layout depends on how reads and writes
    // interleave, which timing decides.
    assert.ok(large.memoryAfter - small.memoryAfter <= 128 * 1024, "the wasm memory grew with the message size");
  });
}

function kib(bytes) {
  return Math.round(bytes / 1024);
}

/** Runs one send in a fresh Node process; resolves with what it reports. */
function send(params) {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [fileURLToPath(import.meta.url)], {
      env: { ...process.env, SMTP_WASM_MEMORY_CHILD: JSON.stringify(params) },
      stdio: ["ignore", "pipe", "inherit"],
    });
    let out = "";
    proc.stdout.on("data", (d) => (out += d));
    proc.on("error", reject);
    proc.on("close", (code) => {
      const line = out.split("\n").find((l) => l.startsWith("RESULT "));
      if (code !== 0 || line === undefined) reject(new Error(`child exited ${code}: ${out}`));
      else resolve(JSON.parse(line.slice(7)));
    });
  });
}

function statusBytes(field) {
  try {
    const m = readFileSync("/proc/self/status", "utf8").match(new RegExp(`^${field}:\\s+(\\d+) kB`, "m"));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

async function child({ port, cert, bytes }) {
  const api = await import("../dist/node.js");
  await api.init();
  // wasm-bindgen's initSync returns the instance's exports once initialised: the memory is among them.
  const { initSync } = await import("../dist/smtp_wasm.js");
  const memory = initSync(undefined).memory;
  const memoryBefore = memory.buffer.byteLength;
  try {
    // The high-water mark from here on (Linux); elsewhere the growth reads 0.
    (await import("node:fs")).writeFileSync("/proc/self/clear_refs", "5");
  } catch {}
  const rssBefore = process.memoryUsage.rss();
  const line = new TextEncoder().encode("A".repeat(76) + "\r\n");
  const chunk = new Uint8Array(Math.floor(CHUNK / line.length) * line.length);
  for (let at = 0; at < chunk.length; at += line.length) chunk.set(line, at);
  let left = bytes;
  const message = new ReadableStream(
    {
      pull(controller) {
        if (left <= 0) {
          controller.close();
          return;
        }
        const piece = left >= chunk.length ? chunk : chunk.subarray(0, left);
        left -= piece.length;
        controller.enqueue(piece);
      },
    },
    { highWaterMark: 0 },
  );
  const client = await api.SmtpClient.connect(await api.connectTcp("127.0.0.1", port), {
    serverName: "localhost",
    rootCertificates: cert,
    onlyRootCertificates: true,
  });
  await client.startTls();
  await client.sendMail({ from: "a@example.test", to: "b@example.test", message });
  await client.quit();
  const rssGrowth = Math.max(statusBytes("VmHWM"), process.memoryUsage.rss()) - rssBefore;
  console.log(`RESULT ${JSON.stringify({ memoryBefore, memoryAfter: memory.buffer.byteLength, rssGrowth })}`);
}
