#!/usr/bin/env bash
# Builds the npm package into dist/:
#   1. cargo build --release for wasm32-unknown-unknown (opt-level z, LTO, 1 codegen unit, panic=abort), twice: the
#      client wasm (feature `client`) and the server wasm (feature `server`, for `smtp-wasm/server`, in dist/server/),
#      so neither entrypoint's download carries the other role
#   2. wasm-bindgen --target web (the CLI must be exactly the version pinned in Cargo.toml)
#   3. wasm-opt -Oz from the npm package `binaryen` (never Debian's binaryen: it corrupts the externref table)
#   4. tsc (strict, ESM, declarations) from ts/ into dist/
#   5. copies the bindings next to the compiled TypeScript, checks the wasm imports nothing from `env` and that the
#      hand-written ts/smtp_wasm.d.ts matches the generated bindings, prints the sizes.
# Usage: scripts/build-npm.sh [--skip-cargo] [--no-opt]
set -euo pipefail
cd "$(dirname "$0")/.."

skip_cargo=0
opt=1
for arg in "$@"; do
  case "$arg" in
    --skip-cargo) skip_cargo=1 ;;
    --no-opt) opt=0 ;;
    *) echo "unknown argument: $arg" >&2; exit 2 ;;
  esac
done

want_bindgen=$(sed -n 's/^wasm-bindgen = "=\([0-9.]*\)"$/\1/p' Cargo.toml)
export PATH="$HOME/.cargo/bin:$PATH"
have_bindgen=$(wasm-bindgen --version 2>/dev/null | awk '{print $2}' || true)
if [ "$have_bindgen" != "$want_bindgen" ]; then
  echo "wasm-bindgen CLI $want_bindgen needed (found '${have_bindgen:-none}'):" >&2
  echo "  cargo install wasm-bindgen-cli --version $want_bindgen" >&2
  exit 1
fi
[ -x node_modules/.bin/tsc ] && [ -x node_modules/.bin/wasm-opt ] || npm ci --no-audit --no-fund

target_dir=$(cargo metadata --format-version 1 --no-deps | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).target_directory))')
raw_wasm="$target_dir/wasm32-unknown-unknown/release/smtp_wasm.wasm"
raw_server_wasm="$target_dir/wasm32-unknown-unknown/release/smtp_wasm_server.wasm"
if [ "$skip_cargo" = 0 ]; then
  echo "==> cargo build --release --target wasm32-unknown-unknown (server)"
  cargo build --release --target wasm32-unknown-unknown --lib --no-default-features --features server
  cp "$raw_wasm" "$raw_server_wasm"
  echo "==> cargo build --release --target wasm32-unknown-unknown (client)"
  cargo build --release --target wasm32-unknown-unknown --lib --no-default-features --features client
fi

out=build/bindgen
rm -rf "$out" dist
mkdir -p "$out"
echo "==> wasm-bindgen $want_bindgen --target web"
wasm-bindgen --target web --out-dir "$out" --out-name smtp_wasm "$raw_wasm"
wasm-bindgen --target web --out-dir "$out" --out-name smtp_wasm_server "$raw_server_wasm"

if [ "$opt" = 1 ]; then
  echo "==> wasm-opt -Oz (npm binaryen $(node -p 'require("./node_modules/binaryen/package.json").version'))"
  # The features rustc enables by default for wasm32-unknown-unknown, plus SIMD (.cargo/config.toml); wasm-opt must
  # keep to them. --converge repeats -Oz until the size stops shrinking; --low-memory-unused lets it fold address
  # offsets: Rust's wasm layout puts the 1 MB stack at the bottom of memory, so the lowest 1 kB is reached only by a
  # stack that is about to overflow anyway. The producers and target-features sections are for tools, not runtimes.
  # Together: -2.3 kB gzip.
  # -ocimfs 1500: functions with one caller are inlined only up to 1500 bytes (binaryen's default: any size). Unbounded,
  # the whole input path became one 36 kB function (handleInput) and ClientSession::pump 14 kB; V8 compiles hot wasm
  # functions again with TurboFan in the background, which took ~190 ms of CPU for those two, inside the first few
  # thousand messages of a session (on two cores, that CPU is taken from the client or the server). Bounded: ~30 ms,
  # the cold parts (TLS on a plaintext session, error paths) stay in their own functions that never get hot, and the
  # .wasm is the same size (+0.2 kB raw, -2 kB gzip).
  node_modules/.bin/wasm-opt -Oz --converge -ocimfs 1500 --low-memory-unused --strip-producers --strip-target-features \
    --enable-bulk-memory --enable-mutable-globals --enable-nontrapping-float-to-int --enable-sign-ext \
    --enable-reference-types --enable-multivalue --enable-simd \
    "$out/smtp_wasm_bg.wasm" -o "$out/smtp_wasm_bg.opt.wasm"
  mv "$out/smtp_wasm_bg.opt.wasm" "$out/smtp_wasm_bg.wasm"
  node_modules/.bin/wasm-opt -Oz --converge -ocimfs 1500 --low-memory-unused --strip-producers --strip-target-features \
    --enable-bulk-memory --enable-mutable-globals --enable-nontrapping-float-to-int --enable-sign-ext \
    --enable-reference-types --enable-multivalue --enable-simd \
    "$out/smtp_wasm_server_bg.wasm" -o "$out/smtp_wasm_server_bg.opt.wasm"
  mv "$out/smtp_wasm_server_bg.opt.wasm" "$out/smtp_wasm_server_bg.wasm"
fi

echo "==> tsc"
node_modules/.bin/tsc -p tsconfig.json
cp "$out/smtp_wasm.js" "$out/smtp_wasm_bg.wasm" dist/
# Types of the internal bindings module, for the compiled .d.ts files that refer to it.
cp ts/smtp_wasm.d.ts dist/smtp_wasm.d.ts
cp "$out/smtp_wasm_server.js" "$out/smtp_wasm_server_bg.wasm" dist/server/
cp ts/server/smtp_wasm_server.d.ts dist/server/smtp_wasm_server.d.ts

echo "==> checks"
node scripts/check-wasm-imports.mjs dist/smtp_wasm_bg.wasm
node scripts/check-wasm-imports.mjs dist/server/smtp_wasm_server_bg.wasm
node scripts/check-bindings.mjs "$out/smtp_wasm.d.ts" ts/smtp_wasm.d.ts
node scripts/check-bindings.mjs "$out/smtp_wasm_server.d.ts" ts/server/smtp_wasm_server.d.ts WasmServerConfig WasmServerConnection

raw=$(wc -c < dist/smtp_wasm_bg.wasm)
gz=$(gzip -9 -c dist/smtp_wasm_bg.wasm | wc -c)
js=$(cat dist/*.js | wc -c)
printf '==> dist/smtp_wasm_bg.wasm: %d bytes raw, %d bytes gzip -9 (%.1f kB / %.1f kB); JS: %d bytes\n' \
  "$raw" "$gz" "$(echo "$raw/1000" | bc -l)" "$(echo "$gz/1000" | bc -l)" "$js"
raw=$(wc -c < dist/server/smtp_wasm_server_bg.wasm)
gz=$(gzip -9 -c dist/server/smtp_wasm_server_bg.wasm | wc -c)
js=$(cat dist/server/*.js | wc -c)
printf '==> dist/server/smtp_wasm_server_bg.wasm: %d bytes raw, %d bytes gzip -9 (%.1f kB / %.1f kB); JS: %d bytes\n' \
  "$raw" "$gz" "$(echo "$raw/1000" | bc -l)" "$(echo "$gz/1000" | bc -l)" "$js"
