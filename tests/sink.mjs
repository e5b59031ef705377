// A minimal SMTP sink on loopback for tests that stream large messages (tests/memory.test.mjs): EHLO with
// PIPELINING, 8BITMIME, STARTTLS (and CHUNKING when asked), every command accepted, the content counted and
// discarded. STARTTLS uses a throwaway self-signed certificate for "localhost" made with the openssl CLI.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import tls from "node:tls";

/** A self-signed leaf for "localhost" (not a CA: webpki refuses a CA certificate as the server's). */
export function selfSignedLocalhost() {
  const dir = mkdtempSync(join(tmpdir(), "smtp-wasm-sink-"));
  try {
    const key = join(dir, "key.pem");
    const cert = join(dir, "cert.pem");
    const run = spawnSync(
      "openssl",
      [
        "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "2",
        "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost",
        "-addext", "basicConstraints=critical,CA:FALSE", "-keyout", key, "-out", cert,
      ],
      { encoding: "utf8" },
    );
    if (run.status !== 0) throw new Error(`openssl failed: ${run.stderr}`);
    return { key: readFileSync(key, "utf8"), cert: readFileSync(cert, "utf8") };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Starts the sink on 127.0.0.1 (a port the kernel picks). Resolves with `{ port, cert, received, close() }`;
 * `received` is an array of the content byte counts of the messages accepted so far.
 */
export async function startSink({ chunking = false } = {}) {
  const { key, cert } = selfSignedLocalhost();
  const received = [];
  const sockets = new Set();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    session(socket, { key, cert, chunking, received });
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: server.address().port,
    cert,
    received,
    close() {
      for (const socket of sockets) socket.destroy();
      return new Promise((resolve) => server.close(resolve));
    },
  };
}

const DOT = Buffer.from("\r\n.\r\n");

function session(raw, { key, cert, chunking, received }) {
  let socket = raw;
  let secure = false;
  let buffer = Buffer.alloc(0);
  /** "command", "data" (until the dot), or "bdat" (skip `bdatLeft` bytes). */
  let mode = "command";
  let bdatLeft = 0;
  let bdatLast = false;
  let size = 0;
  const write = (text) => socket.write(text);

  const onData = (chunk) => {
    buffer = buffer.length === 0 ? chunk : Buffer.concat([buffer, chunk]);
    for (;;) {
      if (mode === "data") {
        const end = buffer.indexOf(DOT);
        if (end < 0) {
          // Keep the last 4 bytes: the dot sequence may straddle two chunks.
          const keep = Math.min(buffer.length, DOT.length - 1);
          size += buffer.length - keep;
          buffer = buffer.subarray(buffer.length - keep);
          return;
        }
        size += end + 2;
        buffer = buffer.subarray(end + DOT.length);
        received.push(size);
        mode = "command";
        write("250 2.0.0 queued\r\n");
        continue;
      }
      if (mode === "bdat") {
        const take = Math.min(bdatLeft, buffer.length);
        bdatLeft -= take;
        size += take;
        buffer = buffer.subarray(take);
        if (bdatLeft > 0) return;
        mode = "command";
        if (bdatLast) {
          received.push(size);
          write("250 2.0.0 queued\r\n");
        } else {
          write("250 2.0.0 chunk\r\n");
        }
        continue;
      }
      const eol = buffer.indexOf("\r\n");
      if (eol < 0) {
        if (buffer.length > 4096) socket.destroy();
        return;
      }
      const line = buffer.subarray(0, eol).toString("latin1");
      buffer = buffer.subarray(eol + 2);
      const verb = line.slice(0, 4).toUpperCase();
      if (verb === "EHLO") {
        const ext = ["PIPELINING", "8BITMIME", ...(chunking ? ["CHUNKING"] : []), ...(secure ? [] : ["STARTTLS"])];
        write(["250-localhost", ...ext.slice(0, -1).map((e) => `250-${e}`), `250 ${ext.at(-1)}`].join("\r\n") + "\r\n");
      } else if (verb === "STAR" && !secure) {
        write("220 2.0.0 ready\r\n");
        raw.off("data", onData);
        buffer = Buffer.alloc(0);
        secure = true;
        socket = new tls.TLSSocket(raw, { isServer: true, key, cert });
        socket.on("data", onData);
        socket.on("error", () => raw.destroy());
      } else if (verb === "DATA") {
        mode = "data";
        size = 0;
        write("354 go ahead\r\n");
      } else if (verb === "BDAT") {
        const m = /^BDAT (\d+)( LAST)?$/i.exec(line);
        if (m === null) {
          write("501 5.5.4 syntax\r\n");
          continue;
        }
        bdatLeft = Number(m[1]);
        bdatLast = m[2] !== undefined;
        mode = "bdat";
      } else if (verb === "MAIL") {
        size = 0;
        bdatLast = false;
        write("250 2.1.0 ok\r\n");
      } else if (verb === "QUIT") {
        write("221 2.0.0 bye\r\n");
        socket.end();
        return;
      } else {
        write("250 2.0.0 ok\r\n");
      }
    }
  };
  raw.on("data", onData);
  raw.on("error", () => {});
  raw.write("220 localhost ESMTP sink\r\n");
}
