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
  # the libFuzzer tree (clang's runtimes: libclang-rt-14-dev on Debian 12, the default
  # version's libclang-rt-dev from Debian 13 on)
  clang "$clang_rt"
  # tests, demo and lab
  python3 sox iproute2 xvfb pavucontrol imagemagick tesseract-ocr tesseract-ocr-eng
  # the control plane: mDNS through Avahi, and the lab's own avahi-daemon
  libavahi-client-dev avahi-daemon avahi-utils
  # the PTP tests: ptp4l as a PTPv2 leader and follower (free-running, never touching the system clock)
  linuxptp
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "installing: ${missing[*]}"
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
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
