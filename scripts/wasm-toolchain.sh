# Sourced by the scripts: picks a Rust toolchain that can build wasm32-unknown-unknown
# and exports WASM_CARGO, WASM_RUSTC and WASM_TOOLCHAIN (a description).
# Order: rustup's toolchain if it has (or can fetch) the wasm32 target; else
# Debian's rustc/cargo with libstd-rust-dev-wasm32 (Rust 1.63), which
# `find_wasm_toolchain --install` installs with apt-get when missing.

find_wasm_toolchain() {
  local install="${1:-}"
  if command -v rustup >/dev/null 2>&1 && command -v cargo >/dev/null 2>&1; then
    if rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown \
      || { [ "$install" = --install ] && timeout 120 rustup target add wasm32-unknown-unknown >/dev/null 2>&1; }; then
      WASM_CARGO=$(command -v cargo)
      WASM_RUSTC=$(rustup which rustc 2>/dev/null || command -v rustc)
      WASM_TOOLCHAIN="rustup ($($WASM_RUSTC --version))"
      export WASM_CARGO WASM_RUSTC WASM_TOOLCHAIN
      return 0
    fi
  fi
  if ! debian_wasm_ready && [ "$install" = --install ]; then
    install_debian_rust
  fi
  if debian_wasm_ready; then
    WASM_CARGO=/usr/bin/cargo
    WASM_RUSTC=/usr/bin/rustc
    WASM_TOOLCHAIN="Debian ($(/usr/bin/rustc --version))"
    export WASM_CARGO WASM_RUSTC WASM_TOOLCHAIN
    return 0
  fi
  echo "error: no Rust toolchain with the wasm32-unknown-unknown target." >&2
  echo "  Install one: 'rustup target add wasm32-unknown-unknown', or on Debian/Ubuntu" >&2
  echo "  'apt-get install rustc cargo libstd-rust-dev-wasm32 lld-14' (see DEVELOPERS.md)." >&2
  return 1
}

debian_wasm_ready() {
  [ -x /usr/bin/cargo ] && [ -x /usr/bin/rustc ] && [ -d /usr/lib/rustlib/wasm32-unknown-unknown ] && [ -x /usr/bin/lld-14 ]
}

install_debian_rust() {
  command -v apt-get >/dev/null 2>&1 || return 1
  local sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  echo "setup: installing Debian's Rust toolchain for wasm32 (rustc cargo libstd-rust-dev-wasm32 lld-14)…" >&2
  $sudo apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq rustc cargo libstd-rust-dev-wasm32 lld-14 >&2
}
