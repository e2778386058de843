#!/usr/bin/env bash
# Runs the conformance table (vectors.json) through the Node, Python, Ruby and Elixir
# origin packages, each with its own runner (the Rust crate runs it in `cargo test -p
# edge-session-origin`: packages/rust/tests/conformance.rs). Fails if vectors.json is
# stale or if any vector disagrees anywhere; each runner names the vectors that did, and
# the last line names the packages. Each runner takes the package's other unit tests
# along (all of its test folder). Needs scripts/setup.sh's toolchain (.venv, Ruby,
# Elixir, jiffy).
#
#   bash packages/conformance/run.sh
set -uo pipefail
cd "$(dirname "$0")/../.."

failed=()
run() {
  local name=$1
  shift
  printf '==> conformance: %s\n' "$name"
  "$@" || failed+=("$name")
}

run "vectors.json is what generate.mjs writes" node packages/conformance/generate.mjs --check
run node node --test --test-reporter=dot packages/node/test/*.test.mjs
run python env PYTHONPATH=packages/python/src .venv/bin/python -m unittest discover -s packages/python/tests
run ruby ruby -I packages/ruby/lib -e 'load ARGV.shift while ARGV.any?' packages/ruby/test/*_test.rb
run elixir sh -c 'cd packages/elixir && mix test'

if [ ${#failed[@]} -gt 0 ]; then
  printf 'conformance: FAILED in %s\n' "${failed[*]}" >&2
  exit 1
fi
echo "conformance: every package agrees with every vector"
