# shellcheck shell=bash
# The Debian chroots under $DYNPIN_TOOLS: creating one (debootstrap), adding
# packages to it, and running commands in it (the body of scripts/swift-run and
# scripts/aarch64-run). Used by install-swift, install-aarch64 and those two.
# Needs lib/common.sh to be sourced first.
#
# Layout of a chroot ROOT (state next to it and inside it):
#   ROOT.install.lock          held by an installer while it changes ROOT
#   ROOT.setup.lock, ROOT.users.lock, ROOT/.dynpin-mounts, ROOT/.dynpin-mountpoints,
#   ROOT/.dynpin-binfmt        the runners' shared mount state (see chroot_run)
#   ROOT/.dynpin-debootstrap-done   the base system is complete (holds the suite)
#   ROOT/.dynpin-*ready        one marker per tool set installed in it

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

# chroot_install_lock ROOT: take the installers' lock of ROOT on fd 8 (held
# until the script exits), waiting for another installer if need be.
chroot_install_lock() {
    mkdir -p "$(dirname "$1")"
    exec 8>"$1.install.lock"
    if ! flock -n 8; then
        log "another installer is working on $1, waiting for it"
        flock 8
    fi
}

# chroot_bootstrap ROOT SUITE: debootstrap a minimal Debian SUITE into ROOT,
# unless that was done already. Call it holding chroot_install_lock.
chroot_bootstrap() {
    local root="$1" suite="$2" done_file="$1/.dynpin-debootstrap-done" have
    if [ -e "$done_file" ]; then
        have="$(cat "$done_file")" # empty in chroots made before the suite was recorded
        [ -z "$have" ] || [ "$have" = "$suite" ] ||
            die "$root is a Debian $have chroot, $suite was asked for (remove it, or point the *_CHROOT variable elsewhere)"
        return 0
    fi
    apt_ensure debootstrap debian-archive-keyring
    local mirror script=() include=() tmp="$root.partial"
    mirror="$(debian_mirror)"
    [ -e "/usr/share/debootstrap/scripts/$suite" ] || script=(/usr/share/debootstrap/scripts/sid)
    case "$mirror" in https://*) include=(--include=ca-certificates) ;; esac
    safe_remove_tree "$tmp"
    safe_remove_tree "$root" # an old/incomplete one without the marker
    log "debootstrap $suite from $mirror into $root (takes a few minutes)"
    if ! run_quiet debootstrap --variant=minbase --components=main "${include[@]}" \
        "$suite" "$tmp" "$mirror" "${script[@]}"; then
        [ -f "$tmp/debootstrap/debootstrap.log" ] && tail -n 30 "$tmp/debootstrap/debootstrap.log" >&2
        die "debootstrap failed (partial tree left in $tmp, it is removed on the next run)"
    fi
    printf '%s\n' "$suite" >"$tmp/.dynpin-debootstrap-done"
    mv -T "$tmp" "$root"
}

