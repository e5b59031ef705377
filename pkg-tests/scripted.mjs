// Tiny scripted SMTP servers for the failure cases no real server produces on demand, started by run.mjs on
// 127.0.0.1 (ephemeral ports) and reachable over TCP and, for browsers, over a WebSocket that speaks SMTP directly
// (as a bridge to them would):
//   drop    greets, answers EHLO (no STARTTLS), MAIL, RCPT, then 354 to DATA, and drops the connection as soon as
//           the message content starts (or 200 ms after the 354)
//   silent  accepts and never sends a byte
// Their ports go to the scenario as SMTP_WASM_SCRIPTED_DROP_PORT, _SILENT_PORT, _DROP_WS_PORT, _SILENT_WS_PORT.
import { createServer } from "node:net";
import { createRequire } from "node:module";
import { join } from "node:path";

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

function wsServer(WebSocketServer, kind) {
  return new Promise((resolve) => {
    const server = new WebSocketServer({ host: "127.0.0.1", port: 0, handleProtocols: () => "binary" }, () =>
      resolve(server),
    );
    server.on("connection", (ws) => {
      ws.on("error", () => {});
      if (kind === "silent") return;
      const onData = dropSession(
        (text) => ws.send(Buffer.from(text, "latin1")),
        () => ws.terminate(),
      );
      ws.on("message", onData);
    });
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
  try {
    const { WebSocketServer } = createRequire(join(root, "package.json"))("ws");
    for (const kind of ["drop", "silent"]) {
      const ws = await wsServer(WebSocketServer, kind);
      servers.push(ws);
      env[`SMTP_WASM_SCRIPTED_${kind.toUpperCase()}_WS_PORT`] = String(ws.address().port);
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
