# shellcheck shell=bash disable=SC2034  # STD_ARGS is used by the scripts sourcing this
# Shared by scripts/build-android and scripts/build-ios: how std is built for
# the shipped library. Sets the array STD_ARGS (extra cargo arguments).
#
# DYNPIN_STD=auto (default): where the toolchain has rust-src (rustup component
#   add rust-src), std is rebuilt without its backtrace feature, which drops
#   std's backtrace symbolizer from the library (docs/benchmarks.md, "Size of
#   the mobile library": about a quarter of the library). This uses cargo's
#   unstable -Zbuild-std: with a stable toolchain RUSTC_BOOTSTRAP=1 enables it
#   for this build only; a nightly toolchain needs nothing. panic = "unwind"
#   is kept (panic_unwind is rebuilt too), so UniFFI still turns a panic into
#   an error.
# DYNPIN_STD=no-backtrace: the same, and an error without rust-src.
# DYNPIN_STD=prebuilt: the toolchain's prebuilt std (larger library).
STD_ARGS=()
std_mode="${DYNPIN_STD:-auto}"
installed="$(rustup component list --installed 2>/dev/null || true)"
case "$std_mode:$installed" in
prebuilt:*) ;;
auto:*rust-src* | no-backtrace:*rust-src*)
    export RUSTC_BOOTSTRAP=1
    STD_ARGS=('-Zbuild-std=std,panic_unwind' -Zbuild-std-features=panic-unwind)
    echo "std: rebuilt without its backtrace feature (DYNPIN_STD=prebuilt to use the prebuilt one)" >&2
    ;;
auto:*) echo "std: prebuilt (rustup component add rust-src for the smaller library)" >&2 ;;
no-backtrace:*) echo "error: DYNPIN_STD=no-backtrace needs rust-src: rustup component add rust-src" >&2; exit 1 ;;
*) echo "error: DYNPIN_STD must be auto, no-backtrace or prebuilt" >&2; exit 1 ;;
esac
