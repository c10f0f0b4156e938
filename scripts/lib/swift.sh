# shellcheck shell=bash
# Shared definitions for scripts/install-swift and scripts/swift-run.
# Needs lib/common.sh and lib/chroot.sh to be sourced first.

# scripts/install-aarch64 puts its tools into this same chroot by default.
DYNPIN_SWIFT_CHROOT="${DYNPIN_SWIFT_CHROOT:-$DYNPIN_TOOLS/swift-chroot}"
DYNPIN_SWIFT_SUITE="${DYNPIN_SWIFT_SUITE:-trixie}"
# Written into the chroot once it is completely set up; holds the package set.
SWIFT_READY_MARKER=".dynpin-ready"

# Packages installed inside the chroot (swiftlang already depends on gcc and
# binutils, which the swift driver uses to link; libc6-dev gives crt*.o and
# the C headers the clang importer needs).
swift_chroot_packages() {
    # shellcheck disable=SC2086  # word splitting of the extra list is wanted
    printf '%s\n' swiftlang libc6-dev ${DYNPIN_SWIFT_EXTRA_PKGS:-} | sort -u | tr '\n' ' ' | sed 's/ $//'
}

swift_chroot_ready() {
    [ -f "$DYNPIN_SWIFT_CHROOT/$SWIFT_READY_MARKER" ] &&
        [ "$(cat "$DYNPIN_SWIFT_CHROOT/$SWIFT_READY_MARKER")" = "$(swift_chroot_packages)" ] &&
        { [ -L "$DYNPIN_SWIFT_CHROOT/usr/bin/swiftc" ] || [ -x "$DYNPIN_SWIFT_CHROOT/usr/bin/swiftc" ]; }
}
