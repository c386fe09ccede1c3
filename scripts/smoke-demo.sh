#!/usr/bin/env bash
# Starts the six-node demo federation on free loopback ports (its data in a temporary
# directory) and checks that every node answers /healthz with its region and that the wallet
# node serves the page and pkg/.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
# The debug build as the native tests built it: `--workspace --tests` resolves the dependencies'
# features as `cargo test --workspace` does, so after the tests nothing is compiled again
# (`-p server` alone resolved them without the other members' dev-dependencies and recompiled
# a third of the tree, five minutes of the test command).
cargo build --locked -q --workspace --tests
source scripts/lib/demo-base-port.sh
offsets=("${demo_offsets[@]}")
regions=(100000 410000 410100 411100 420000 420100)
base=$(demo_base_port)
data=$(mktemp -d)
log="$data/demo.log"
./target/debug/server demo --base-port "$base" --data-dir "$data/demo" >"$log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true; wait $pid 2>/dev/null || true; rm -rf "$data"' EXIT
for i in "${!offsets[@]}"; do
  port=$((base + offsets[i]))
  for _ in $(seq 300); do
    curl -sf -o /dev/null "http://127.0.0.1:$port/healthz" && break
    kill -0 $pid 2>/dev/null || { echo "demo exited:" >&2; cat "$log" >&2; exit 1; }
    sleep 0.1
  done
  curl -sf "http://127.0.0.1:$port/healthz" | grep -q "\"region\":\"${regions[i]}\"" || {
    echo "node ${regions[i]} on port $port did not answer /healthz" >&2
    cat "$log" >&2
    exit 1
  }
done
wallet="http://127.0.0.1:$((base + 410))"
# Into a file first: `grep -q` stops reading at the first match, and curl, still writing,
# would fail the pipeline with a write error.
curl -sf -o "$data/index.html" "$wallet/"
grep -q '电子证照钱包' "$data/index.html" || { echo "the wallet node did not serve the page" >&2; exit 1; }
# The page runs only its own scripts and cannot be framed (server/src/routes/page.rs).
curl -sf -D "$data/headers" -o /dev/null "$wallet/"
grep -qi "^content-security-policy: .*script-src 'self' 'wasm-unsafe-eval' 'sha256-.*frame-ancestors 'none'" "$data/headers" ||
  { echo "the page came without its content security policy" >&2; cat "$data/headers" >&2; exit 1; }
type=$(curl -sf -o /dev/null -w '%{content_type}' "$wallet/pkg/wallet_web_bg.wasm")
[[ "$type" == "application/wasm" ]] || { echo "wasm served as $type" >&2; exit 1; }
grep -q "$wallet/" "$log" || { echo "the demo did not print the wallet URL" >&2; exit 1; }
echo "demo federation on ports $base…$((base + 421)): six nodes healthy, page and pkg/ served" >&2
