#!/usr/bin/env bash
# Release build of the wasm worker into build/ (index.js + index_bg.wasm).
# This is wrangler.toml's [build] command, so `wrangler dev` / `deploy` call it.
# Prerequisite: scripts/setup.sh (installs worker-build and wasm-bindgen).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"

# Lets test.sh reuse the build it just made when wrangler runs this again.
if [ "${EDGE_SESSION_PREBUILT:-}" = 1 ] && [ -f build/index.js ]; then
  echo "build-worker: using existing build/ (EDGE_SESSION_PREBUILT=1)" >&2
  exit 0
fi

# worker-build downloads wasm-bindgen and wasm-opt from GitHub unless told where they
# are; GitHub is unreachable here. esbuild it fetches from npm itself (works).
if ! WASM_BINDGEN_BIN=${WASM_BINDGEN_BIN:-$(command -v wasm-bindgen)}; then
  echo "build-worker: wasm-bindgen not found; run: bash scripts/setup.sh" >&2
  exit 1
fi
export WASM_BINDGEN_BIN

opt=()
if [ -z "${WASM_OPT_BIN:-}" ] && [ -x node_modules/binaryen/bin/wasm-opt ]; then
  export WASM_OPT_BIN="$PWD/node_modules/binaryen/bin/wasm-opt"
fi
if [ -z "${WASM_OPT_BIN:-}" ]; then
  echo "build-worker: no wasm-opt (npm ci installs binaryen); building without it" >&2
  opt=(--no-opt)
fi

# No RUSTFLAGS needed: getrandom 0.3.4 picks its wasm_js backend from the feature alone.
exec worker-build --release "${opt[@]}" "$@"
