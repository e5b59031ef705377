// The message composed by the core (MIME, any language, attachments, inline images) and DKIM-signed: no `message`.
// The composer is a second wasm, loaded on first use only. Node 20+, Bun, Deno.
import { readFileSync } from "node:fs";
import { sendMail } from "smtp-wasm";

const env = process.env;
const result = await sendMail({
  host: env.SMTP_HOST ?? "smtp.example.com",
  port: Number(env.SMTP_PORT ?? 587),
  serverName: env.SMTP_TLS_NAME,
  rootCertificates: env.SMTP_CA ? readFileSync(env.SMTP_CA, "utf8") : undefined,
  auth: { username: env.SMTP_USER ?? "alice", password: env.SMTP_PASS ?? "secret" },
  from: { name: "Zoë Ålander", address: "alice@example.test" },
  to: "Bob <bob@example.test>",
  bcc: "archive@example.test", // in the envelope only, never in the message
  subject: "Grüße 👋 — the report",
  text: "Hello Bob,\nthe report is attached.\n",
  html: '<p>Hello Bob,</p><p>the report is attached.</p><img src="cid:logo@example.test">',
  attachments: [
    { filename: "report – Q3.csv", content: "region,total\nnorth,42\n" },
    { filename: "logo.gif", content: Uint8Array.from(atob("R0lGODlhAQABAAAAACw="), (c) => c.charCodeAt(0)), cid: "logo@example.test" },
    // A file is read while the message is sent, 64 KiB at a time (Node, Deno, Bun); a ReadableStream<Uint8Array>
    // or an async iterable as `content` is encoded as it is read too.
    { path: new URL("./node-compose.mjs", import.meta.url) },
  ],
  headers: { "X-Mailer-Example": "node-compose" },
  // Signed when a key is given: PEM, RSA (PKCS#8 or PKCS#1) or Ed25519; several keys give several signatures.
  dkim: env.DKIM_KEY
    ? { domainName: "example.test", keySelector: "s1", privateKey: readFileSync(env.DKIM_KEY, "utf8") }
    : undefined,
});
console.log(`accepted for ${result.accepted.join(", ")}: ${result.reply.code} ${result.reply.text}`);
