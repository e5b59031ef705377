// LMTP with one status per recipient, XCLIENT from a trusted proxy, and go-smtp's backendutil (smtp-wasm/server).
import { SmtpServer, SmtpError, transformBackend } from "smtp-wasm/server";

const backend = {
  anonymousLogin: (state) => ({
    mail() {},
    rcpt() {},
    data() {},
    async lmtpData(stream, status) {
      const text = await new Response(stream).text();
      console.log(`${state.remoteAddress}: ${text.length} characters, ${text.includes("X-Scanned") ? "scanned" : "?"}`);
      const full = new SmtpError({ code: 452, enhancedCode: [4, 2, 2], message: "mailbox full" });
      status.setStatus("full@example.test", full); // unset recipients are delivered (250)
    },
    reset() {},
    logout() {},
  }),
  // XCLIENT: only the proxy at this address may assert another client (state.original keeps the real one).
  allowProxy: (actual, asserted) => actual.remoteAddress === "127.0.0.1",
};

const server = new SmtpServer({
  lmtp: true,
  domain: "lmtp.example.test",
  backend: transformBackend(backend, {
    transformRcpt: (to) => to.toLowerCase(),
    transformData: (stream) =>
      stream.pipeThrough(
        new TransformStream({
          start(c) {
            c.enqueue(new TextEncoder().encode("X-Scanned: yes\r\n"));
          },
        }),
      ),
  }),
});
const { port } = await server.listen({ host: "127.0.0.1", port: Number(process.env.PORT ?? 2424) });
console.log(`listening on 127.0.0.1:${port}`);
process.once("SIGTERM", async () => {
  await server.close();
  process.exit(0);
});
