#!/usr/bin/env bash
# Runs wallet-web's wasm-bindgen tests in Node and in headless Chromium.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
export RUSTC=/usr/bin/rustc RUSTDOC=/usr/bin/rustdoc RUSTC_BOOTSTRAP=1
export CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_LINKER=/usr/bin/wasm-ld-22
export CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner
export CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS="-Ctarget-feature=-reference-types"
export WASM_BINDGEN_TEST_WEBDRIVER_JSON="$root/wallet-web/tests/webdriver.json"
export CHROMEDRIVER=/usr/bin/chromedriver
run() {
  /usr/bin/cargo test --locked -p wallet-web --target wasm32-unknown-unknown \
    -Zbuild-std=std,panic_abort --target-dir "$root/target/wasm-test" --tests
}
echo "wasm tests in Node…" >&2
run
echo "wasm tests in headless Chromium…" >&2
WASM_BINDGEN_USE_BROWSER=1 run
