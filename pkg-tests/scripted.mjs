// Tiny scripted SMTP servers for the failure cases no real server produces on demand, started by run.mjs on
// 127.0.0.1 (ephemeral ports) and reachable over TCP and, for browsers, over a WebSocket that speaks SMTP directly
// (as a bridge to them would):
//   drop    greets, answers EHLO (no STARTTLS), MAIL, RCPT, then 354 to DATA, and drops the connection as soon as
//           the message content starts (or 200 ms after the 354)
//   silent  accepts and never sends a byte
//   clientcert  implicit TLS (node:tls) that requires a client certificate from its own test CA, offers AUTH
//           EXTERNAL and names the certificate's CN in its 235; over WebSocket through a small bridge to it
// Their ports go to the scenario as SMTP_WASM_SCRIPTED_DROP_PORT, _SILENT_PORT, _CLIENTCERT_PORT, and _WS_PORT for
// each; the client certificate's PEMs as SMTP_WASM_SCRIPTED_CLIENTCERT_{CA,CERT,KEY,OTHER_KEY} (the last: a key
// that does not belong to the certificate).
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { connect, createServer } from "node:net";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createServer as createTlsServer } from "node:tls";

/** Drives one connection: `send(text)`, `drop()`; returns the handler for received bytes. */
function dropSession(send, drop) {
  let buffered = "";
  let inData = false;
  send("220 drop.example.test ESMTP scripted\r\n");
  return (bytes) => {
    if (inData) {
      drop();
      return;
    }
    buffered += Buffer.from(bytes).toString("latin1");
    for (let at = buffered.indexOf("\n"); at >= 0; at = buffered.indexOf("\n")) {
      const line = buffered.slice(0, at).replace(/\r$/, "");
      buffered = buffered.slice(at + 1);
      const verb = line.slice(0, 4).toUpperCase();
      if (verb === "EHLO") send("250-drop.example.test\r\n250-PIPELINING\r\n250 8BITMIME\r\n");
      else if (verb === "HELO" || verb === "MAIL" || verb === "RCPT" || verb === "RSET" || verb === "NOOP") {
        send("250 ok\r\n");
      } else if (verb === "DATA") {
        send("354 go ahead\r\n");
        inData = true;
        setTimeout(drop, 200);
        if (buffered.length > 0) drop();
        return;
      } else if (verb === "QUIT") {
        send("221 bye\r\n");
        drop();
        return;
      } else send("502 not here\r\n");
    }
  };
}

function tcpServer(kind) {
  const server = createServer((socket) => {
    socket.on("error", () => {});
    if (kind === "silent") return;
    const onData = dropSession(
      (text) => socket.write(text),
      () => socket.destroy(),
    );
    socket.on("data", onData);
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(server)));
}

/** A WebSocket server on 127.0.0.1 (an ephemeral port) that runs `onConnection(ws)` for each client. */
function listenWs(WebSocketServer, onConnection) {
  return new Promise((resolve) => {
    const server = new WebSocketServer({ host: "127.0.0.1", port: 0, handleProtocols: () => "binary" }, () =>
      resolve(server),
    );
    server.on("connection", onConnection);
  });
}

function wsServer(WebSocketServer, kind) {
  return listenWs(WebSocketServer, (ws) => {
    ws.on("error", () => {});
    if (kind === "silent") return;
    const onData = dropSession(
      (text) => ws.send(Buffer.from(text, "latin1")),
      () => ws.terminate(),
    );
    ws.on("message", onData);
  });
}

