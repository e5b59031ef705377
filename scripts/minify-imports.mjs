#!/usr/bin/env node
// Gives a wasm-bindgen module's imports short names, in the .wasm and in its JavaScript glue together.
//
// wasm-bindgen names every import after the JavaScript it calls plus a 16-digit hash (`__wbg_getRandomValues_
// d2908e0b99612b91`) under the module "./smtp_wasm_bg.js"; the names are stored in the .wasm's import section, where
// random hex does not compress: ~2.3 kB raw, 1.2 kB gzip in the client. binaryen's --minify-imports renames only
// `env` imports, and wasm-bindgen has no option for it, so this does it: the import section is rewritten with the
// module "wbg" and the names a, b, ..., every other section is copied byte for byte, and each old name in the glue
// (where it is a key of the imports object) is replaced by its new one. The build fails if the glue does not have
// exactly the shape this expects, rather than produce a module that cannot be instantiated.
//
// Usage: node scripts/minify-imports.mjs build/bindgen/smtp_wasm_bg.wasm build/bindgen/smtp_wasm.js
import { readFileSync, writeFileSync } from "node:fs";

const [wasmPath, gluePath] = process.argv.slice(2);
if (!wasmPath || !gluePath) {
  console.error("usage: minify-imports.mjs MODULE.wasm GLUE.js");
  process.exit(2);
}
const MODULE = "wbg";

function fail(message) {
  console.error(`minify-imports: ${wasmPath}: ${message}`);
  process.exit(1);
}

/** a, b, ..., z, aa, ab, ... */
function shortName(index) {
  let name = "";
  for (let i = index; i >= 0; i = Math.floor(i / 26) - 1) name = String.fromCharCode(97 + (i % 26)) + name;
  return name;
}

function leb(n) {
  const out = [];
  do {
    let byte = n & 0x7f;
    n = Math.floor(n / 128);
    if (n > 0) byte |= 0x80;
    out.push(byte);
  } while (n > 0);
  return Buffer.from(out);
}

const name = (text) => {
  const bytes = Buffer.from(text, "utf8");
  return Buffer.concat([leb(bytes.length), bytes]);
};

const wasm = readFileSync(wasmPath);
let at = 8;
function readLeb() {
  let value = 0;
  let shift = 0;
  for (;;) {
    const byte = wasm[at++];
    if (byte === undefined) fail("truncated");
    value += (byte & 0x7f) * 2 ** shift;
    shift += 7;
    if ((byte & 0x80) === 0) return value;
  }
}
function readName() {
  const length = readLeb();
  const text = wasm.subarray(at, at + length).toString("utf8");
  at += length;
  return text;
}
/** Skips an import's description (RFC: func = typeidx, table = reftype limits, memory = limits, global, tag). */
function skipDescription() {
  const kind = wasm[at++];
  const limits = () => {
    const flags = readLeb();
    readLeb();
    if (flags & 1) readLeb();
  };
  if (kind === 0) readLeb();
  else if (kind === 1) {
    at++;
    limits();
  } else if (kind === 2) limits();
  else if (kind === 3) at += 2;
  else if (kind === 4) {
    at++;
    readLeb();
  } else fail(`unknown import kind ${kind}`);
}

const renames = new Map(); // old name -> new name
const glueModules = new Set();
const parts = [wasm.subarray(0, 8)];
while (at < wasm.length) {
  const start = at;
  const id = wasm[at++];
  const length = readLeb();
  const end = at + length;
  if (id !== 2) {
    parts.push(wasm.subarray(start, end));
    at = end;
    continue;
  }
  const count = readLeb();
  const entries = [leb(count)];
  for (let i = 0; i < count; i++) {
    const module = readName();
    const field = readName();
    const description = at;
    skipDescription();
    if (renames.has(field)) fail(`import ${field} appears twice`);
    glueModules.add(module);
    const short = shortName(renames.size);
    renames.set(field, short);
    entries.push(name(MODULE), name(short), wasm.subarray(description, at));
  }
  if (at !== end) fail("import section length mismatch");
  const section = Buffer.concat(entries);
  parts.push(Buffer.from([2]), leb(section.length), section);
}
if (glueModules.size !== 1) fail(`expected one import module (wasm-bindgen's glue), found ${[...glueModules].join(", ")}`);
const [glueModule] = glueModules;

let glue = readFileSync(gluePath, "utf8");
const moduleKey = `${JSON.stringify(glueModule)}: import0,`;
if (glue.split(moduleKey).length !== 2) fail(`the glue does not hand the imports over as ${moduleKey}`);
glue = glue.replace(moduleKey, `${MODULE}: import0,`);
for (const [old, short] of renames) {
  const key = new RegExp(`^(\\s+)${old}:`, "m");
  if (!key.test(glue)) fail(`the glue has no import ${old}`);
  if (glue.split(old).length !== 2) fail(`the glue names ${old} more than once`);
  glue = glue.replace(key, `$1${short}:`);
}

const minified = Buffer.concat(parts);
await WebAssembly.compile(minified); // still a valid module
writeFileSync(wasmPath, minified);
writeFileSync(gluePath, glue);
console.log(`${wasmPath}: ${renames.size} imports renamed, ${wasm.length - minified.length} bytes smaller`);