# chroot_apt_install ROOT RUNNER PKG...: apt-get install the packages inside
# ROOT; RUNNER is a command that runs its arguments inside ROOT (with
# DEBIAN_FRONTEND=noninteractive). Leaves no package lists or .debs behind.
chroot_apt_install() {
    local root="$1" runner="$2"
    shift 2
    # DNS for apt inside the chroot (same network namespace as the host).
    if [ -r /etc/resolv.conf ]; then
        rm -f "$root/etc/resolv.conf"
        cat /etc/resolv.conf >"$root/etc/resolv.conf"
    fi
    # recover from an interrupted earlier run
    run_quiet "$runner" dpkg --configure -a || die "dpkg --configure -a inside the chroot failed"
    run_quiet "$runner" apt-get update -q || die "apt-get update inside the chroot failed"
    run_quiet "$runner" apt-get install -y -q --no-install-recommends "$@" ||
        die "installing $* inside the chroot failed"
    "$runner" apt-get clean
    rm -rf "$root"/var/lib/apt/lists/*
}

# chroot_run ARG...: run a command inside a chroot, as described in the header
# of scripts/swift-run (its options and behaviour). The calling script sets:
#   cr_root         the chroot directory
#   cr_self         the calling script (re-executed inside unshare)
#   cr_what         what it is, for messages ("the Swift chroot")
#   cr_ready        a command that succeeds if the chroot is completely installed
#   cr_install      the script that installs it (for the error message)
#   cr_ns_var       name of the variable that marks the re-executed run
#   cr_mode         mount mode (auto, unshare or trap), cr_mode_var: its variable
#   cr_extra_binds  more directories to bind, colon-separated
# and may set:
#   cr_binds=()     directories always bound (before the current directory)
#   cr_env=()       VAR=VAL for the command, before those given with -e
#   cr_binfmt=()    NAME MAGIC MASK INTERPRETER: enables the --binfmt option,
#                   which registers INTERPRETER (a path inside the chroot) with
#                   the kernel's binfmt_misc for executables matching MAGIC/MASK
#                   while any run is going on. binfmt_misc is kernel-wide: the
#                   entry is there for every process of the host until the last
#                   concurrent run ends (or a killed run's successor ends).
cr_binds=() cr_env=() cr_binfmt=() # the optional ones (set them after sourcing this)
# shellcheck disable=SC2154  # the cr_* variables are set by the calling script
chroot_run() {
    cr_orig_args=("$@")
    local binds=() envs=() b e
    cr_cd_dir="" cr_bind_cwd=1 cr_allow_unready="" cr_want_binfmt=""
    while [ $# -gt 0 ]; do
        case "$1" in
        -b | --bind) [ $# -ge 2 ] || die "$1 needs an argument"; binds+=("$2"); shift 2 ;;
        --bind=*) binds+=("${1#*=}"); shift ;;
        -C | --cd) [ $# -ge 2 ] || die "$1 needs an argument"; cr_cd_dir="$2"; shift 2 ;;
        --cd=*) cr_cd_dir="${1#*=}"; shift ;;
        -e | --env) [ $# -ge 2 ] || die "$1 needs an argument"; envs+=("$2"); shift 2 ;;
        --env=*) envs+=("${1#*=}"); shift ;;
        --no-cwd) cr_bind_cwd=""; shift ;;
        --binfmt) [ "${#cr_binfmt[@]}" -eq 4 ] || die "unknown option $1 (see --help)"; cr_want_binfmt=1; shift ;;
        --allow-unready) cr_allow_unready=1; shift ;; # internal, used by the installers
        -h | --help) sed -n '3,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$cr_self"; exit 0 ;;
        --) shift; break ;;
        -*) die "unknown option $1 (see --help)" ;;
        *) break ;;
        esac
    done
    [ $# -gt 0 ] || die "no command given (see --help)"

    root="$cr_root"
    if [ -z "$cr_allow_unready" ] && ! "$cr_ready"; then
        die "$cr_what $root is not installed (or incomplete): run $cr_install first"
    fi
    [ -d "$root/proc" ] || die "$root does not look like a chroot (no proc/ in it)"
    need_root "chroot/mount"

    # --- work out the bind mounts --------------------------------------------
    cr_resolved_binds=()
    local cwd
    for b in "${cr_binds[@]}"; do _cr_add_bind "$b"; done
    cwd="$(pwd -P)"
    if [ -n "$cr_bind_cwd" ] && _cr_check_bind_dir "$cwd"; then
        _cr_add_bind "$cwd"
        [ -n "$cr_cd_dir" ] || cr_cd_dir="$cwd"
    fi
    for b in "${binds[@]}"; do _cr_add_bind "$b"; done
    if [ -n "$cr_extra_binds" ]; then
        local extra=()
        IFS=: read -r -a extra <<<"$cr_extra_binds"
        for b in "${extra[@]}"; do [ -z "$b" ] || _cr_add_bind "$b"; done
    fi
    [ -n "$cr_cd_dir" ] || cr_cd_dir=/

    # --- environment for the command -------------------------------------------
    local cmd_env=(PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8
        "TERM=${TERM:-dumb}" "${cr_env[@]}")
    for e in "${envs[@]}"; do
        case "$e" in
        *=*) cmd_env+=("$e") ;;
        *) [ -n "${!e+x}" ] && cmd_env+=("$e=${!e}") ;;
        esac
    done

    # --- mount mode ------------------------------------------------------------
    mode="$cr_mode"
    if [ "$mode" = auto ]; then
        if [ -n "${!cr_ns_var:-}" ]; then
            mode="unshare"
        elif command -v unshare >/dev/null 2>&1 && unshare --mount --propagation private true 2>/dev/null; then
            mode="unshare"
        else
            mode="trap"
        fi
    fi
    case "$mode" in
    unshare | trap) ;;
    *) die "$cr_mode_var must be auto, unshare or trap (got '$mode')" ;;
    esac
    if [ "$mode" = unshare ] && [ -z "${!cr_ns_var:-}" ]; then
        # Re-exec ourselves in a private mount namespace: every mount made there
        # disappears when the command exits, whatever happens.
        exec env "$cr_ns_var=1" unshare --mount --propagation private -- bash "$cr_self" "${cr_orig_args[@]}"
    fi

    # Concurrent runs coordinate through two lock files. State shared between runs
    # (the mount point directories created in the chroot, a binfmt_misc entry, and
    # in trap mode all the mounts) is only set up or torn down while holding the
    # "setup" lock (fd 8, held briefly) and is recorded in state files in the
    # chroot; each run holds the "users" lock shared (fd 9) while its command
    # runs, and whoever finishes last (can take "users" exclusively) undoes
    # everything recorded. Runs of different runners sharing one chroot
    # (swift-run, aarch64-run) coordinate the same way.
    # (Trap mode can't unmount just "its" bind mounts: a bind of the same dir by a
    # concurrent run would be stacked on the same mount point, and unmounting the
    # top one would pull the working directory from under the other run.)
    mounts_state="$root/.dynpin-mounts"    # trap mode: mounts made by the runners
    dirs_state="$root/.dynpin-mountpoints" # directories made by the runners
    binfmt_state="$root/.dynpin-binfmt"    # binfmt_misc entries registered by the runners

    exec 8>"$root.setup.lock" 9>"$root.users.lock"
    trap _cr_cleanup EXIT
    trap 'exit 129' HUP
    trap 'exit 130' INT
    trap 'exit 143' TERM
    flock -x 8
    if [ "$mode" = unshare ]; then
        mount -t proc proc "$root/proc" # private to this namespace
        for b in "${cr_resolved_binds[@]}"; do
            _cr_make_mountpoint "$b"
            mount --bind "$b" "$root$b"
        done
    else
        if ! mountpoint -q "$root/proc"; then
            mount -t proc proc "$root/proc"
            printf '%s\n' "$root/proc" >>"$mounts_state"
        fi
        for b in "${cr_resolved_binds[@]}"; do
            _cr_make_mountpoint "$b"
            if ! mountpoint -q "$root$b"; then # else a concurrent run bound it already
                mount --bind "$b" "$root$b"
                printf '%s\n' "$root$b" >>"$mounts_state"
            fi
        done
    fi
    [ -z "$cr_want_binfmt" ] || _cr_register_binfmt
    flock -s 9 # never waits: a last-user cleanup holds the setup lock too
    flock -u 8

    local rc=0
    chroot "$root" /usr/bin/env -i -C "$cr_cd_dir" "${cmd_env[@]}" "$@" 8>&- 9>&- || rc=$?
    exit "$rc"
}

_cr_check_bind_dir() { # DIR (already resolved): refuse system dirs and symlinks in the target
    local d="$1" rel part acc
    case "$d" in
    / | /bin | /bin/* | /boot | /boot/* | /dev | /dev/* | /etc | /etc/* | /lib | /lib/* | /lib32 | /lib32/* | \
        /lib64 | /lib64/* | /libx32 | /libx32/* | /proc | /proc/* | /run | /run/* | /sbin | /sbin/* | /sys | /sys/* | \
        /usr | /usr/* | /var | /var/* | /tmp)
        return 1 ;;
    esac
    case "$d" in "$root" | "$root"/*) return 1 ;; esac
    # no component of the target inside the chroot may be a symlink (it could
    # point back out to the host)
    rel="${d#/}" acc="$root"
    while [ -n "$rel" ]; do
        part="${rel%%/*}"
        [ "$part" = "$rel" ] && rel="" || rel="${rel#*/}"
        acc="$acc/$part"
        [ -L "$acc" ] && return 1
    done
    return 0
}

