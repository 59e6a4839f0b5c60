#!/usr/bin/env bash
# Prints the path of a Debian bookworm root file system in which systemd can
# boot as PID 1 (systemd-nspawn -b), with PACKAGES installed, building it
# with debootstrap from the mirror apt already uses when no cached copy has
# the same package list and script. Building takes about a minute and is the
# only step that needs the network; the booted container has none.
# Usage: image.sh CACHE_DIR PACKAGE...
set -euo pipefail
cache=$1
shift
# What any Debian server has: the service manager and bus, curl to talk to
# the daemon, procps (kill, ps).
base=(systemd systemd-sysv dbus curl ca-certificates procps)
packages=$(printf '%s\n' "${base[@]}" "$@" | sort -u | paste -sd, -)
key=$({ cat "$0"; echo "$packages"; } | sha256sum | cut -c1-16)
image="$cache/bookworm-$key"
if [ -f "$image/.complete" ]; then
  echo "$image"
  exit 0
fi

for tool in debootstrap systemd-nspawn; do
  command -v "$tool" >/dev/null || { echo "image.sh: $tool not installed (run scripts/bootstrap.sh)" >&2; exit 1; }
done
# The first Debian mirror apt is set up with (deb822 or one-line format).
mirror=$(awk '/^URIs:/ { print $2; exit }' /etc/apt/sources.list.d/*.sources 2>/dev/null || true)
[ -n "$mirror" ] || mirror=$(awk '$1 == "deb" { print $2; exit }' /etc/apt/sources.list 2>/dev/null || true)
[ -n "$mirror" ] || { echo "image.sh: no Debian mirror found in apt's sources" >&2; exit 1; }

mkdir -p "$cache"
# Older images are of no further use.
find "$cache" -mindepth 1 -maxdepth 1 -name 'bookworm-*' ! -name "bookworm-$key" -exec rm -rf {} +
partial="$image.partial"
rm -rf "$partial"
echo "image.sh: building $image from $mirror (once; about a minute)" >&2
if ! debootstrap --variant=minbase --include="$packages" bookworm "$partial" "$mirror" \
  >"$cache/debootstrap.log" 2>&1; then
  echo "image.sh: debootstrap failed: $(tail -5 "$cache/debootstrap.log")" >&2
  exit 1
fi
# A fixed host name keeps the logs stable.
echo sloprobe-test >"$partial/etc/hostname"
touch "$partial/.complete"
mv "$partial" "$image"
echo "$image"
