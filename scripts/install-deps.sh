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
