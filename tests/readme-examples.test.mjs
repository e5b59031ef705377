// The README's JavaScript examples are the files in examples/js/ (which pkg-tests/run.sh runs against real servers):
// every block marked `<!-- examples/js/NAME -->` must be identical to its file, every file must be shown, and every
// JavaScript, TypeScript or HTML block of the README must be one of them, so the README cannot drift from tested code.
import assert from "node:assert/strict";
import { readFileSync, readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const readme = readFileSync(join(root, "README.md"), "utf8").split("\n");

/** Every fenced block: { lang, body, marker (the examples/js path named on the line before, or null), line }. */
function blocks() {
  const found = [];
  for (let i = 0; i < readme.length; i++) {
    const open = /^```(\S*)\s*$/.exec(readme[i]);
    if (!open) continue;
    let end = i + 1;
    while (end < readme.length && readme[end] !== "```") end++;
    const marker = /^<!-- (examples\/js\/[^ ]+) -->$/.exec(readme[i - 1] ?? "");
    found.push({ lang: open[1], body: readme.slice(i + 1, end).join("\n") + "\n", marker: marker?.[1] ?? null, line: i + 1 });
    i = end;
  }
  return found;
}

test("every README block marked with an examples/js file is identical to it", () => {
  const marked = blocks().filter((b) => b.marker !== null);
  assert.ok(marked.length > 0, "no marked blocks");
  for (const block of marked) {
    const file = readFileSync(join(root, block.marker), "utf8");
    assert.equal(block.body, file, `README.md line ${block.line} differs from ${block.marker}`);
  }
});

test("every examples/js file is shown in the README", () => {
  const shown = new Set(blocks().map((b) => b.marker));
  for (const name of readdirSync(join(root, "examples", "js"))) {
    assert.ok(shown.has(`examples/js/${name}`), `examples/js/${name} is not in the README`);
  }
});

test("every JavaScript, TypeScript and HTML block of the README is a tested example", () => {
  for (const block of blocks()) {
    if (["js", "javascript", "mjs", "ts", "typescript", "html"].includes(block.lang)) {
      assert.ok(block.marker !== null, `README.md line ${block.line}: a ${block.lang} block that is not an example file`);
    }
  }
});
