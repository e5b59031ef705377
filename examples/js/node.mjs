// Node 20+ and Bun. The settings come from the environment; only the host is really needed.
import { readFileSync } from "node:fs";
import { sendMail } from "smtp-wasm";

const env = process.env;
const result = await sendMail({
  host: env.SMTP_HOST ?? "smtp.example.com",
  port: Number(env.SMTP_PORT ?? 587), // 587: STARTTLS, required by default; 465: implicit TLS
  serverName: env.SMTP_TLS_NAME, // the name on the certificate, if not the host (default: host)
  rootCertificates: env.SMTP_CA ? readFileSync(env.SMTP_CA, "utf8") : undefined, // a private CA, if any
  auth: { username: env.SMTP_USER ?? "alice", password: env.SMTP_PASS ?? "secret" },
  from: "alice@example.test",
  to: ["bob@example.test"],
  message: "From: alice@example.test\r\nTo: bob@example.test\r\nSubject: Hello\r\n\r\nHello from Node!\r\n",
});
console.log(`accepted for ${result.accepted.join(", ")}: ${result.reply.code} ${result.reply.text}`);
console.log(`over ${result.tls?.protocolVersion} (${result.tls?.cipherSuite})`);
