#!/usr/bin/env bash
# The registries' own dry runs for the four origin packages (docs/release.md):
#   node    npm publish --dry-run                       (the tarball's file list)
#   python  python -m build + twine check --strict      (a throwaway venv; build and twine pinned)
#   ruby    gem build                                   (the gemspec's files)
#   elixir  mix hex.build                               (needs the Hex archive; else mix compile
#                                                        and the package metadata, and SKIPPED)
# Each also checks that nothing unwanted ships (tests, build output). Writes nothing into the
# repository: builds happen in copies under a temporary directory. Prints one line per
# package and exits non-zero if any dry run failed.
#
#   bash scripts/publish-dry-run.sh
#   HEX_ARCHIVE=/path/to/hex.ez bash scripts/publish-dry-run.sh   # Hex from a local archive
#
# Needs node/npm, python3 with venv, PyPI (for build, twine and setuptools), ruby/gem,
# and elixir. About 25 s on 2 cores with PyPI's wheels cached, 45 s without.
set -uo pipefail
cd "$(dirname "$0")/.."

BUILD_VERSION=1.6.1
TWINE_VERSION=7.0.0

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
summary=() failed=0

result() { # result NAME STATUS DETAIL
  summary+=("$(printf '%-7s %-7s %s' "$1" "$2" "$3")")
  [ "$2" = FAIL ] && failed=1
  return 0
}

# Copy a package directory without its build output (tar keeps it simple and portable).
copy_package() { # copy_package DIR DEST
  mkdir -p "$2"
  tar -C "$1" --exclude=./build --exclude=./dist --exclude=./_build --exclude=./deps \
    --exclude='*.egg-info' --exclude=__pycache__ --exclude=node_modules -cf - . | tar -C "$2" -xf -
}

# Fails (printing them) if any listed path is a test, a build directory or a cache.
no_unwanted() { # no_unwanted < LIST
  local bad
  bad=$(grep -E '(^|/)(tests?|build|dist|_build|deps|node_modules|__pycache__)(/|$)|\.pyc$|\.gem$|\.tgz$' || true)
  [ -z "$bad" ] || { printf 'unwanted in the package:\n%s\n' "$bad" >&2; return 1; }
}

node_dry_run() {
  local out files
  out=$(cd packages/node && npm publish --dry-run 2>&1) || { echo "$out" >&2; return 1; }
  files=$(sed -n 's/^npm notice [0-9.]*k\?B //p' <<<"$out")
  printf '%s\n' "$files" | sed 's/^/  /'
  no_unwanted <<<"$files" || return 1
  grep -qx 'LICENSE' <<<"$files" && grep -qx 'index.js' <<<"$files" || { echo "LICENSE or index.js missing" >&2; return 1; }
  echo "$(wc -l <<<"$files") files"
}

