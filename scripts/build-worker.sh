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

# Nothing to do when no input is newer than the last build: wrangler dev runs this again
# right after its first build ("The file src changed, restarting build") and on every
# change it sees, and wasm-bindgen plus wasm-opt take ~15 s even when cargo has nothing
# to compile. The stamp is taken before a build starts, so an edit made during one is
# newer than it and rebuilds next time.
stamp=target/edge-session-worker.stamp
inputs=(src packages/rust/src packages/rust/Cargo.toml Cargo.toml Cargo.lock scripts/build-worker.sh)
if [ -f build/index.js ] && [ -f build/index_bg.wasm ] && [ -f "$stamp" ] \
  && [ -z "$(find "${inputs[@]}" -newer "$stamp" -print -quit)" ]; then
  echo "build-worker: build/ is up to date (nothing newer than the last build)" >&2
  exit 0
fi
mkdir -p target && touch "$stamp.next"

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
worker-build --release "${opt[@]}" "$@"
mv "$stamp.next" "$stamp"
