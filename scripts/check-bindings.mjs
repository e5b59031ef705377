#!/usr/bin/env node
// Checks that the hand-written ts/smtp_wasm.d.ts (typed, used by the TypeScript wrapper) declares exactly the
// methods of WasmConnection that wasm-bindgen generated, so a renamed or missing binding fails the build instead of
// failing at run time.
// Usage: node scripts/check-bindings.mjs build/bindgen/smtp_wasm.d.ts ts/smtp_wasm.d.ts [Class ...]
// (the classes to compare; default WasmConnection)
import { readFile } from "node:fs/promises";

const [generatedPath, handPath, ...classArgs] = process.argv.slice(2);
const classes = classArgs.length > 0 ? classArgs : ["WasmConnection"];

function methods(source, className) {
  const start = source.indexOf(`class ${className}`);
  if (start < 0) return null;
  let depth = 0;
  let end = start;
  for (let i = source.indexOf("{", start); i < source.length; i++) {
    if (source[i] === "{") depth++;
    else if (source[i] === "}" && --depth === 0) {
      end = i;
      break;
    }
  }
  const body = source.slice(source.indexOf("{", start) + 1, end);
  const names = new Set();
  // Members at the top level of the class body: `name(`, `static name(`, `constructor(`; skip comments.
  for (const line of body.split("\n")) {
    const m = /^\s*(?:static\s+)?(?:readonly\s+)?([A-Za-z_$][\w$]*)\s*[(<]/.exec(line);
    if (m && !line.trim().startsWith("*") && !line.trim().startsWith("//")) names.add(m[1]);
  }
  names.delete("[Symbol");
  return names;
}

const generated = await readFile(generatedPath, "utf8");
const hand = await readFile(handPath, "utf8");
for (const className of classes) {
  const want = methods(generated, className);
  if (want === null) {
    console.log(`check-bindings: the wasm has no ${className} yet (core not merged); skipped`);
    continue;
  }
  const have = methods(hand, className) ?? new Set();
  want.delete("__destroy_into_raw");
  const missing = [...want].filter((name) => !have.has(name));
  const extra = [...have].filter((name) => !want.has(name));
  if (missing.length || extra.length) {
    console.error(`FAIL: ${handPath} and the generated bindings disagree on ${className}:`);
    if (missing.length) console.error(`  generated but not declared: ${missing.join(", ")}`);
    if (extra.length) console.error(`  declared but not generated: ${extra.join(", ")}`);
    process.exit(1);
  }
  console.log(`ok: ${className} has the ${want.size} declared members`);
}
