#!/usr/bin/env bash
# Builds the npm package into dist/:
#   1. cargo build --release for wasm32-unknown-unknown (opt-level z, LTO, 1 codegen unit, panic=abort), four times:
#      the client wasm (feature `client`, with two size flags of nightly rustc through RUSTC_BOOTSTRAP, see below),
#      the server wasm (feature `server`, for `smtp-wasm/server`, in dist/server/), the composer (features
#      `compose` + `dkim`) and the client-certificate signer (feature `signer`), so no entrypoint's download carries
#      another's code
#   2. wasm-bindgen --target web (the CLI must be exactly the version pinned in Cargo.toml)
#   3. wasm-opt -Oz from the npm package `binaryen` (never Debian's binaryen: it corrupts the externref table)
#   4. tsc (strict, ESM, declarations) from ts/ into dist/
#   5. the Mozilla root store as its own module, dist/mozilla_roots.js (examples/mozilla-roots.rs, native): the
#      wasm is built without the cargo feature `mozilla-roots`, and ts/init.ts loads the module only when a
#      connection trusts the Mozilla roots
#   6. copies the bindings next to the compiled TypeScript, checks the wasm imports nothing from `env` and that the
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

# wasm-opt -Oz in place, with the extra flags given after the file. The features rustc enables by default for
# wasm32-unknown-unknown, plus SIMD (.cargo/config.toml); wasm-opt must keep to them. --converge repeats -Oz until the
# size stops shrinking; --low-memory-unused lets it fold address offsets: Rust's wasm layout puts the 1 MB stack at
# the bottom of memory, so the lowest 1 kB is reached only by a stack that is about to overflow anyway. The producers
# and target-features sections are for tools, not runtimes. Together: -2.3 kB gzip.
optimize() {
  local file=$1
  shift
  node_modules/.bin/wasm-opt -Oz --converge "$@" --low-memory-unused --strip-producers --strip-target-features \
    --enable-bulk-memory --enable-mutable-globals --enable-nontrapping-float-to-int --enable-sign-ext \
    --enable-reference-types --enable-multivalue --enable-simd \
    "$file" -o "$file.opt"
  mv "$file.opt" "$file"
}

target_dir=$(cargo metadata --format-version 1 --no-deps | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).target_directory))')
raw_wasm="$target_dir/wasm32-unknown-unknown/release/smtp_wasm.wasm"
raw_server_wasm="$target_dir/wasm32-unknown-unknown/release/smtp_wasm_server.wasm"
if [ "$skip_cargo" = 0 ]; then
  echo "==> cargo build --release --target wasm32-unknown-unknown (server)"
  # Its own target dir: the client build below changes RUSTFLAGS, and both artifacts are named smtp_wasm.wasm.
  cargo build --release --target wasm32-unknown-unknown --lib --no-default-features --features server \
    --target-dir "$target_dir/server-wasm"
  mkdir -p "$(dirname "$raw_server_wasm")" # a fresh target dir has no client build yet
  cp "$target_dir/server-wasm/wasm32-unknown-unknown/release/smtp_wasm.wasm" "$raw_server_wasm"
  echo "==> cargo build --release --target wasm32-unknown-unknown (client)"
  # Two size flags that only nightly rustc documents, enabled on stable with RUSTC_BOOTSTRAP (the wasm only; tests
  # and native builds never see them): -Zlocation-detail=none drops the file/line/column of every panic site (a
  # panic aborts the wasm with a trap whose message never showed them: nothing observable changes), and
  # -Zfmt-debug=shallow makes derived Debug print only the type or variant name (rustls' and webpki's error enums:
  # our messages use only variant names). Together -10.7 kB gzip (BENCHMARKS.md, size). RUSTFLAGS replaces the
  # rustflags of .cargo/config.toml, so SIMD is repeated here. If this rustc no longer knows the flags, the build
  # falls back to the plain one (~11 kB larger). SMTP_WASM_PLAIN_RUSTC=1 skips them.
  wasm_build=(cargo build --release --target wasm32-unknown-unknown --lib --no-default-features --features client)
  if [ "${SMTP_WASM_PLAIN_RUSTC:-0}" = 1 ] ||
    ! RUSTC_BOOTSTRAP=1 RUSTFLAGS="-C target-feature=+simd128 -Zfmt-debug=shallow -Zlocation-detail=none" \
      "${wasm_build[@]}"; then
    [ "${SMTP_WASM_PLAIN_RUSTC:-0}" = 1 ] || echo "warning: rustc refused the size flags; building without them" >&2
    "${wasm_build[@]}"
  fi
fi

