#!/usr/bin/env bash
# check-macos.sh — type-check (never link) aiorch's macOS code paths on Linux, so the
# `#[cfg(target_os = "macos")]` code (the Security-framework keychain reader, …) cannot rot.
#
# Usage:  scripts/check-macos.sh [CARGO_CHECK_ARGS...]     (default: --all-targets --locked)
# Env:
#   MACOS_TARGETS     space-separated triples (default: aarch64-apple-darwin)
#   MACOS_CHECK_MODE  auto | prebuilt | build-std (default: auto)
#                     auto: the prebuilt rust-std of the target if installed, else
#                     `rustup target add` (fail-soft), else RUSTC_BOOTSTRAP=1 -Zbuild-std with the
#                     rust-src component, else exit 3 ("cannot check here") so CI can tell a
#                     missing toolchain from a type error (exit 1).
#   CLIPPY=1          run `cargo clippy` instead of `cargo check`
#
# Why stub C compilers: `cargo check` still runs build scripts, and -sys crates built for the
# target (ring via rustls, libsqlite3-sys bundled) call the `cc` crate with Apple flags that
# Linux gcc rejects, with no macOS SDK anyway. `check` never links, so stubs that create empty
# objects are enough: this catches Rust type/borrow/cfg errors, not C or link errors.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ $# -eq 0 ]; then set -- --all-targets --locked; fi
targets=${MACOS_TARGETS:-aarch64-apple-darwin}
mode=${MACOS_CHECK_MODE:-auto}
subcmd=check
[ "${CLIPPY:-0}" = 1 ] && subcmd=clippy

target_dir=${CARGO_TARGET_DIR:-target}
stub_dir="$target_dir/macos-check-stubs"
mkdir -p "$stub_dir"
stub_dir=$(cd "$stub_dir" && pwd)
cat > "$stub_dir/cc" <<'EOF'
#!/bin/sh
# stub compiler: creates the requested output file empty (cargo check never links)
out=""; prev=""
for a in "$@"; do
  case "$prev" in -o) out="$a" ;; esac
  case "$a" in -o?*) out="${a#-o}" ;; --version|-v|-dumpversion|-dumpmachine) echo "stub-cc 0.0"; exit 0 ;; esac
  prev="$a"
done
[ -n "$out" ] && : > "$out"
exit 0
EOF
cat > "$stub_dir/ar" <<'EOF'
#!/bin/sh
# stub archiver: an empty ar archive for any *.a argument
for a in "$@"; do case "$a" in *.a) printf '!<arch>\n' > "$a" ;; esac; done
exit 0
EOF
chmod +x "$stub_dir/cc" "$stub_dir/ar"

have_target() { rustup target list --installed 2>/dev/null | grep -qx "$1"; }
have_rust_src() { [ -d "$(rustc --print sysroot)/lib/rustlib/src/rust/library" ]; }

status=0
for t in $targets; do
  tu=${t//-/_}
  export "CC_${tu}=$stub_dir/cc" "CXX_${tu}=$stub_dir/cc" "AR_${tu}=$stub_dir/ar"
  use=$mode
  if [ "$use" = auto ]; then
    if have_target "$t" || rustup target add "$t" >/dev/null 2>&1; then
      use=prebuilt
    elif have_rust_src || rustup component add rust-src >/dev/null 2>&1; then
      use=build-std
    else
      echo "check-macos: $t: cannot check here: neither the prebuilt std (rustup target add $t) nor rust-src is available" >&2
      [ $status -eq 0 ] && status=3
      continue
    fi
  fi
  start=$(date +%s)
  echo "== check-macos: $t ($use): cargo $subcmd --target $t $*" >&2
  if [ "$use" = build-std ]; then
    # build-std is unstable; RUSTC_BOOTSTRAP=1 unlocks it on the stable toolchain. Its own target
    # dir: RUSTC_BOOTSTRAP changes what build scripts detect and would invalidate the normal cache.
    if ! RUSTC_BOOTSTRAP=1 CARGO_TARGET_DIR="$target_dir/build-std" \
         cargo "$subcmd" -Zbuild-std=std,panic_abort --target "$t" "$@"; then status=1; fi
  else
    if ! cargo "$subcmd" --target "$t" "$@"; then status=1; fi
  fi
  echo "== check-macos: $t done in $(( $(date +%s) - start ))s (exit so far: $status)" >&2
done
exit $status
