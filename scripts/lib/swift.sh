# shellcheck shell=bash
# Shared definitions for scripts/install-swift and scripts/swift-run.
# Needs lib/common.sh to be sourced first.

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

# mounts_under DIR: print the mount points at or below DIR (one per line).
mounts_under() {
    local dir="${1%/}"
    # field 5 of mountinfo is the mount point, with spaces etc. octal-escaped
    awk -v d="$dir" '{ m = $5; gsub(/\\040/, " ", m); if (m == d || index(m, d "/") == 1) print m }' /proc/self/mountinfo
}

# rm -rf a chroot-like tree, but only if nothing is mounted inside it.
safe_remove_tree() {
    local dir="$1" m
    [ -e "$dir" ] || return 0
    m="$(mounts_under "$dir")"
    [ -z "$m" ] || die "refusing to delete $dir: something is mounted inside it:
$m
(unmount it first, e.g. umount -R '$dir/proc')"
    rm -rf --one-file-system "$dir"
}
