// The Mozilla roots live outside the .wasm (dist/mozilla_roots.js): a connection that trusts them needs them loaded
// first, one that trusts only its own roots never loads them. (node --test runs this file in its own process, so the
// roots start unloaded.)
import assert from "node:assert/strict";
import { test } from "node:test";

import { init } from "../dist/node.js";
import { loadRoots } from "../dist/init.js";
import { WasmConnection, mozillaRootsLoaded } from "../dist/smtp_wasm.js";

const options = {
  serverName: "mx.example.org",
  implicitTls: true,
  lmtp: false,
  rootCertificates: [],
  onlyRootCertificates: false,
  dangerouslyAcceptInvalidCertificates: false,
  allowInsecureAuth: false,
  transcript: false,
  timeouts: {},
};

test("a connection that trusts the Mozilla roots fails until they are loaded, then works", async () => {
  await init();
  assert.equal(mozillaRootsLoaded(), false);
  assert.throws(
    () => new WasmConnection(options, Date.now()),
    (error) => error.kind === "tls" && /Mozilla root store is not loaded/.test(error.message),
  );
  // Trusting nothing of Mozilla's, or nothing at all, needs no roots.
  new WasmConnection({ ...options, dangerouslyAcceptInvalidCertificates: true }, Date.now()).free();
  assert.equal(mozillaRootsLoaded(), false);

  await loadRoots();
  assert.equal(mozillaRootsLoaded(), true);
  const conn = new WasmConnection(options, Date.now());
  // Implicit TLS: the ClientHello is queued at once.
  assert.ok(conn.transmitBuffered() > 0);
  conn.free();
  await loadRoots(); // a second call is a no-op
});
