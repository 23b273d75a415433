#!/usr/bin/env bash
# Installs the Debian packages the build, the demo and the tests need, if any is missing.
set -euo pipefail

clang_rt=libclang-rt-dev
grep -q '^VERSION_CODENAME=bookworm' /etc/os-release 2>/dev/null && clang_rt=libclang-rt-14-dev

packages=(
  # build
  meson ninja-build pkg-config g++ libpipewire-0.3-dev libspa-0.2-dev nlohmann-json3-dev doctest-dev
  # a PipeWire session as users have it
  pipewire pipewire-bin pipewire-pulse wireplumber dbus pulseaudio-utils
  # the libFuzzer tree (its runtime package: see clang_rt below)
  clang
  # tests, demo and lab
  python3 sox iproute2 xvfb pavucontrol imagemagick tesseract-ocr tesseract-ocr-eng
  # the control plane: mDNS through Avahi (libdbus: is the daemon of our network namespace?),
  # and the lab's own avahi-daemon
  libavahi-client-dev libdbus-1-dev avahi-daemon avahi-utils
  # the PTP tests: ptp4l as a PTPv2 leader and follower (free-running, never touching the system clock)
  linuxptp
)

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }

missing=()
for p in "${packages[@]}"; do
  installed "$p" || missing+=("$p")
done
# clang's runtimes (libFuzzer, sanitizers): libclang-rt-dev on Debian 13 (and on 12, where it
# depends on libclang-rt-14-dev); Debian 12 images without it know only libclang-rt-14-dev.
clang_rt_missing=0
installed libclang-rt-dev || installed libclang-rt-14-dev || clang_rt_missing=1
[ ${#missing[@]} -eq 0 ] && [ $clang_rt_missing -eq 0 ] && exit 0

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo
# Installing must not start services (avahi-daemon would announce this host on its real
# interfaces): where no policy-rc.d exists, one that refuses every start is put in place
# for the duration of the install.
policy=/usr/sbin/policy-rc.d
placed_policy=0
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$policy" >/dev/null
  $SUDO chmod +x "$policy"
  placed_policy=1
fi
trap '[ "$placed_policy" = 1 ] && $SUDO rm -f "$policy"' EXIT
$SUDO apt-get update -q
if [ $clang_rt_missing -eq 1 ]; then
  # Which name exists is asked of apt's lists (just updated), not guessed from a version.
  if apt-cache show libclang-rt-dev >/dev/null 2>&1; then
    missing+=(libclang-rt-dev)
  else
    missing+=(libclang-rt-14-dev)
  fi
fi
echo "installing: ${missing[*]}"
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