_cr_add_bind() {
    local d x
    [ -d "$1" ] || die "bind dir $1: not a directory"
    d="$(realpath -e -- "$1")"
    _cr_check_bind_dir "$d" || die "refusing to bind $d into the chroot (system dir, /tmp itself, or a symlink in the way); use a subdirectory"
    for x in "${cr_resolved_binds[@]}"; do [ "$x" = "$d" ] && return 0; done
    cr_resolved_binds+=("$d")
}

_cr_make_mountpoint() { # DIR (absolute, inside the chroot)
    local rel="${1#/}" acc="" part
    while [ -n "$rel" ]; do
        part="${rel%%/*}"
        [ "$part" = "$rel" ] && rel="" || rel="${rel#*/}"
        acc="$acc/$part"
        if [ ! -e "$root$acc" ]; then
            mkdir "$root$acc"
            printf '%s\n' "$root$acc" >>"$dirs_state"
        fi
    done
}

# Register cr_binfmt with the kernel unless an earlier run did (called holding
# the setup lock). Flag F: the kernel opens the interpreter now, by its path on
# the host, so the entry works inside the chroot.
_cr_register_binfmt() {
    local name="${cr_binfmt[0]}" interp="$root${cr_binfmt[3]}" dir="$root/proc/sys/fs/binfmt_misc"
    grep -qxF -- "$name" "$binfmt_state" 2>/dev/null && [ -e "$dir/$name" ] && return 0
    [ -x "$interp" ] || die "--binfmt: $interp is missing"
    case "$interp" in *:*) die "--binfmt: ':' in the path $interp" ;; esac
    if ! mountpoint -q "$dir"; then
        mount -t binfmt_misc binfmt_misc "$dir" || die "--binfmt: cannot mount binfmt_misc (no kernel support?)"
        [ "$mode" = unshare ] || printf '%s\n' "$dir" >>"$mounts_state"
    fi
    if [ ! -e "$dir/$name" ]; then
        printf ':%s:M::%s:%s:%s:F' "$name" "${cr_binfmt[1]}" "${cr_binfmt[2]}" "$interp" >"$dir/register" ||
            die "--binfmt: the kernel refused the binfmt_misc entry $name"
    fi
    grep -qxF -- "$name" "$binfmt_state" 2>/dev/null || printf '%s\n' "$name" >>"$binfmt_state"
}

