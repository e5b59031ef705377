// Cloudflare Workers: TCP through cloudflare:sockets, TLS inside the wasm. Workers cannot reach port 25: use 587/465.
// Set SMTP_HOST, SMTP_USER and SMTP_PASS as variables and secrets of the Worker (`wrangler secret put SMTP_PASS`).
import { sendMail } from "smtp-wasm";

export default {
  async fetch(request, env) {
    try {
      const result = await sendMail({
        host: env.SMTP_HOST,
        port: Number(env.SMTP_PORT ?? 587),
        serverName: env.SMTP_TLS_NAME,
        rootCertificates: env.SMTP_CA, // PEM text, only for a private CA
        auth: { username: env.SMTP_USER, password: env.SMTP_PASS },
        from: "alice@example.test",
        to: "bob@example.test",
        message: "Subject: Hello from a Worker\r\n\r\nSent with smtp-wasm.\r\n",
      });
      return Response.json({ accepted: result.accepted, reply: `${result.reply.code} ${result.reply.text}` });
    } catch (error) {
      return Response.json({ error: `${error.name}: ${error.message}` }, { status: 502 });
    }
  },
};
