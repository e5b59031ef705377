#!/usr/bin/env bash
# Tests of the packed npm tarball in every runtime against real servers (see pkg-tests/run.mjs).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${SMTP_WASM_HOST:-}" ] && [ -f "${SMTP_WASM_STATE:-${TMPDIR:-/tmp}/smtp-wasm-state}/env.sh" ]; then
  # shellcheck disable=SC1091
  . "${SMTP_WASM_STATE:-${TMPDIR:-/tmp}/smtp-wasm-state}/env.sh"
fi
exec node pkg-tests/run.mjs "$@"