# Undo the recorded state, if we're the last user.
# shellcheck disable=SC2317  # invoked from the EXIT trap
_cr_remove_shared_state() {
    local m dir="$root/proc/sys/fs/binfmt_misc"
    flock -x 8
    flock -x -n 9 || return 0
    if [ -f "$binfmt_state" ]; then
        if [ -d "$dir" ] && ! mountpoint -q "$dir"; then
            mount -t binfmt_misc binfmt_misc "$dir" 2>/dev/null &&
                { [ "$mode" = unshare ] || printf '%s\n' "$dir" >>"$mounts_state"; }
        fi
        while IFS= read -r m; do
            if [ -e "$dir/$m" ]; then
                echo -1 >"$dir/$m" || log "warning: could not remove the binfmt_misc entry $m"
            fi
        done <"$binfmt_state"
        rm -f "$binfmt_state"
    fi
    if [ "$mode" = trap ] && [ -f "$mounts_state" ]; then
        tac "$mounts_state" | while IFS= read -r m; do
            if mountpoint -q "$m"; then
                umount "$m" 2>/dev/null || umount -l "$m" || log "warning: could not unmount $m"
            fi
        done
        rm -f "$mounts_state"
    fi
    if [ -f "$dirs_state" ]; then
        tac "$dirs_state" | while IFS= read -r m; do
            rmdir "$m" 2>/dev/null || true
        done
        rm -f "$dirs_state"
    fi
}

# shellcheck disable=SC2317  # invoked from the EXIT trap
_cr_cleanup() {
    local b
    trap - EXIT INT TERM HUP
    if [ "$mode" = unshare ]; then
        # this namespace's mounts vanish with it anyway, but the mount points
        # must be unmounted here to be removable
        for b in "${cr_resolved_binds[@]}"; do umount -l "$root$b" 2>/dev/null || true; done
    fi
    _cr_remove_shared_state
}
