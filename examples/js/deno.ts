// Deno 2: `deno add npm:smtp-wasm`, then `deno run --allow-net --allow-env --allow-read deno.ts`.
import { SmtpClient, connectTcp } from "smtp-wasm";

const env = Deno.env.toObject();
const ca = env.SMTP_CA ? await Deno.readTextFile(env.SMTP_CA) : undefined;
const host = env.SMTP_HOST ?? "smtp.example.com";
// The step-by-step API (Go's net/smtp shape); sendMail() does all of this in one call.
const duplex = await connectTcp(host, Number(env.SMTP_PORT ?? 587));
const client = await SmtpClient.connect(duplex, { serverName: env.SMTP_TLS_NAME ?? host, rootCertificates: ca });
try {
  await client.startTls(); // fails with a TlsError if the server does not offer it
  console.log("extensions:", Object.keys(client.capabilities() ?? {}).join(" "));
  await client.auth({ username: env.SMTP_USER ?? "alice", password: env.SMTP_PASS ?? "secret" });
  await client.mail("alice@example.test");
  await client.rcpt("bob@example.test");
  const writer = await client.data();
  await writer.write("Subject: Hello from Deno\r\n\r\n");
  await writer.write("Written in two parts.\r\n");
  const reply = await writer.close();
  console.log(`${reply.code} ${reply.text}`);
  await client.quit();
} finally {
  await client.close();
}
