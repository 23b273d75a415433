#!/usr/bin/env bash
# A Debian 13 (trixie) minbase root with the build dependencies, built from Debian's
# packages with mmdebstrap, and a command run inside it, to check the project against
# PipeWire 1.4 / g++ 14 without another machine:
#
#   scripts/debian13-root.sh [--root DIR] [--] COMMAND...
#   e.g. scripts/debian13-root.sh -- sh -c 'meson setup /tmp/b /src -Dwerror=true && ninja -C /tmp/b && meson test -C /tmp/b --suite unit'
#
# The root is made once (default /var/tmp/pwdante-trixie) and reused. The command runs as
# root in a mount namespace of its own (unshare -m) whose root is switched with
# pivot_root, not chroot: integration tests nsenter -m into child mount namespaces, which
# a chroot'ed process cannot do safely. The source tree is bind-mounted read-write at
# /src, a fresh tmpfs at /tmp. Nothing of the host's is changed outside the root dir.
# Needs root, mmdebstrap and unshare (util-linux).
set -euo pipefail

root=/var/tmp/pwdante-trixie
if [ "${1:-}" = "--root" ]; then root=$2; shift 2; fi
[ "${1:-}" = "--" ] && shift
[ $# -gt 0 ] || { echo "usage: $0 [--root DIR] [--] COMMAND..." >&2; exit 2; }
[ "$(id -u)" -eq 0 ] || { echo "$0: needs root (mmdebstrap, unshare -m, pivot_root)" >&2; exit 1; }
src=$(cd "$(dirname "$0")/.." && pwd)

if [ ! -x "$root/usr/bin/meson" ]; then
  command -v mmdebstrap >/dev/null || { echo "$0: install mmdebstrap first" >&2; exit 1; }
  rm -rf "$root"
  mmdebstrap --variant=minbase --mode=root \
    --include=meson,ninja-build,pkg-config,g++,clang,libclang-rt-dev,libpipewire-0.3-dev,libspa-0.2-dev,nlohmann-json3-dev,doctest-dev,libavahi-client-dev,python3,pipewire,pipewire-bin,wireplumber,iproute2 \
    trixie "$root" http://deb.debian.org/debian
fi

# In the new mount namespace: bind the root onto itself (pivot_root needs a mount point),
# give it /proc, /dev, /sys, /tmp and the source, switch to it and drop the old root.
exec unshare -m --propagation private -- /bin/sh -ec '
  root=$1; src=$2; shift 2
  mount --bind "$root" "$root"
  mount -t proc proc "$root/proc"
  mount --rbind /dev "$root/dev"
  mount --rbind /sys "$root/sys"
  mount -t tmpfs tmpfs "$root/tmp"
  mkdir -p "$root/src" "$root/.oldroot"
  mount --bind "$src" "$root/src"
  cd "$root"
  pivot_root . .oldroot
  cd /
  umount -l /.oldroot
  exec env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 "$@"
' sh "$root" "$src" "$@"