/** A test CA, a server certificate for localhost and an ECDSA P-256 client certificate (CN alice), from openssl. */
function clientCertFiles() {
  const dir = mkdtempSync(join(tmpdir(), "smtp-wasm-clientcert-"));
  const run = (...a) => execFileSync("openssl", a, { cwd: dir, stdio: ["ignore", "ignore", "pipe"] });
  try {
    const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];
    run("req", "-x509", ...ec, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=client-cert test CA",
      "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign");
    for (const [name, ext] of [["server", "subjectAltName=DNS:localhost\nextendedKeyUsage=serverAuth\n"],
      ["client", "extendedKeyUsage=clientAuth\n"], ["other", "extendedKeyUsage=clientAuth\n"]]) {
      run("req", ...ec, "-keyout", `${name}.key`, "-out", `${name}.csr`, "-subj", `/CN=${name === "server" ? "localhost" : "alice"}`);
      writeFileSync(join(dir, `${name}.ext`), ext);
      run("x509", "-req", "-in", `${name}.csr`, "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-out",
        `${name}.pem`, "-days", "2", "-extfile", `${name}.ext`);
    }
    const read = (f) => readFileSync(join(dir, f), "utf8");
    return { ca: read("ca.pem"), serverKey: read("server.key"), serverCert: read("server.pem"), cert: read("client.pem"),
      key: read("client.key"), otherKey: read("other.key") };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The client-certificate server: SMTP over implicit TLS, AUTH EXTERNAL answered with the certificate's CN. */
function clientCertServer(files) {
  const server = createTlsServer(
    { key: files.serverKey, cert: files.serverCert, ca: files.ca, requestCert: true, rejectUnauthorized: true },
    (socket) => {
      socket.on("error", () => {});
      const cn = socket.getPeerCertificate().subject?.CN ?? "nobody";
      socket.write("220 clientcert.example.test ESMTP scripted\r\n");
      let buffered = "";
      let inData = false;
      socket.on("data", (bytes) => {
        buffered += bytes.toString("latin1");
        for (let at = buffered.indexOf("\r\n"); at >= 0; at = buffered.indexOf("\r\n")) {
          const line = buffered.slice(0, at);
          buffered = buffered.slice(at + 2);
          if (inData) {
            if (line === ".") {
              inData = false;
              socket.write(`250 2.0.0 accepted from ${cn}\r\n`);
            }
            continue;
          }
          const verb = line.slice(0, 4).toUpperCase();
          if (verb === "EHLO") socket.write("250-clientcert.example.test\r\n250-PIPELINING\r\n250 AUTH EXTERNAL\r\n");
          else if (/^AUTH EXTERNAL/i.test(line)) socket.write(`235 2.7.0 hello ${cn}\r\n`);
          else if (verb === "MAIL" || verb === "RCPT" || verb === "RSET" || verb === "NOOP") socket.write("250 ok\r\n");
          else if (verb === "DATA") {
            inData = true;
            socket.write("354 go ahead\r\n");
          } else if (verb === "QUIT") socket.end("221 bye\r\n");
          else socket.write("502 not here\r\n");
        }
      });
    },
  );
  server.on("tlsClientError", () => {});
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(server)));
}

/** A WebSocket-to-TCP bridge to `port` (for browsers: the TLS bytes pass through untouched). */
function wsBridge(WebSocketServer, port) {
  return listenWs(WebSocketServer, (ws) => {
    const tcp = connect(port, "127.0.0.1");
    tcp.on("data", (d) => ws.send(d));
    tcp.on("close", () => ws.close());
    tcp.on("error", () => ws.terminate());
    ws.on("message", (d) => tcp.write(d));
    ws.on("close", () => tcp.destroy());
    ws.on("error", () => tcp.destroy());
  });
}

/** Starts the servers; returns `{ env, close() }`. The WebSocket ones need `ws` (the package's own dependency). */
export async function startScripted(root) {
  const servers = [];
  const env = {};
  for (const kind of ["drop", "silent"]) {
    const tcp = await tcpServer(kind);
    servers.push(tcp);
    env[`SMTP_WASM_SCRIPTED_${kind.toUpperCase()}_PORT`] = String(tcp.address().port);
  }
  let files = null;
  try {
    files = clientCertFiles();
  } catch {
    // No openssl: the client-certificate cases are skipped (scripts/setup.sh servers installs it).
  }
  if (files !== null) {
    const tls = await clientCertServer(files);
    servers.push(tls);
    env.SMTP_WASM_SCRIPTED_CLIENTCERT_PORT = String(tls.address().port);
    Object.assign(env, {
      SMTP_WASM_SCRIPTED_CLIENTCERT_CA: files.ca,
      SMTP_WASM_SCRIPTED_CLIENTCERT_CERT: files.cert,
      SMTP_WASM_SCRIPTED_CLIENTCERT_KEY: files.key,
      SMTP_WASM_SCRIPTED_CLIENTCERT_OTHER_KEY: files.otherKey,
    });
  }
  try {
    const { WebSocketServer } = createRequire(join(root, "package.json"))("ws");
    for (const kind of ["drop", "silent"]) {
      const ws = await wsServer(WebSocketServer, kind);
      servers.push(ws);
      env[`SMTP_WASM_SCRIPTED_${kind.toUpperCase()}_WS_PORT`] = String(ws.address().port);
    }
    if (env.SMTP_WASM_SCRIPTED_CLIENTCERT_PORT) {
      const ws = await wsBridge(WebSocketServer, Number(env.SMTP_WASM_SCRIPTED_CLIENTCERT_PORT));
      servers.push(ws);
      env.SMTP_WASM_SCRIPTED_CLIENTCERT_WS_PORT = String(ws.address().port);
    }
  } catch {
    // No ws: the browser skips these cases.
  }
  return {
    env,
    close() {
      for (const server of servers) {
        if (typeof server.clients === "object") for (const client of server.clients) client.terminate();
        server.close();
      }
    },
  };
}
