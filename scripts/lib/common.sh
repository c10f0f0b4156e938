# shellcheck shell=bash
# Shared helpers for the dynpin install scripts. Source it, don't run it:
#   . "$(dirname "$0")/lib/common.sh"
#
# Conventions: everything chatty goes to stderr, stdout is reserved for the
# machine-readable result of a script (a path, or `export` lines).

DYNPIN_TOOLS="${DYNPIN_TOOLS:-${HOME:-/root}/.cache/dynpin-tools}"

dynpin_prog="${0##*/}"

log() { printf '%s: %s\n' "$dynpin_prog" "$*" >&2; }
die() { printf '%s: error: %s\n' "$dynpin_prog" "$*" >&2; exit 1; }

# Run "$@" with output captured; show the output only if it fails.
run_quiet() {
    local out rc=0
    out="$(mktemp "${TMPDIR:-/tmp}/dynpin-log.XXXXXX")"
    "$@" >"$out" 2>&1 || rc=$?
    if [ "$rc" -ne 0 ]; then
        printf '%s: command failed (exit %s): %s\n' "$dynpin_prog" "$rc" "$*" >&2
        tail -n 60 "$out" >&2
    fi
    rm -f "$out"
    return "$rc"
}

need_root() {
    [ "$(id -u)" -eq 0 ] || die "$1 needs root (run this script as root)"
}

# True if the Debian package is installed (on the host).
deb_installed() {
    [ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null)" = installed ]
}

# apt_ensure PKG...: install the missing packages on the host; runs
# `apt-get update` (once per script run) if apt doesn't know one of them
# or if the install fails because the lists are stale.
_dynpin_apt_updated=""
_apt_update_once() {
    [ -n "$_dynpin_apt_updated" ] && return 0
    log "running apt-get update"
    run_quiet apt-get update -q || die "apt-get update failed"
    _dynpin_apt_updated=1
}
apt_ensure() {
    local p missing=()
    command -v dpkg-query >/dev/null 2>&1 || die "this needs a Debian-based host (no dpkg-query found)"
    for p in "$@"; do
        deb_installed "$p" || missing+=("$p")
    done
    [ "${#missing[@]}" -eq 0 ] && return 0
    need_root "installing ${missing[*]}"
    local policy
    for p in "${missing[@]}"; do
        policy="$(apt-cache policy "$p" 2>/dev/null || true)"
        case "$policy" in
        *"Candidate: ("* | "") _apt_update_once; break ;; # "(none)": unknown to apt
        esac
    done
    log "apt-get install ${missing[*]}"
    if ! DEBIAN_FRONTEND=noninteractive run_quiet apt-get install -y -q --no-install-recommends "${missing[@]}"; then
        [ -z "$_dynpin_apt_updated" ] || die "could not install ${missing[*]}"
        _apt_update_once   # maybe stale package lists (404s): retry once
        DEBIAN_FRONTEND=noninteractive run_quiet apt-get install -y -q --no-install-recommends "${missing[@]}" \
            || die "could not install ${missing[*]}"
    fi
}

# Print the host's Debian archive mirror URL (e.g. http://.../debian), taken
# from the host's apt configuration: the first enabled `deb` source whose
# suite is the host's own release codename. Override with DYNPIN_DEBIAN_MIRROR.
debian_mirror() {
    if [ -n "${DYNPIN_DEBIAN_MIRROR:-}" ]; then
        printf '%s\n' "${DYNPIN_DEBIAN_MIRROR%/}"
        return 0
    fi
    local codename="" f url=""
    if [ -r /etc/os-release ]; then
        codename="$(. /etc/os-release && printf '%s' "${VERSION_CODENAME:-}")"
    fi
    [ -n "$codename" ] || die "cannot determine the host's release codename from /etc/os-release"
    local etc="${DYNPIN_APT_ETC:-/etc/apt}" files=()
    [ -f "$etc/sources.list" ] && files+=("$etc/sources.list")
    for f in "$etc"/sources.list.d/*.list "$etc"/sources.list.d/*.sources; do
        [ -f "$f" ] && files+=("$f")
    done
    for f in "${files[@]}"; do
        case "$f" in
        *.sources)
            # deb822: stanzas separated by blank lines.
            url="$(awk -v cn="$codename" '
                function flush() {
                    if (types ~ /(^| )deb( |$)/ && suites ~ ("(^| )" cn "( |$)") && enabled != "no" && uris != "") {
                        split(uris, u, " "); print u[1]; found = 1; exit
                    }
                    types = ""; suites = ""; uris = ""; enabled = ""
                }
                /^[ \t]*#/ { next }
                /^[ \t]*$/ { flush(); next }
                /^[ \t]/ { if (key == "uris") uris = uris " " $1; next }   # continuation line
                {
                    key = tolower($1); sub(/:$/, "", key)
                    val = $0; sub(/^[^:]*:[ \t]*/, "", val)
                    if (key == "types") types = val
                    else if (key == "suites") suites = val
                    else if (key == "uris") uris = val
                    else if (key == "enabled") enabled = tolower(val)
                }
                END { if (!found) flush() }' "$f")"
            ;;
        *)
            # one-line format: deb [options] URI suite component...
            url="$(awk -v cn="$codename" '
                /^[ \t]*#/ { next }
                $1 == "deb" {
                    i = 2
                    if ($i ~ /^\[/) { while (i <= NF && $i !~ /\]$/) i++; i++ }
                    if ($(i + 1) == cn) { print $i; exit }
                }' "$f")"
            ;;
        esac
        case "$url" in
        http://* | https://* | ftp://* | file:/*)
            printf '%s\n' "${url%/}"
            return 0
            ;;
        esac
    done
    die "no Debian mirror for suite '$codename' found in /etc/apt/sources.list{,.d/*}; set DYNPIN_DEBIAN_MIRROR"
}
