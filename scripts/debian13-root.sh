#!/usr/bin/env bash
# Runs a command inside a Debian 13 (trixie) root built from Debian's packages, with this
# checkout at /src:   scripts/debian13-root.sh [COMMAND ARGS...]   (default: bash)
#
# The first run builds the root with mmdebstrap (minbase) into $DANTE_DEBIAN13_ROOT
# (default /var/cache/pipewire-dante/trixie-root); later runs reuse it. Each run installs
# the project's dependencies inside it (scripts/install-deps.sh: nothing to do once done).
#
# The command runs in its own mount and PID namespaces, in the root made the namespace's
# root with pivot_root (not chroot: the tests' `nsenter -m` into child mount namespaces and
# `ip netns exec`'s remount of /sys would escape a chroot to the host's tree). Inside:
# /proc of the new PID namespace, the host's /sys and /dev (bind), fresh tmpfs /run and
# /tmp. When the command ends every process it left behind ends with its PID namespace.
# Needs root, mmdebstrap (installed if missing) and a reachable Debian mirror.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
root=${DANTE_DEBIAN13_ROOT:-/var/cache/pipewire-dante/trixie-root}
mirror=${DANTE_DEBIAN_MIRROR:-http://deb.debian.org/debian}

if [ "${1:-}" = --inside ]; then
  # Second stage: PID 1 of the new namespaces (see the end of this script).
  shift
  mount --make-rprivate /
  mount --bind "$root" "$root"                # pivot_root needs a mount point
  mount -t proc proc "$root/proc"
  mount --rbind /sys "$root/sys"
  mount --rbind /dev "$root/dev"
  mount -t tmpfs -o mode=755 tmpfs "$root/run"
  mount -t tmpfs -o mode=1777 tmpfs "$root/tmp"
  mkdir -p "$root/src" "$root/.old-root"
  mount --bind "$repo" "$root/src"
  # apt-get needs the host's resolver inside.
  rm -f "$root/etc/resolv.conf"; : >"$root/etc/resolv.conf"
  mount --bind /etc/resolv.conf "$root/etc/resolv.conf"
  cd "$root"
  pivot_root . .old-root
  cd /
  umount -l /.old-root
  export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root
  unset XDG_RUNTIME_DIR XDG_CONFIG_HOME XDG_STATE_HOME DBUS_SESSION_BUS_ADDRESS
  cd /src
  [ $# -gt 0 ] || set -- bash
  # Not exec: PID 1 ignores SIGTERM/SIGINT, so the command runs as its child.
  "$@"
  exit $?
fi

[ "$(id -u)" -eq 0 ] || { echo "$0: needs root (mount namespace, pivot_root)" >&2; exit 1; }

if [ ! -e "$root/.pipewire-dante-root" ]; then
  command -v mmdebstrap >/dev/null || {
    apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends mmdebstrap; }
  echo "building a Debian 13 root in $root (mmdebstrap --variant=minbase trixie)"
  start=$SECONDS
  rm -rf "$root.tmp"
  mkdir -p "$(dirname "$root")"
  mmdebstrap --variant=minbase trixie "$root.tmp" "deb $mirror trixie main"
  touch "$root.tmp/.pipewire-dante-root"
  rm -rf "$root"
  mv "$root.tmp" "$root"
  echo "mmdebstrap: $((SECONDS - start)) s"
fi

self=$(readlink -f "$0")
run() { DANTE_DEBIAN13_ROOT=$root unshare --mount --pid --fork --propagation private -- "$self" --inside "$@"; }

start=$SECONDS
run scripts/install-deps.sh
echo "debian13: dependencies ready ($((SECONDS - start)) s)"
run "$@"
