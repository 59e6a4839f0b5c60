# A Debian container booted with systemd as PID 1, for tests that need the
# real service manager. Sourced after lib.sh; needs root.
#   container_boot IMAGE   copies IMAGE and boots it (no network but loopback)
#   in_container CMD...    runs CMD in every namespace of the container, as
#                          root, with a clean environment
#   container_stop         powers it off and removes what the boot left
CONTAINER_ROOT=""
CONTAINER_NSPAWN=""
CONTAINER_PID=""

container_boot() {
  CONTAINER_ROOT="$E2E_DIR/root"
  cp -a --reflink=auto "$1" "$CONTAINER_ROOT"
  # --keep-unit and --register=no: no machined needed on the host.
  systemd-nspawn -D "$CONTAINER_ROOT" -b --register=no --keep-unit --private-network -q \
    </dev/null >"$E2E_DIR/boot.log" 2>&1 &
  CONTAINER_NSPAWN=$!
  # PID 1 of the container is nspawn's systemd child.
  container_pid() {
    CONTAINER_PID=$(pgrep -P "$CONTAINER_NSPAWN" -x systemd)
  }
  wait_until 30 container_pid || fail "the container did not boot: $(tail -20 "$E2E_DIR/boot.log")"
  container_pid
  local state
  state=$(timeout 60 nsenter -t "$CONTAINER_PID" -a systemctl is-system-running --wait 2>&1) || true
  [ "$state" = running ] ||
    fail "systemd in the container is '$state': $(in_container systemctl --failed --no-legend 2>&1)"
}

in_container() {
  nsenter -t "$CONTAINER_PID" -a env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    HOME=/root LANG=C.UTF-8 TERM=dumb SYSTEMD_PAGER= "$@"
}

container_stop() {
  [ -n "$CONTAINER_NSPAWN" ] || return 0
  if kill -0 "$CONTAINER_NSPAWN" 2>/dev/null; then
    kill -TERM "$CONTAINER_NSPAWN" 2>/dev/null || true
    local tries=150
    while kill -0 "$CONTAINER_NSPAWN" 2>/dev/null && [ "$tries" -gt 0 ]; do
      sleep 0.2
      tries=$((tries - 1))
    done
    kill -KILL "$CONTAINER_NSPAWN" 2>/dev/null || true
  fi
  wait "$CONTAINER_NSPAWN" 2>/dev/null || true
  CONTAINER_NSPAWN=""
  # --keep-unit leaves empty "payload" and "supervisor" groups at the root
  # of each cgroup hierarchy.
  local d
  for d in /sys/fs/cgroup/payload /sys/fs/cgroup/supervisor /sys/fs/cgroup/*/payload \
    /sys/fs/cgroup/*/supervisor; do
    [ -d "$d" ] && find "$d" -depth -type d -exec rmdir {} + 2>/dev/null || true
  done
}
