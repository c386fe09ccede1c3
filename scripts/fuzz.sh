#!/usr/bin/env bash
# Runs every cargo-fuzz target in fuzz/ for a bounded time, each from its committed seeds
# (fuzz/seeds/<target>/) plus what earlier runs found (fuzz/corpus/<target>/, not committed).
#
#   scripts/fuzz.sh                          about 60 s in all (the test command's short run)
#   scripts/fuzz.sh 600                      600 s per target
#   FUZZ_SECONDS_PER_TARGET=600 scripts/fuzz.sh
#   scripts/fuzz.sh 600 grant identifiers    only those targets
#
# A crash stops the run: the failing input is in fuzz/artifacts/<target>/, and
# `cargo +nightly fuzz run -s none <target> <that file>` (in fuzz/; add `--fuzz-dir server` for
# server_requests) replays it.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root/fuzz"
export PATH="$HOME/.cargo/bin:$PATH"

all=(presentation_binary presentation_text grant sealed_certificate identifiers server_requests)
# The request target is the package in fuzz/server; the others are fuzz/'s own.
fuzz_dir() { if [[ $1 == server_requests ]]; then echo server; else echo .; fi; }
per=${FUZZ_SECONDS_PER_TARGET:-}
if [[ $# -gt 0 && "$1" =~ ^[0-9]+$ ]]; then
  per=$1
  shift
fi
if [[ $# -gt 0 ]]; then targets=("$@"); else targets=("${all[@]}"); fi
# The short run: 60 s shared by every target.
per=${per:-$((60 / ${#all[@]}))}

cargo +nightly fuzz --version >/dev/null 2>&1 || {
  echo "cargo-fuzz or the nightly toolchain is missing: run scripts/install-deps.sh" >&2
  exit 1
}

# No sanitizer: the code under test forbids `unsafe`, so AddressSanitizer would only slow
# every iteration; a panic, an overflow (checked in this profile) or a failed assertion is
# what these targets look for. Built once for every target.
started=$SECONDS
cargo +nightly fuzz build -s none >&2
if [[ " ${targets[*]} " == *" server_requests "* ]]; then
  cargo +nightly fuzz build -s none --fuzz-dir server >&2
fi
echo "fuzz targets built in $((SECONDS - started)) s" >&2

# The request target's six demo nodes keep their databases under TMPDIR: a scratch
# directory, removed afterwards.
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
for t in "${targets[@]}"; do
  mkdir -p "corpus/$t"
  log="$scratch/$t.log"
  if ! TMPDIR="$scratch" cargo +nightly fuzz run -s none --fuzz-dir "$(fuzz_dir "$t")" "$t" "corpus/$t" "seeds/$t" -- \
    -max_total_time="$per" -timeout=30 -rss_limit_mb=4096 -print_final_stats=1 >"$log" 2>&1; then
    tail -n 60 "$log" >&2
    echo "fuzz target $t failed: the input is in fuzz/$(fuzz_dir "$t")/artifacts/$t/" >&2
    exit 1
  fi
  runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo '?')
  echo "fuzz target $t: ${per} s, ${runs} inputs, no crash" >&2
done
