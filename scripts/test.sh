#!/usr/bin/env bash
# npm test: toolchain → format and lint gates → host unit tests → release wasm build →
# bundle check (deploy dry run) → smoke test on local workerd → end-to-end tests. Exits
# non-zero at the first failing stage.
set -euo pipefail
cd "$(dirname "$0")/.."
export WRANGLER_SEND_METRICS=false CLOUDFLARE_CF_FETCH_ENABLED=false

tmp=$(mktemp -d)
passed=0 dev_pid=
finish() {
  rc=$?
  [ -n "$dev_pid" ] && stop_dev
  rm -rf "$tmp"
  echo "$passed passed, $((rc != 0)) failed"
  exit "$rc"
}
trap finish EXIT

stage() { # stage NAME CMD...: run and time one pipeline stage
  local name=$1 t0=$SECONDS; shift
  echo "==> $name"
  "$@"
  echo "<== $name: ok ($((SECONDS - t0))s)"
  passed=$((passed + 1))
}

lint() {
  # The shell compiles for wasm32 only, so it is linted for that target too. The whole
  # workspace with every feature: the origin crate's layer and client, the axum example app.
  cargo clippy --locked --workspace --all-targets --all-features -- -D warnings
  cargo clippy --locked --lib --target wasm32-unknown-unknown -- -D warnings
}

host_tests() {
  # Plain host build: no wasm target, no RUSTFLAGS; --locked keeps Cargo.lock (and so
  # the wasm-bindgen version setup.sh installed) authoritative.
  cargo test --locked
  # The origin crate (packages/rust) with every feature: the conformance table, the
  # tower layer and axum extractors, the admin client against a real server, doc examples.
  cargo test --locked -p edge-session-origin --all-features
}

origin_apps() {
  # The axum app tests/e2e/packages.test.mjs runs (the others need no build).
  cargo build --locked -p edge-session-axum-example
  # The Rust README's quick start, which tests/e2e/quickstarts.test.mjs runs.
  cargo build --locked -p edge-session-origin --example quickstart --features axum,client
  # The origin crate packages for the registry (a dry run: built from its .crate alone).
  cargo package --locked -p edge-session-origin
  # One conformance table for every package: the same vectors, the same answers (the
  # Rust crate runs it in the host tests: packages/rust/tests/conformance.rs).
  bash packages/conformance/run.sh
  # Each package installs as its README says, and its types check.
  (cd examples/node && npx tsc -p tsconfig.json)       # the .d.ts files, used as the apps use them
  (cd packages/node && npm pack --dry-run >/dev/null 2>&1)
  .venv/bin/mypy --strict packages/python/src/edge_session
  (cd packages/ruby && gem build edge_session_origin.gemspec -o "$tmp/edge_session_origin.gem" >/dev/null)
  # A fresh Ruby project using the gem by path, as its README says (Bundler, offline).
  mkdir -p "$tmp/ruby-app"
  printf 'source "https://rubygems.org"\ngem "edge_session_origin", path: "%s"\n' "$PWD/packages/ruby" >"$tmp/ruby-app/Gemfile"
  (cd "$tmp/ruby-app" && bundle install --local --quiet \
    && bundle exec ruby -e 'require "edge_session/rack"; EdgeSession::Rack::Middleware')
  # Each registry's own dry run on a copy (npm, PyPI build + twine, gem, mix).
  bash scripts/publish-dry-run.sh
}

worker_package() {
  # The worker on npm (packages/worker): init's own tests, its types as the README uses
  # them, and the registry's dry run (prepack copies build/ in). Installing it with no
  # Rust on PATH and serving it is tests/e2e/worker-package.test.mjs.
  node --test packages/worker/test/
  examples/node/node_modules/.bin/tsc -p packages/worker/test/tsconfig.json
  (cd packages/worker && npm publish --dry-run >"$tmp/publish.log" 2>&1) || { cat "$tmp/publish.log"; return 1; }
  grep -E 'package size|total files' "$tmp/publish.log"
}

dry_run() {
  # Wrangler bundles and validates config + bundle exactly as for an upload, offline.
  EDGE_SESSION_PREBUILT=1 npx wrangler deploy --dry-run --outdir "$tmp/dist" >"$tmp/dry.log" 2>&1 \
    || { cat "$tmp/dry.log"; return 1; }
  grep -i 'total upload' "$tmp/dry.log"
}

rand() { node -e 'process.stdout.write(require("crypto").randomBytes(32).toString("base64url"))'; }
free_port() { node -e 's=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }

stop_dev() { # wrangler, esbuild and workerd share the process group setsid gave them
  kill -TERM -- "-$dev_pid" 2>/dev/null || true
  for _ in $(seq 50); do pgrep -g "$dev_pid" >/dev/null || break; sleep 0.1; done
  kill -KILL -- "-$dev_pid" 2>/dev/null || true
  ! pgrep -g "$dev_pid" >/dev/null || { echo "processes left in group $dev_pid" >&2; return 1; }
  dev_pid=
}

smoke() {
  local port base code i
  port=$(free_port) base="http://127.0.0.1:$port"
  # Own state dir and keys, so a developer's .wrangler/state and .dev.vars are untouched
  # (--var wins over .dev.vars).
  EDGE_SESSION_PREBUILT=1 setsid npx wrangler dev --ip 127.0.0.1 --port "$port" \
    --inspector-port "$(free_port)" --persist-to "$tmp/state" \
    --var "SESSION_KEYS:k1:$(rand)" --var "ORIGIN_SECRET:o1:$(rand)" \
    </dev/null >"$tmp/dev.log" 2>&1 &
  dev_pid=$!
  for i in $(seq 120); do
    curl -s -o /dev/null "$base/__edge/health" && break
    kill -0 "$dev_pid" 2>/dev/null || { cat "$tmp/dev.log"; echo "wrangler dev exited" >&2; return 1; }
    sleep 0.5
  done
  code=$(curl -s -o "$tmp/body" -w '%{http_code}' "$base/__edge/health")
  echo "GET /__edge/health -> $code $(head -c 80 "$tmp/body")"
  stop_dev
  [ "$code" = 200 ] && [ "$(cat "$tmp/body")" = ok ] || { cat "$tmp/dev.log"; return 1; }
}

stage "setup (toolchain)" bash scripts/setup.sh
stage "format (cargo fmt --check)" cargo fmt --check
stage "lint (cargo clippy -D warnings, host and wasm32)" lint
stage "host tests (cargo test)" host_tests
stage "wasm release build" bash scripts/build-worker.sh
stage "bundle check (wrangler deploy --dry-run)" dry_run
stage "smoke test (wrangler dev)" smoke
stage "origin packages (axum app build, TypeScript and mypy --strict, gem build and install)" origin_apps
stage "worker package (init tests, types, npm publish --dry-run)" worker_package
# End to end: real wrangler dev (local workerd, real Durable Objects) in front of a
# recording origin; each file starts its own instance with its own windows.
stage "end-to-end tests (node --test tests/e2e)" env EDGE_SESSION_PREBUILT=1 node --test --test-concurrency=1 tests/e2e/
