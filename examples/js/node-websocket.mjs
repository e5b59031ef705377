// Node 20 has no global WebSocket: pass the one from the `ws` package (Node 22+, Deno, Bun and browsers have one).
import { readFileSync } from "node:fs";
import { connectWebSocket, sendMail } from "smtp-wasm";
import WebSocket from "ws";

const env = process.env;
const bridge = env.SMTP_BRIDGE ?? "wss://bridge.example.com/"; // a WebSocket-to-TCP bridge in front of the server
const result = await sendMail({
  host: env.SMTP_TLS_NAME ?? "smtp.example.com", // the name TLS verifies; the bridge decides where bytes go
  connect: () => connectWebSocket(bridge, ["binary"], { WebSocket }),
  rootCertificates: env.SMTP_CA ? readFileSync(env.SMTP_CA, "utf8") : undefined,
  auth: { username: env.SMTP_USER ?? "alice", password: env.SMTP_PASS ?? "secret" },
  from: "alice@example.test",
  to: "bob@example.test",
  message: "Subject: Hello through a bridge\r\n\r\nThe bridge saw only ciphertext.\r\n",
});
console.log(`${result.reply.code} ${result.reply.text}`);
