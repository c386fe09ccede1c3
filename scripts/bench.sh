#!/usr/bin/env bash
# The bench command: runs every benchmark and writes BENCHMARKS.md.
#
#   scripts/bench.sh            full run, release builds, BENCH_REPS (default 3) repetitions of
#                               each timed part; writes BENCHMARKS.md (about 20 minutes)
#   scripts/bench.sh --smoke    seconds-long forms in the test profile, one repetition; checks
#                               that every benchmark ran and gave finite, non-zero figures;
#                               writes nothing outside target/
#
# Benchmarks: the wallet core (native), the browser crypto page, the page budgets, the node's
# load (retrieval, trivial route, TCP; certificate look-up at 1,000 and 1,000,000 rows), hops,
# the public search at 1,000 and 1,000,000 permits, and the sizes of pkg/. Each prints markdown
# and `BENCH {json}` lines; scripts/bench-report.mjs turns the lines into the report. Logs are
# kept in target/bench/ (target/bench-smoke/ for --smoke).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
export PATH="$HOME/.cargo/bin:$PATH"

smoke=0
[[ "${1:-}" == "--smoke" ]] && smoke=1
if ((smoke)); then
  out="$root/target/bench-smoke"
  export BENCH_REPS=1
  profile=(test --locked)
  bench_args=(-- --smoke)
  server_bin="$root/target/debug/server"
else
  out="$root/target/bench"
  export BENCH_REPS="${BENCH_REPS:-3}"
  profile=(bench --locked)
  bench_args=()
  server_bin="$root/target/release/server"
fi
rm -rf "$out"
mkdir -p "$out"
started=$SECONDS

note() { printf '\n== bench: %s == (%ds in)\n' "$*" $((SECONDS - started)) >&2; }

# Runs one benchmark with its output in $out/NAME.log (and on stderr); records its time.
failed=()
run() {
  local name=$1
  shift
  note "$name"
  local t0=$SECONDS
  if "$@" 2>&1 | tee "$out/$name.log" >&2; then
    echo "$name $((SECONDS - t0)) ok" >>"$out/steps.txt"
  else
    echo "$name $((SECONDS - t0)) failed" >>"$out/steps.txt"
    failed+=("$name")
  fi
}

if ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
  note "starting PostgreSQL"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql)" main start || true
fi

# The machine, before anything runs (the load average says how busy it was).
{
  echo "date $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "cpu $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
  echo "cores $(nproc)"
  echo "memory $(awk '/MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo)"
  echo "kernel $(uname -sr)"
  echo "rustc $(rustc -V)"
  echo "chromium $(${CHROMIUM:-/usr/bin/chromium} --version 2>/dev/null | tail -1)"
  echo "node $(node --version)"
  echo "postgresql $(psql -h 127.0.0.1 -U postgres -tAc 'SHOW server_version' 2>/dev/null || echo unreachable)"
  echo "commit $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- . ':!BENCHMARKS.md' || echo ' (with uncommitted changes)')"
  echo "load_before $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "reps $BENCH_REPS"
  echo "mode $( ((smoke)) && echo smoke || echo full)"
} >"$out/machine.txt"

# Every cargo call here names the whole workspace, so that the dependencies' features resolve
# the same way in each (and, for --smoke, as in the test command's `cargo test --workspace`):
# a `-p` of one member leaves the others' dev-dependencies out and recompiles what they touch.
note "building (${profile[0]} profile)"
if ((smoke)); then
  cargo build --locked --workspace --tests
else
  cargo build --locked --release -p server --bin server
fi
cargo "${profile[@]}" --workspace --bench core --bench load --bench hops --bench disclosure --no-run

run core cargo "${profile[@]}" --workspace --bench core "${bench_args[@]}"

# The browser's npm packages, as scripts/test-browser.sh installs them.
(
  cd tests/browser
  stamp=node_modules/.lock.sha256
  want=$(sha256sum package-lock.json | cut -d' ' -f1)
  if [[ ! -d node_modules || ! -f $stamp || "$(cat "$stamp")" != "$want" ]]; then
    PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund >&2
    echo "$want" >"$stamp"
  fi
)
smoke_flag=()
((smoke)) && smoke_flag=(--smoke)
run browser-crypto node tests/browser/bench-crypto.mjs "${smoke_flag[@]}"
run budget env SERVER_BIN="$server_bin" node tests/browser/budget.mjs "${smoke_flag[@]}"

run load cargo "${profile[@]}" --workspace --bench load "${bench_args[@]}"
run hops cargo "${profile[@]}" --workspace --bench hops "${bench_args[@]}"
run disclosure cargo "${profile[@]}" --workspace --bench disclosure "${bench_args[@]}"

# Sizes of what the page downloads from pkg/: raw and gzip -9.
sizes() {
  local total=0 total_gz=0
  for f in pkg/wallet_web_bg.wasm pkg/wallet_web.js; do
    local raw gz name
    raw=$(stat -c %s "$f")
    gz=$(gzip -9 -n -c "$f" | wc -c)
    name=$(basename "$f")
    total=$((total + raw))
    total_gz=$((total_gz + gz))
    echo "| $name | $raw | $gz |"
    echo "BENCH {\"bench\":\"sizes\",\"section\":\"pkg/\",\"name\":\"$name raw\",\"value\":$raw,\"unit\":\"bytes\",\"rep\":0}"
    echo "BENCH {\"bench\":\"sizes\",\"section\":\"pkg/\",\"name\":\"$name gzip\",\"value\":$gz,\"unit\":\"bytes\",\"rep\":0,\"ref\":\"$name raw\"}"
  done
  echo "| pkg/ total | $total | $total_gz |"
  echo "BENCH {\"bench\":\"sizes\",\"section\":\"pkg/\",\"name\":\"pkg/ raw\",\"value\":$total,\"unit\":\"bytes\",\"rep\":0}"
  echo "BENCH {\"bench\":\"sizes\",\"section\":\"pkg/\",\"name\":\"pkg/ gzip\",\"value\":$total_gz,\"unit\":\"bytes\",\"rep\":0,\"ref\":\"pkg/ raw\"}"
}
run sizes sizes

echo "load_after $(cut -d' ' -f1-3 /proc/loadavg)" >>"$out/machine.txt"
echo "seconds $((SECONDS - started))" >>"$out/machine.txt"

if ((smoke)); then
  node scripts/bench-report.mjs "$out" --check --output "$out/BENCHMARKS.md"
else
  node scripts/bench-report.mjs "$out" --output "$root/BENCHMARKS.md"
fi
if ((${#failed[@]})); then
  echo "bench: these benchmarks failed: ${failed[*]} (logs in $out)" >&2
  exit 1
fi
note "done; report in $( ((smoke)) && echo "$out/BENCHMARKS.md" || echo BENCHMARKS.md)"
