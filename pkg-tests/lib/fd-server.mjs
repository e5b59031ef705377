// A smtp-wasm/server that accepts everything, for pkg-tests/server-runtimes.test.mjs's descriptor-exhaustion test:
// prints `port N` once it listens. Runs in Node, Deno and Bun (started under a low `ulimit -n`).
const isDeno = typeof globalThis.Deno !== "undefined";
const { SmtpServer } = await import(isDeno ? "../../dist/server/deno.js" : "../../dist/server/node.js");
const server = new SmtpServer({
  domain: "fd.test",
  backend: { anonymousLogin: () => ({ mail() {}, rcpt() {}, async data(s) { for await (const _ of s); }, reset() {}, logout() {} }) },
});
const { port } = await server.listen({ host: "127.0.0.1", port: 0 });
console.log(`port ${port}`);
