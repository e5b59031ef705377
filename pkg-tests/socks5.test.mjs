// SOCKS5 (RFC 1928, RFC 1929) through real microsocks proxies of scripts/servers.sh: a whole delivery over STARTTLS
// and AUTH to smtp-server through the proxy, with and without proxy authentication, and the proxy's refusals.
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import net from "node:net";
import { serverEnv, listening } from "./lib/env.mjs";
import { ConnectionClosedError, InvalidInputError, connectSocks5, sendMail } from "../dist/node.js";

const env = serverEnv();
const HOST = "127.0.0.1";
const socks = env.SMTP_WASM_SOCKS_PORT;
const socksAuth = env.SMTP_WASM_SOCKS_AUTH_PORT;
const smtp = env.SMTP_WASM_SMTP_SERVER_PORT;

async function skipUnless(...ports) {
  for (const port of ports) {
    if (port !== undefined && env.SMTP_WASM_CA !== undefined && (await listening(port))) continue;
    const why = `no server on ${port} (scripts/servers.sh up microsocks smtp-server)`;
    if (process.env.SMTP_WASM_REQUIRE_SERVERS === "1") throw new Error(why);
    return why;
  }
  return false;
}

function mail(connect, subject) {
  return sendMail({
    host: "localhost", // the TLS name; the proxy is told the address below
    port: Number(smtp),
    connect,
    rootCertificates: fs.readFileSync(env.SMTP_WASM_CA, "utf8"),
    auth: { username: env.SMTP_WASM_USER, password: env.SMTP_WASM_PASS },
    from: "alice@example.test",
    to: "bob@example.test",
    message: `Subject: ${subject}\r\n\r\nthrough SOCKS5\r\n`,
    timeouts: { connect: 10_000, greeting: 10_000, command: 10_000 },
  });
}

test("sendMail through a SOCKS5 proxy without authentication: STARTTLS, AUTH, delivered", async (t) => {
  const skip = await skipUnless(socks, smtp);
  if (skip) return t.skip(skip);
  const result = await mail((_host, port) => connectSocks5({ host: HOST, port: Number(socks) }, HOST, port), "socks");
  assert.deepEqual(result.accepted, ["bob@example.test"]);
  assert.equal(result.reply.code, 250);
  assert.match(result.tls.protocolVersion, /^TLSv1\.[23]$/);
});

test("sendMail through a SOCKS5 proxy with username/password (RFC 1929), the target as a name", async (t) => {
  const skip = await skipUnless(socksAuth, smtp);
  if (skip) return t.skip(skip);
  const proxy = { host: HOST, port: Number(socksAuth), username: env.SMTP_WASM_USER, password: env.SMTP_WASM_PASS };
  // "localhost" is resolved by the proxy, not here.
  const result = await mail((host, port) => connectSocks5(proxy, host, port), "socks-auth");
  assert.deepEqual(result.accepted, ["bob@example.test"]);
});

test("the proxy's refusals are ConnectionClosedErrors that say why", async (t) => {
  const skip = await skipUnless(socks, socksAuth);
  if (skip) return t.skip(skip);
  const closed = (pattern) => (error) => {
    assert.ok(error instanceof ConnectionClosedError, `got ${error}`);
    assert.equal(error.phase, "connect");
    assert.match(error.message, pattern);
    return true;
  };
  await assert.rejects(
    connectSocks5({ host: HOST, port: Number(socksAuth) }, HOST, Number(smtp)),
    closed(/requires authentication/),
  );
  await assert.rejects(
    connectSocks5({ host: HOST, port: Number(socksAuth), username: env.SMTP_WASM_USER, password: "wrong" }, HOST, 25),
    closed(/refused the username or password/),
  );
  // A target port where nothing listens: the proxy says so (REP 5, or 1 for some proxies).
  const free = net.createServer();
  await new Promise((r) => free.listen(0, HOST, r));
  const port = free.address().port;
  await new Promise((r) => free.close(r));
  await assert.rejects(connectSocks5({ host: HOST, port: Number(socks) }, HOST, port), closed(/could not connect/));
  await assert.rejects(
    connectSocks5({ host: HOST, port: Number(socks), user: "x" }, HOST, 25),
    (e) => e.name === "UsageError" && /unknown option "user"/.test(e.message),
  );
  await assert.rejects(
    connectSocks5({ host: HOST, port: Number(socks), username: "u" }, HOST, 25),
    (e) => e instanceof InvalidInputError,
  );
});
