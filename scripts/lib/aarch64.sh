# shellcheck shell=bash disable=SC2034  # some variables are used by the scripts sourcing this
# Shared definitions for scripts/install-aarch64 and scripts/aarch64-run.
# Needs lib/common.sh and lib/chroot.sh to be sourced first.

# The cross tools go into the Swift chroot by default: both are Debian trixie,
# so one debootstrap and one base system (gcc, binutils, libc6-dev, python3)
# serve both. Each tool set has its own ready marker in it.
DYNPIN_AARCH64_CHROOT="${DYNPIN_AARCH64_CHROOT:-${DYNPIN_SWIFT_CHROOT:-$DYNPIN_TOOLS/swift-chroot}}"
DYNPIN_AARCH64_SUITE="${DYNPIN_AARCH64_SUITE:-${DYNPIN_SWIFT_SUITE:-trixie}}"
# Cargo's home for builds in the chroot (registry index and crate cache),
# outside the chroot so it survives a rebuilt chroot; bound at the same path.
DYNPIN_AARCH64_CARGO_HOME="${DYNPIN_AARCH64_CARGO_HOME:-$DYNPIN_TOOLS/aarch64-cargo}"
# Written into the chroot once the tools are installed; holds the package set.
AARCH64_READY_MARKER=".dynpin-aarch64-ready"
# The host's extra CA certificates (a TLS-inspecting proxy's, say): cargo in the
# chroot needs them to reach crates.io. Mirrored to the same path in the chroot.
AARCH64_HOST_CAS=/usr/local/share/ca-certificates

# Packages installed inside the chroot: Debian's Rust (rust-src for
# -Zbuild-std: Debian ships no aarch64 std for an amd64 rustc), the aarch64
# cross gcc (the linker) and glibc, qemu-user (qemu-aarch64, a static binary),
# and the Python modules tests/vault_format.rs cross-checks the vault with.
aarch64_chroot_packages() {
    # shellcheck disable=SC2086  # word splitting of the extra list is wanted
    printf '%s\n' rustc cargo rust-src gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user \
        ca-certificates python3-argon2 python3-nacl ${DYNPIN_AARCH64_EXTRA_PKGS:-} |
        sort -u | tr '\n' ' ' | sed 's/ $//'
}

# True if the chroot's copy of the host's extra CA certificates is current.
aarch64_host_cas_synced() {
    [ -d "$AARCH64_HOST_CAS" ] || return 0
    diff -r -q "$AARCH64_HOST_CAS" "$DYNPIN_AARCH64_CHROOT$AARCH64_HOST_CAS" >/dev/null 2>&1
}

aarch64_chroot_ready() {
    local r="$DYNPIN_AARCH64_CHROOT" f
    [ -f "$r/$AARCH64_READY_MARKER" ] &&
        [ "$(cat "$r/$AARCH64_READY_MARKER")" = "$(aarch64_chroot_packages)" ] || return 1
    for f in rustc cargo aarch64-linux-gnu-gcc qemu-aarch64; do
        [ -L "$r/usr/bin/$f" ] || [ -x "$r/usr/bin/$f" ] || return 1
    done
    [ -d "$DYNPIN_AARCH64_CARGO_HOME" ] && aarch64_host_cas_synced
}

# binfmt_misc entry for aarch64 ELF executables (static and PIE), as in QEMU's
# scripts/qemu-binfmt-conf.sh: NAME MAGIC MASK INTERPRETER-in-the-chroot.
AARCH64_BINFMT=(dynpin-aarch64
    '\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\xb7\x00'
    '\xff\xff\xff\xff\xff\xff\xff\x00\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\xff'
    /usr/bin/qemu-aarch64)
