// The smtp-wasm/server scenario, run the same in Node, Deno and Bun (pkg-tests/server-runtimes.test.mjs starts it
// with each runtime): a server with STARTTLS and implicit TLS on a test CA, AUTH, a recording backend; then real
// clients send to it — swaks (STARTTLS + AUTH), Python smtplib SMTP_SSL, and smtp-wasm's own client in the same
// runtime — and the stored bytes are compared with what was sent; a backend that throws gives 451 4.3.0; close()
// sends 421 to an open session. Prints one JSON line { ok, results } and exits 0 when everything held.
//
//   <runtime> pkg-tests/server-scenario.mjs CERT_FILE KEY_FILE CA_FILE
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import net from "node:net";

const isDeno = typeof globalThis.Deno !== "undefined";
const server_ = await import(isDeno ? "../dist/server/deno.js" : "../dist/server/node.js");
const client_ = await import(isDeno ? "../dist/deno.js" : "../dist/node.js");
const { SmtpServer, SmtpError } = server_;
const args = isDeno ? globalThis.Deno.args : process.argv.slice(2);
const [certFile, keyFile, caFile] = args;
const cert = readFileSync(certFile, "utf8");
const key = readFileSync(keyFile, "utf8");
const ca = readFileSync(caFile, "utf8");

const results = [];
const check = (name, ok, detail = "") => results.push({ name, ok: Boolean(ok), ...(ok ? {} : { detail }) });

const stored = [];
const session = (state) => {
  let from = null;
  let to = [];
  return {
    mail(f) {
      if (f === "boom@example.test") throw new Error("internal detail");
      from = f;
      to = [];
    },
    rcpt(r) {
      if (r.startsWith("nobody")) throw new SmtpError({ code: 550, enhancedCode: [5, 1, 1], message: "no such user" });
      to.push(r);
    },
    async data(stream) {
      const chunks = [];
      for await (const c of stream) chunks.push(c);
      let n = 0;
      for (const c of chunks) n += c.byteLength;
      const body = new Uint8Array(n);
      let at = 0;
      for (const c of chunks) {
        body.set(c, at);
        at += c.byteLength;
      }
      stored.push({ from, to, body: new TextDecoder().decode(body), user: state.username ?? null, tls: state.tls });
      return `OK: queued as m${stored.length}`;
    },
    reset() {},
    logout() {},
  };
};
const server = new SmtpServer({
  domain: "scenario.test",
  tls: { cert, key },
  backend: {
    login(state, username, password) {
      if (username !== "alice" || password !== "secret") {
        throw new SmtpError({ code: 535, enhancedCode: [5, 7, 8], message: "Authentication failed" });
      }
      return session(state);
    },
    anonymousLogin: (state) => session(state),
  },
});
const origError = console.error;
console.error = () => {}; // the backend's "internal detail" is logged there; keep the output one JSON line

const { port } = await server.listen({ host: "127.0.0.1", port: 0 });
const { port: tlsPort } = await server.listen({ host: "127.0.0.1", port: 0, implicitTls: true });

function run(cmd, argv, input) {
  return new Promise((resolve) => {
    const child = spawn(cmd, argv, { stdio: ["pipe", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (out += d));
    child.on("close", (code) => resolve({ code, out }));
    child.stdin.on("error", () => {}); // a command that exits without reading its stdin: no EPIPE
    if (input === undefined) child.stdin.end();
    else child.stdin.end(input);
  });
}

const msg = (subject) =>
  `From: a@example.test\r\nTo: b@example.test\r\nSubject: ${subject}\r\n\r\nline\r\n..dots\r\n.\r\nend\r\n`;

// swaks: STARTTLS verified against the CA, AUTH PLAIN.
{
  const body = msg("swaks");
  const r = await run("swaks", ["--server", `127.0.0.1:${port}`, "--from", "s@example.test", "--to", "b@example.test",
    "--tls", "--tls-verify", "--tls-ca-path", caFile, "--auth", "PLAIN", "--auth-user", "alice", "--auth-password",
    "secret", "--data", "-"], body);
  const got = stored.find((m) => m.body.includes("Subject: swaks"));
  check("swaks STARTTLS+AUTH", r.code === 0 && got && got.body === body + "\r\n" && got.user === "alice" && got.tls,
    r.out.slice(-800));
}
// Python smtplib SMTP_SSL (implicit TLS).
{
  const body = msg("smtplib");
  const py = `import smtplib, ssl, sys
s = smtplib.SMTP_SSL("localhost", ${tlsPort}, context=ssl.create_default_context(cafile=${JSON.stringify(caFile)}))
s.login("alice", "secret")
print(s.sendmail("p@example.test", ["q@example.test"], sys.stdin.buffer.read()))
s.quit()`;
  const r = await run("python3", ["-c", py], body);
  const got = stored.find((m) => m.body.includes("Subject: smtplib"));
  check("smtplib SMTP_SSL", r.code === 0 && got && got.body === body && got.tls?.protocolVersion === "TLSv1.3", r.out);
}
// Our own client, in this runtime: STARTTLS, AUTH, a refused recipient, BDAT (CHUNKING is offered).
{
  const body = msg("ours");
  try {
    const result = await client_.sendMail({ host: "127.0.0.1", port, serverName: "localhost", rootCertificates: ca,
      auth: { username: "alice", password: "secret" }, from: "o@example.test",
      to: ["x@example.test", "nobody@example.test"], message: body });
    const got = stored.find((m) => m.body.includes("Subject: ours"));
    check("smtp-wasm client", got && got.body === body && result.accepted.join() === "x@example.test" &&
      result.rejected[0]?.error.code === 550 && /queued as m\d/.test(result.reply.text),
      JSON.stringify({ accepted: result.accepted, reply: result.reply }));
  } catch (error) {
    check("smtp-wasm client", false, String(error));
  }
}
// Raw: a backend that throws -> 451 4.3.0 without the internals; a wrong password -> 535; close() -> 421.
{
  const socket = net.connect({ host: "127.0.0.1", port });
  let buf = "";
  socket.on("data", (d) => (buf += d.toString("latin1")));
  const until = async (re) => {
    for (let i = 0; i < 200 && !re.test(buf); i++) await new Promise((r) => setTimeout(r, 10));
    return re.test(buf);
  };
  await until(/^220 /m);
  socket.write("EHLO raw\r\nMAIL FROM:<boom@example.test>\r\n");
  const got451 = await until(/^451 4\.3\.0 /m);
  check("backend throws -> 451 4.3.0", got451 && !buf.includes("internal detail"), buf);
  socket.write(`AUTH PLAIN ${btoa("\0alice\0wrong")}\r\n`);
  // Plaintext AUTH from 127.0.0.1 without secureNets: refused before the backend is asked.
  check("AUTH before TLS refused", await until(/^5\d\d 5\.7\.\d+ /m), buf);
  const closing = server.close();
  check("close() -> 421", await until(/^421 /m), buf);
  await closing;
  socket.destroy();
}

console.error = origError;
const ok = results.every((r) => r.ok);
console.log(JSON.stringify({ ok, runtime: isDeno ? "deno" : globalThis.Bun ? "bun" : `node ${process.version}`, results }));
if (isDeno) globalThis.Deno.exit(ok ? 0 : 1);
else process.exit(ok ? 0 : 1);
