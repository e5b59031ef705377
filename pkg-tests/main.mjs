// Runs the scenario in a server-side runtime (Node, Deno, Bun) from an installed copy of the packed tarball.
// Prints one JSON line: { runtime, results }.
import * as lib from "smtp-wasm";

import { scenario } from "./scenario.mjs";

const runtime =
  typeof globalThis.Deno !== "undefined"
    ? `deno ${globalThis.Deno.version.deno}`
    : typeof globalThis.Bun !== "undefined"
      ? `bun ${globalThis.Bun.version}`
      : `node ${process.versions.node}`;
const env =
  typeof globalThis.Deno !== "undefined" ? globalThis.Deno.env.toObject() : { ...process.env };
if (env.SMTP_WASM_CA) {
  env.caPem =
    typeof globalThis.Deno !== "undefined"
      ? await globalThis.Deno.readTextFile(env.SMTP_WASM_CA)
      : await (await import("node:fs/promises")).readFile(env.SMTP_WASM_CA, "utf8");
}
const results = await scenario(lib, env, { runtime, transport: "tcp" });
console.log(JSON.stringify({ runtime, results }));
// Node keeps running while sockets linger; the scenario closed every client.
if (typeof process !== "undefined" && typeof process.exit === "function") process.exit(0);