out=build/bindgen
rm -rf "$out" dist
mkdir -p "$out"
echo "==> wasm-bindgen $want_bindgen --target web"
wasm-bindgen --target web --out-dir "$out" --out-name smtp_wasm "$raw_wasm"
wasm-bindgen --target web --out-dir "$out" --out-name smtp_wasm_server "$raw_server_wasm"

if [ "$opt" = 1 ]; then
  echo "==> wasm-opt -Oz (npm binaryen $(node -p 'require("./node_modules/binaryen/package.json").version'))"
  # -ocimfs 0: functions with one caller are not inlined by binaryen (its default: any size). Unbounded, the whole
  # input path became one 36 kB function (handleInput) and ClientSession::pump 14 kB; V8 compiles hot wasm functions
  # again with TurboFan in the background, which took ~190 ms of CPU for those two, inside the first few thousand
  # messages of a session, and TurboFan's memory for a function grows with its size (2.5 MB of zone for each of the
  # two largest at 1500): the peak RSS of a fresh process's first send was ~3 MiB higher at 1500 than at 0. Inlined
  # code also compresses worse: 0 is 9.6 kB gzip smaller than 1500 (10 kB larger raw). V8 inlines small wasm calls
  # itself where they are hot.
  optimize "$out/smtp_wasm_bg.wasm" -ocimfs 0
  optimize "$out/smtp_wasm_server_bg.wasm" -ocimfs 1500
fi

# The composer and DKIM signer (features compose + dkim, no client): a second wasm, smtp_compose_bg.wasm, loaded by
# ts/compose.ts only when a message is composed or signed, so the client's wasm does not grow. Its own target dir
# keeps the two cargo artifacts (both named smtp_wasm.wasm) apart.
# The client-certificate signer (feature signer: ring's ECDSA signing and nothing else) is built in the same target
# dir: the two builds share every dependency, so the signer costs one more link of the crate (~20 s). Each artifact
# is copied out under its own name at once (both are named smtp_wasm.wasm).
compose_raw="$target_dir/wasm32-unknown-unknown/release/smtp_wasm_compose.wasm"
signer_raw="$target_dir/wasm32-unknown-unknown/release/smtp_wasm_signer.wasm"
if [ "$skip_cargo" = 0 ]; then
  echo "==> cargo build --release --target wasm32-unknown-unknown (compose, dkim)"
  cargo build --release --target wasm32-unknown-unknown --lib --no-default-features --features compose,dkim \
    --target-dir "$target_dir/compose-wasm"
  cp "$target_dir/compose-wasm/wasm32-unknown-unknown/release/smtp_wasm.wasm" "$compose_raw"
  echo "==> cargo build --release --target wasm32-unknown-unknown (signer)"
  cargo build --release --target wasm32-unknown-unknown --lib --no-default-features --features signer \
    --target-dir "$target_dir/compose-wasm"
  cp "$target_dir/compose-wasm/wasm32-unknown-unknown/release/smtp_wasm.wasm" "$signer_raw"
fi
wasm-bindgen --target web --out-dir "$out" --out-name smtp_compose "$compose_raw"
if [ "$opt" = 1 ]; then
  # -ocimfs 0 as for the client (see above): V8 compiles the hot functions of a streamed attachment (base64, the
  # composer's push) with TurboFan in the background, and smaller functions need less compiler memory: composing a
  # 25 MB attachment in a fresh process peaked 1.4 MB lower (5.3 -> 3.8 MB added, BENCHMARKS.md), and the module
  # is 0.7 kB smaller gzipped.
  optimize "$out/smtp_compose_bg.wasm" -ocimfs 0
fi
# The signer, loaded by ts/signer.ts only before a connection with clientCertificate; the client wasm imports its
# functions from dist/signer.js (src/wasm/client_key.rs).
wasm-bindgen --target web --out-dir "$out" --out-name smtp_signer "$signer_raw"
if [ "$opt" = 1 ]; then
  optimize "$out/smtp_signer_bg.wasm"
fi

echo "==> short import names (scripts/minify-imports.mjs)"
# wasm-bindgen's hashed import names are ~1.2 kB of the client's gzip; the .wasm and its glue are renamed together.
for module in smtp_wasm smtp_wasm_server smtp_compose smtp_signer; do
  node scripts/minify-imports.mjs "$out/${module}_bg.wasm" "$out/${module}.js"
done