python_dry_run() {
  local src=$tmp/python dist=$tmp/pydist venv=$tmp/pyvenv
  copy_package packages/python "$src"
  python3 -m venv "$venv" || return 1
  "$venv/bin/pip" install --quiet --disable-pip-version-check "build==$BUILD_VERSION" "twine==$TWINE_VERSION" || return 1
  "$venv/bin/python" -m build --outdir "$dist" "$src" >"$tmp/pybuild.log" 2>&1 || { cat "$tmp/pybuild.log" >&2; return 1; }
  "$venv/bin/twine" check --strict "$dist"/* || return 1
  local sdist wheel
  sdist=$(tar -tzf "$dist"/*.tar.gz | sed 's|^[^/]*/||' | grep -v '/$' | grep -v '\.egg-info/')
  wheel=$("$venv/bin/python" -c 'import sys, zipfile; print("\n".join(zipfile.ZipFile(sys.argv[1]).namelist()))' "$dist"/*.whl)
  printf '  sdist: %s\n' $sdist
  printf '  wheel: %s\n' $wheel
  no_unwanted <<<"$sdist"$'\n'"$wheel" || return 1
  grep -q 'licenses/LICENSE$' <<<"$wheel" || { echo "the wheel has no LICENSE" >&2; return 1; }
  echo "$(ls "$dist" | tr '\n' ' ')"
}

ruby_dry_run() {
  local gem=$tmp/edge_session_origin.gem files
  (cd packages/ruby && gem build edge_session_origin.gemspec --strict -o "$gem") >"$tmp/gem.log" 2>&1 \
    || { cat "$tmp/gem.log" >&2; return 1; }
  files=$(tar -xOf "$gem" data.tar.gz | tar -tzf -)
  printf '  %s\n' $files
  no_unwanted <<<"$files" || return 1
  echo "$(wc -l <<<"$files") files"
}

# 0: built; 1: failed; 2: no Hex (checked what can be checked without it).
elixir_dry_run() {
  local src=$tmp/elixir
  copy_package packages/elixir "$src"
  export HEX_OFFLINE=1  # hex.build needs no registry
  if [ -n "${HEX_ARCHIVE:-}" ]; then  # installed into a throwaway MIX_HOME, not ~/.mix
    export MIX_HOME=$tmp/mix HEX_HOME=$tmp/hex
    mix archive.install "$HEX_ARCHIVE" --force >/dev/null || return 1
  fi
  if (cd "$src" && mix help hex.build >/dev/null 2>&1); then
    (cd "$src" && mix hex.build -o "$tmp/edge_session_origin.tar") >"$tmp/hex.log" 2>&1 \
      || { cat "$tmp/hex.log" >&2; return 1; }
    local files
    files=$(tar -xOf "$tmp/edge_session_origin.tar" contents.tar.gz | tar -tzf -)
    printf '  %s\n' $files
    no_unwanted <<<"$files" || return 1
    echo "$(wc -l <<<"$files") files"
    return 0
  fi
  # Without Hex: the project compiles, and its package metadata is complete.
  (cd "$src" && mix compile) >"$tmp/mix.log" 2>&1 || { cat "$tmp/mix.log" >&2; return 1; }
  (cd "$src" && mix run --no-compile --no-start -e '
    p = Mix.Project.config()[:package]
    missing = for k <- [:licenses, :links, :files], !p[k], do: k
    missing = if Mix.Project.config()[:description], do: missing, else: [:description | missing]
    if missing != [], do: Mix.raise("package metadata missing: #{inspect(missing)}")
    for f <- p[:files], !File.exists?(f), do: Mix.raise("package file missing: #{f}")
    IO.puts("  files: #{Enum.join(p[:files], " ")}; licenses: #{Enum.join(p[:licenses], " ")}")') || return 1
  return 2
}

run() { # run NAME FUNCTION OK_DETAIL
  local name=$1 t0=$SECONDS out rc
  echo "==> $name"
  out=$("$2" 2>&1)
  rc=$?
  printf '%s\n' "$out"
  local took="($((SECONDS - t0))s)"
  case $rc in
    0) result "$name" ok "$3: $(tail -n1 <<<"$out") $took" ;;
    2) result "$name" SKIPPED "no Hex archive: mix compile and package metadata ok, mix hex.build not run (HEX_ARCHIVE=…) $took" ;;
    *) result "$name" FAIL "$3 $took" ;;
  esac
}

t0=$SECONDS
run node node_dry_run "npm publish --dry-run"
run python python_dry_run "python -m build + twine check"
run ruby ruby_dry_run "gem build"
run elixir elixir_dry_run "mix hex.build"

if grep -rqs 'github.com/OWNER/' packages/node/package.json packages/python/pyproject.toml \
  packages/ruby/edge_session_origin.gemspec packages/elixir/mix.exs; then
  echo "note: the repository URLs are still the placeholder github.com/OWNER/edge-session (docs/release.md)"
fi
echo "==> publish dry runs ($((SECONDS - t0))s)"
printf '%s\n' "${summary[@]}"
exit "$failed"
