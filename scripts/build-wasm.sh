#!/usr/bin/env bash
# Builds wallet-web for the browser into pkg/ (or the directory given), byte for byte
# reproducibly: the same sources give the same pkg/ from any checkout path.
#
# rustup has no wasm32 target on these machines, so this uses Debian's Rust 1.96 (rustc-web,
# cargo-web, rust-web-src) to build std for wasm32 itself, lld-22 as the linker, the pinned
# wasm-bindgen-cli, and binaryen's wasm-opt. scripts/install-deps.sh installs them.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$root/pkg}
target_dir=${WASM_TARGET_DIR:-$root/target/wasm}
cargo_home=${CARGO_HOME:-$HOME/.cargo}

export RUSTC=/usr/bin/rustc RUSTDOC=/usr/bin/rustdoc RUSTC_BOOTSTRAP=1
export CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_LINKER=/usr/bin/wasm-ld-22
# immediate-abort drops every panic message and location from the binary (size, and no
# build paths inside); the remaps keep any remaining path independent of where we build.
# Reference types stay off so binaryen 108's wasm-opt can read the module.
export CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS="-Zunstable-options -Cpanic=immediate-abort \
 -Ctarget-feature=-reference-types \
 --remap-path-prefix=$root=/build \
 --remap-path-prefix=$cargo_home/registry/src=/cargo/registry/src \
 --remap-path-prefix=/usr/lib/rustlib/src/rust=/rustc/src"

cd "$root"
echo "building wallet-web for wasm32 (Debian rustc $(/usr/bin/rustc --version | cut -d' ' -f2))…" >&2
/usr/bin/cargo build --locked --profile wasm-release -p wallet-web \
  --target wasm32-unknown-unknown -Zbuild-std=std,panic_abort --target-dir "$target_dir"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
wasm-bindgen --target web --no-typescript --out-dir "$tmp" \
  "$target_dir/wasm32-unknown-unknown/wasm-release/wallet_web.wasm"
wasm-opt -Oz --enable-bulk-memory --enable-sign-ext --enable-mutable-globals \
  --enable-nontrapping-float-to-int "$tmp/wallet_web_bg.wasm" -o "$tmp/wallet_web_bg.opt.wasm"
mv "$tmp/wallet_web_bg.opt.wasm" "$tmp/wallet_web_bg.wasm"
mkdir -p "$out"
rm -f "$out"/wallet_web*
cp "$tmp"/wallet_web* "$out"/
raw=$(stat -c %s "$out/wallet_web_bg.wasm")
gz=$(gzip -9 -n -c "$out/wallet_web_bg.wasm" | wc -c)
echo "pkg: wallet_web_bg.wasm ${raw} bytes raw, ${gz} bytes gzip -9" >&2
