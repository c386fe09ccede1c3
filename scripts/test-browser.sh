#!/usr/bin/env bash
# Browser end-to-end tests of the wallet, counter and back-office page (tests/browser/, Node's
# test runner with playwright-core driving Debian's Chromium; preload.test.mjs needs neither
# browser nor server). Each browser test file starts its own demo federation from $SERVER_BIN
# (default target/debug/server, which the caller has built). Screenshots go to target/browser/.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
step() { printf '\n== %s ==\n' "$*" >&2; }

export SERVER_BIN="${SERVER_BIN:-$root/target/debug/server}"
[[ -x "$SERVER_BIN" ]] || { echo "demo server binary not found: $SERVER_BIN (build it or set SERVER_BIN)" >&2; exit 1; }
export CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"
[[ -x "$CHROMIUM" ]] || { echo "Chromium not found at $CHROMIUM (apt-get install chromium)" >&2; exit 1; }
command -v node >/dev/null || { echo "node not found" >&2; exit 1; }

cd tests/browser
# npm ci only when node_modules is missing or the lock changed since the last install; never
# download a browser (playwright-core ships none, and Chromium is Debian's).
stamp=node_modules/.lock.sha256
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [[ ! -d node_modules || ! -f $stamp || "$(cat "$stamp")" != "$want" ]]; then
  step "installing the browser tests' npm packages"
  PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund
  echo "$want" >"$stamp"
fi

mkdir -p "$root/target/browser"
step "browser end-to-end tests (serial, one demo federation per file)"
tests=0
node --test --test-concurrency=1 ./*.test.mjs || tests=$?

# The page budgets' smoke run is part of scripts/bench.sh --smoke, which the test command runs.
exit "$tests"
