#!/usr/bin/env bash
# Installs what the build and the tests need and this machine lacks. Safe to run repeatedly:
# each step checks first and does nothing when the tool is already there.
set -euo pipefail

WASM_BINDGEN_VERSION=0.2.130   # must equal the `=` pin of wasm-bindgen in wallet-web/Cargo.toml
# fonts-wqy-microhei: Chinese glyphs, so the browser tests' screenshots show the page as people see it.
APT_PACKAGES=(rustc-web cargo-web rust-web-src lld-22 binaryen chromium chromium-driver fonts-wqy-microhei)

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "installing Debian packages: ${missing[*]}…" >&2
  apt-get update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >/dev/null
fi

have=$(wasm-bindgen --version 2>/dev/null | awk '{print $2}' || true)
if [[ "$have" != "$WASM_BINDGEN_VERSION" ]]; then
  echo "installing wasm-bindgen-cli $WASM_BINDGEN_VERSION (about 5 minutes)…" >&2
  # Not --locked: the CLI's own lockfile pins a webpki-roots release the registry no longer serves.
  cargo install -q wasm-bindgen-cli --version "=$WASM_BINDGEN_VERSION"
fi

# The fuzz targets (fuzz/, scripts/fuzz.sh) build with the nightly toolchain this machine has;
# cargo-fuzz drives them.
CARGO_FUZZ_VERSION=0.13.2
have=$(cargo +nightly fuzz --version 2>/dev/null | awk '{print $2}' || true)
if [[ "$have" != "$CARGO_FUZZ_VERSION" ]]; then
  echo "installing cargo-fuzz $CARGO_FUZZ_VERSION…" >&2
  cargo install -q cargo-fuzz --locked --version "=$CARGO_FUZZ_VERSION"
fi

# Contract fuzzing (scripts/test-contract.sh) runs schemathesis from a virtualenv of its own
# under the user's data directory: outside the checkout, so no clone carries or rebuilds it and
# every worktree shares one install, and apart from the system Python's packages.
SCHEMATHESIS_VERSION=4.32.5
venv="${XDG_DATA_HOME:-$HOME/.local/share}/ecert/schemathesis"
have=$("$venv/bin/st" --version 2>/dev/null | awk '{print $NF}' || true)
if [[ "$have" != "$SCHEMATHESIS_VERSION" ]]; then
  echo "installing schemathesis $SCHEMATHESIS_VERSION in $venv…" >&2
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q "schemathesis==$SCHEMATHESIS_VERSION"
fi