echo "==> tsc"
node_modules/.bin/tsc -p tsconfig.json
cp "$out/smtp_wasm.js" "$out/smtp_wasm_bg.wasm" dist/
cp "$out/smtp_compose.js" "$out/smtp_compose_bg.wasm" dist/
cp ts/smtp_compose.d.ts dist/smtp_compose.d.ts
cp "$out/smtp_signer.js" "$out/smtp_signer_bg.wasm" dist/
cp ts/smtp_signer.d.ts dist/smtp_signer.d.ts
# Types of the internal bindings module, for the compiled .d.ts files that refer to it.
cp ts/smtp_wasm.d.ts dist/smtp_wasm.d.ts
cp "$out/smtp_wasm_server.js" "$out/smtp_wasm_server_bg.wasm" dist/server/
cp ts/server/smtp_wasm_server.d.ts dist/server/smtp_wasm_server.d.ts

echo "==> dist/mozilla_roots.js (webpki-roots $(cargo tree -e normal -i webpki-roots --depth 0 2>/dev/null | awk 'NR==1{print $2}'))"
roots_b64=build/mozilla_roots.b64
if [ "$skip_cargo" = 0 ] || [ ! -s "$roots_b64" ]; then
  cargo run --quiet --release --example mozilla-roots > "$roots_b64"
fi
{
  echo "// The Mozilla root store (webpki-roots), generated by examples/mozilla-roots.rs: see ts/mozilla_roots.d.ts."
  printf 'export default "%s";\n' "$(tr -d '\n' < "$roots_b64")"
} > dist/mozilla_roots.js
cp ts/mozilla_roots.d.ts dist/mozilla_roots.d.ts

echo "==> checks"
node scripts/check-wasm-imports.mjs dist/smtp_wasm_bg.wasm
node scripts/check-wasm-imports.mjs dist/server/smtp_wasm_server_bg.wasm
node scripts/check-bindings.mjs "$out/smtp_wasm.d.ts" ts/smtp_wasm.d.ts
node scripts/check-wasm-imports.mjs dist/smtp_compose_bg.wasm
node scripts/check-bindings.mjs "$out/smtp_compose.d.ts" ts/smtp_compose.d.ts WasmComposer WasmDkimSigner
node scripts/check-wasm-imports.mjs dist/smtp_signer_bg.wasm
node scripts/check-bindings.mjs "$out/smtp_signer.d.ts" ts/smtp_signer.d.ts ClientKey
node scripts/check-bindings.mjs "$out/smtp_wasm_server.d.ts" ts/server/smtp_wasm_server.d.ts WasmServerConfig WasmServerConnection

raw=$(wc -c < dist/smtp_wasm_bg.wasm)
gz=$(gzip -9 -c dist/smtp_wasm_bg.wasm | wc -c)
js=$(ls dist/*.js | grep -v mozilla_roots | xargs cat | wc -c)
roots_raw=$(wc -c < dist/mozilla_roots.js)
roots_gz=$(gzip -9 -c dist/mozilla_roots.js | wc -c)
printf '==> dist/smtp_wasm_bg.wasm: %d bytes raw, %d bytes gzip -9 (%.1f kB / %.1f kB); JS: %d bytes\n' \
  "$raw" "$gz" "$(echo "$raw/1000" | bc -l)" "$(echo "$gz/1000" | bc -l)" "$js"
printf '==> dist/mozilla_roots.js (loaded separately): %d bytes raw, %d bytes gzip -9\n' "$roots_raw" "$roots_gz"
craw=$(wc -c < dist/smtp_compose_bg.wasm)
cgz=$(gzip -9 -c dist/smtp_compose_bg.wasm | wc -c)
printf '==> dist/smtp_compose_bg.wasm (loaded only to compose or sign): %d bytes raw, %d bytes gzip -9 (%.1f kB / %.1f kB)\n' \
  "$craw" "$cgz" "$(echo "$craw/1000" | bc -l)" "$(echo "$cgz/1000" | bc -l)"
sraw=$(wc -c < dist/smtp_signer_bg.wasm)
sgz=$(gzip -9 -c dist/smtp_signer_bg.wasm | wc -c)
printf '==> dist/smtp_signer_bg.wasm (loaded only for clientCertificate): %d bytes raw, %d bytes gzip -9 (%.1f kB / %.1f kB)\n' \
  "$sraw" "$sgz" "$(echo "$sraw/1000" | bc -l)" "$(echo "$sgz/1000" | bc -l)"
raw=$(wc -c < dist/server/smtp_wasm_server_bg.wasm)
gz=$(gzip -9 -c dist/server/smtp_wasm_server_bg.wasm | wc -c)
js=$(cat dist/server/*.js | wc -c)
printf '==> dist/server/smtp_wasm_server_bg.wasm: %d bytes raw, %d bytes gzip -9 (%.1f kB / %.1f kB); JS: %d bytes\n' \
  "$raw" "$gz" "$(echo "$raw/1000" | bc -l)" "$(echo "$gz/1000" | bc -l)" "$js"
