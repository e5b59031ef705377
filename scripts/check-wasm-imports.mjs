#!/usr/bin/env node
// CI check (as quinn's): the .wasm must import nothing from `env`. An `env` import means some dependency linked a
// C or libc symbol that no JavaScript runtime provides (the module would fail to instantiate everywhere), or a
// std function that has no wasm32-unknown-unknown implementation. Every import must come from wasm-bindgen's glue.
// Usage: node scripts/check-wasm-imports.mjs dist/smtp_wasm_bg.wasm
import { readFile } from "node:fs/promises";

const path = process.argv[2] ?? "dist/smtp_wasm_bg.wasm";
const module = await WebAssembly.compile(await readFile(path));
const imports = WebAssembly.Module.imports(module);
const exports = WebAssembly.Module.exports(module);
const byModule = new Map();
for (const { module: from, name, kind } of imports) {
  if (!byModule.has(from)) byModule.set(from, []);
  byModule.get(from).push(`${name} (${kind})`);
}
// wasm-bindgen's glue module is named after the .wasm (smtp_wasm_bg.wasm -> ./smtp_wasm_bg.js).
const glue = `./${path.split("/").pop().replace(/\.wasm$/, ".js")}`;
const bad = imports.filter(({ module: from }) => from !== glue && from !== "wbg");
console.log(
  `${path}: ${imports.length} imports from ${[...byModule.keys()].join(", ") || "nothing"}; ${exports.length} exports`,
);
if (bad.length > 0) {
  console.error(`FAIL: ${bad.length} imports outside wasm-bindgen's glue:`);
  for (const { module: from, name, kind } of bad) console.error(`  ${from}.${name} (${kind})`);
  process.exit(1);
}
console.log("ok: nothing imported from env");
