#!/usr/bin/env bash
# Install the toolchain (docs/design.md §7). Idempotent: when everything is present it
# only checks versions and returns in well under a second.
#   setup.sh build   what building and running the worker needs (npm run dev, deploy):
#                    the wasm target, worker-build, wasm-bindgen, the npm tools.
#   setup.sh         all of that and the test environment (npm test): rustfmt, clippy,
#                    the example apps' dependencies, Chromium, Python, Elixir, Ruby.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
mode=${1:-test}
case $mode in build | test) ;; *) echo "usage: setup.sh [build|test]" >&2; exit 2 ;; esac

WORKER_BUILD_VERSION=0.8.7
say() { printf 'setup: %s\n' "$*" >&2; }

# 1. Rust target for the worker (the host target is always there).
if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  say "adding rustup target wasm32-unknown-unknown"
  rustup target add wasm32-unknown-unknown
fi

# 2. worker-build, pinned to the `worker` crate's version (it refuses other minors).
have=$(worker-build --version 2>/dev/null || true)
if [ "$have" != "$WORKER_BUILD_VERSION" ]; then
  say "installing worker-build $WORKER_BUILD_VERSION (found: ${have:-none}; takes ~4 min)"
  cargo install worker-build --version "$WORKER_BUILD_VERSION" --locked
fi

# 3. wasm-bindgen CLI: must equal the wasm-bindgen library in Cargo.lock exactly.
#    worker-build would download a release binary from GitHub, which is unreachable
#    here, so we build it and build-worker.sh points WASM_BINDGEN_BIN at it.
#    No --locked: its lockfile pins a crate version missing from the registry.
want=$(awk '$0 == "name = \"wasm-bindgen\"" { getline; gsub(/[^0-9.]/, ""); print; exit }' Cargo.lock)
[ -n "$want" ] || { say "no wasm-bindgen in Cargo.lock"; exit 1; }
have=$(wasm-bindgen --version 2>/dev/null | awk '{ print $2 }' || true)
if [ "$have" != "$want" ]; then
  say "installing wasm-bindgen-cli $want (found: ${have:-none}; takes a few min)"
  cargo install wasm-bindgen-cli --version "$want" --force
fi

# 4. npm tools (wrangler, binaryen's wasm-opt), exactly as package-lock.json says.
#    npm rewrites node_modules/.package-lock.json on every install, so a lockfile
#    newer than it means node_modules is stale.
if [ ! -e node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  say "npm ci"
  npm ci --no-audit --no-fund
fi

# Everything below is the test environment only.
[ "$mode" = test ] || exit 0

# 4a. rustfmt and clippy, the format and lint gates of npm test.
for component in rustfmt clippy; do
  if ! rustup component list --installed | grep -q "^$component"; then
    say "adding rustup component $component"
    rustup component add "$component"
  fi
done

# 4b. The Node framework apps (examples/node: Express, Hono, Fastify), with the package
#     installed from packages/node as a copy (install-links), as a user's npm would. A
#     change to the package or the lockfile reinstalls it, so tests never run a stale copy.
stamp=examples/node/node_modules/.package-lock.json
if [ ! -e "$stamp" ] || [ examples/node/package-lock.json -nt "$stamp" ] \
  || [ -n "$(find packages/node -newer "$stamp" -not -path '*/node_modules*' -print -quit)" ]; then
  say "npm ci in examples/node"
  (cd examples/node && npm ci --no-audit --no-fund)
fi

# 5. Headless Chromium for tests/e2e/browser.test.mjs (playwright-core drives the system
#    browser, it downloads none): Debian's package, installed only when missing;
#    `apt-get update` only if the plain install fails (stale package lists).
if [ ! -x /usr/bin/chromium ]; then
  say "installing chromium (apt-get)"
  sudo=; [ "$(id -u)" = 0 ] || sudo=sudo
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get install -y -q chromium \
    || { $sudo apt-get update -q && $sudo apt-get install -y -q chromium; }
fi

# 6. The Python package (packages/python) and its framework apps (examples/python:
#    FastAPI, Django, Flask) in a project venv, pinned. The package is installed as a
#    user would (`pip install ./packages/python`), again whenever its source changes.
stamp=.venv/.edge-session-package
if ! .venv/bin/python -c 'import fastapi, django, flask, jwt, cryptography, mypy' 2>/dev/null; then
  say "python venv for examples/python"
  python3 -m venv .venv
  .venv/bin/pip install --quiet --disable-pip-version-check -r examples/python/requirements.txt
  rm -f "$stamp"
fi
if [ ! -e "$stamp" ] || [ -n "$(find packages/python -newer "$stamp" -not -path '*.egg-info*' -not -path '*/build/*' -print -quit)" ]; then
  say "pip install ./packages/python"
  .venv/bin/pip install --quiet --disable-pip-version-check --no-deps --force-reinstall ./packages/python
  touch "$stamp"
fi

# 7. The Elixir origin kit's test (examples/elixir): Debian's Elixir (OTP's :crypto and
#    :httpd come with it) and erlang-jiffy for JSON, since Hex is unreachable here.
if ! command -v elixir >/dev/null || ! compgen -G '/usr/lib/erlang/lib/jiffy-*' >/dev/null; then
  say "installing elixir, erlang-jiffy (apt-get)"
  sudo=; [ "$(id -u)" = 0 ] || sudo=sudo
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get install -y -q elixir erlang-jiffy \
    || { $sudo apt-get update -q && $sudo apt-get install -y -q elixir erlang-jiffy; }
fi

# 8. The Ruby package's Rack app (examples/ruby): Debian's Ruby with ruby-jwt, ruby-rack
#    and Puma, since the gem registry is unreachable here.
#    Bundler checks the gem works by path in a fresh project, as its README says.
if ! ruby -e 'require "jwt"; require "rack"; require "puma"' 2>/dev/null || ! command -v bundle >/dev/null; then
  say "installing ruby, ruby-jwt, ruby-rack, puma, bundler (apt-get)"
  sudo=; [ "$(id -u)" = 0 ] || sudo=sudo
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get install -y -q ruby ruby-jwt ruby-rack puma bundler \
    || { $sudo apt-get update -q && $sudo apt-get install -y -q ruby ruby-jwt ruby-rack puma bundler; }
fi
