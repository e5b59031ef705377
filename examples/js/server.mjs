// An SMTP server with STARTTLS, AUTH and a backend that counts what it receives (smtp-wasm/server).
// TLS_CERT and TLS_KEY name PEM files; PORT defaults to 2525.
import fs from "node:fs";
import { SmtpServer, SmtpError, ErrAuthFailed, createRateLimiter } from "smtp-wasm/server";

const session = (state) => ({
  mail(from, opts) {}, // opts: { body, size, utf8, requireTls, auth, ret, envelopeId }
  rcpt(to, opts) {
    if (to.endsWith("@nowhere.test")) {
      throw new SmtpError({ code: 550, enhancedCode: [5, 1, 1], message: "no such user" });
    }
  },
  async data(stream) {
    // The message, un-dot-stuffed; read at your own pace (backpressure slows the client down).
    let size = 0;
    for await (const chunk of stream) size += chunk.byteLength;
    console.log(`${state.remoteAddress} (${state.username ?? "anonymous"}): ${size} bytes`);
    return "OK: queued"; // optional: the text of the 250
  },
  reset() {},
  logout() {},
});

const server = new SmtpServer({
  backend: {
    login(state, username, password) {
      // AUTH PLAIN / LOGIN, after STARTTLS (or from secureNets)
      if (password !== "secret") throw ErrAuthFailed; // 535 5.7.8, counted by the rate limiter
      return session(state);
    },
    anonymousLogin: (state) => session(state), // MAIL without AUTH
  },
  domain: "mx.example.test",
  tls: { cert: fs.readFileSync(process.env.TLS_CERT, "utf8"), key: fs.readFileSync(process.env.TLS_KEY, "utf8") },
  rateLimiter: createRateLimiter({ rate: 10 / 60, burst: 5 }), // per client address
  secureNets: ["127.0.0.0/8"], // may AUTH without TLS
});
const { port } = await server.listen({ host: "127.0.0.1", port: Number(process.env.PORT ?? 2525) });
console.log(`listening on 127.0.0.1:${port}`);
process.once("SIGTERM", async () => {
  await server.close(); // open sessions get 421
  process.exit(0);
});
