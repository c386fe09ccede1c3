#!/usr/bin/env bash
# Starts the demo server on a free loopback port and checks it serves the page and pkg/.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
cargo build --locked --release -q -p server
port=$((20000 + RANDOM % 20000))
./target/release/server demo --listen "127.0.0.1:$port" >/dev/null 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
for _ in $(seq 50); do
  curl -sf -o /dev/null "http://127.0.0.1:$port/" && break
  sleep 0.1
done
curl -sf "http://127.0.0.1:$port/" | grep -q '电子证照钱包'
type=$(curl -sf -o /dev/null -w '%{content_type}' "http://127.0.0.1:$port/pkg/wallet_web_bg.wasm")
[[ "$type" == "application/wasm" ]] || { echo "wasm served as $type" >&2; exit 1; }
echo "demo server on port $port serves index.html and pkg/" >&2
