#!/usr/bin/env bash
# e2e (root): the benchmark topology comes up and carries a TCP connection from the client netns
# to a pod, and leaves nothing behind (network namespaces, veths, cgroups, processes) both when the
# harness exits normally and when it is stopped by SIGTERM while its processes run.
# Usage: topology_test.sh SOURCE_DIR   (exit 77 = skipped: not root)
set -euo pipefail
src=${1:?usage: topology_test.sh SOURCE_DIR}
[ "$(id -u)" -eq 0 ] || { echo "skipped: needs root"; exit 77; }

state=$(mktemp -d /tmp/sluice-bench-topotest.XXXXXX)
inner_pid=
cleanup() {
  [ -z "$inner_pid" ] || kill -KILL "$inner_pid" 2>/dev/null || true
  rm -rf "$state"
}
trap cleanup EXIT

# The harness side, run inside unshare: build the topology, prove it carries traffic, record what
# must disappear, then either exit or wait to be killed.
inner() {
  mode=$1 dir=$2 waiter=
  set -euo pipefail
  source "$src/tools/bench/lib/topology.sh"
  trap '[ -z "$waiter" ] || kill "$waiter"; topo_down; ip -o link show >"$dir/links-after"' EXIT
  trap 'exit 143' TERM
  topo_init "$dir/work"
  topo_up
  echo "$TOPO_CGROUP" >"$dir/cgroup"
  for ns in "${TOPO_NETNS[@]}"; do
    stat -L -c %i "/run/netns/$ns" >>"$dir/netns-inodes"
  done
  topo_spawn pod server server "$TOPO_SERVER_CPU" /usr/bin/python3 -m http.server --bind "${TOPO_POD_IPS[0]}" 8080
  topo_spawn idle client client "$TOPO_CLIENT_CPU" sleep 300
  cat "$dir/work/pids/pod" "$dir/work/pids/idle" >"$dir/pids"
  topo_run client client "$TOPO_CLIENT_CPU" /usr/bin/python3 "$src/tools/bench/lib/apply.py" port \
    --host "${TOPO_POD_IPS[0]}" --port 8080 --timeout 20
  echo connected >"$dir/connected"
  if [ "$mode" = killed ]; then
    sleep 300 &
    waiter=$!
    wait "$waiter"
  fi
}
export -f inner
export src

fail() { echo "FAIL: $*" >&2; exit 1; }

check_clean() {
  local dir=$1 pid ino
  [ -f "$dir/connected" ] || fail "$2: no TCP connection from client netns to the pod"
  local cg
  cg=$(cat "$dir/cgroup")
  [ ! -e "$cg" ] || fail "$2: cgroup $cg left behind"
  for pid in $(cat "$dir/pids"); do
    ! kill -0 "$pid" 2>/dev/null || fail "$2: process $pid still running"
  done
  for ino in $(cat "$dir/netns-inodes"); do
    for pid in /proc/[0-9]*; do
      [ "$(stat -L -c %i "$pid/ns/net" 2>/dev/null)" != "$ino" ] || fail "$2: netns $ino still used by ${pid#/proc/}"
    done
  done
  ! grep -qE 'c-eth0|s-eth0|n-cli|n-srv' "$dir/links-after" || fail "$2: veth left behind"
  [ ! -e "$dir/work/pids" ] || [ -z "$(ls "$dir/work/pids")" ] || fail "$2: pid files left"
  echo "ok: $2"
}

mkdir "$state/normal"
unshare --net --mount --propagation private bash -c 'inner normal "$0"' "$state/normal"
check_clean "$state/normal" "normal exit"

mkdir "$state/killed"
unshare --net --mount --propagation private bash -c 'inner killed "$0"' "$state/killed" &
inner_pid=$!
for _ in $(seq 200); do
  [ -f "$state/killed/connected" ] && break
  kill -0 "$inner_pid" 2>/dev/null || break
  sleep 0.1
done
kill -TERM "$inner_pid"
wait "$inner_pid" || true
inner_pid=
check_clean "$state/killed" "SIGTERM while running"
