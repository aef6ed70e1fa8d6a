# Benchmark topology, sourced by tools/bench/run and tests/bench/topology_test.sh.
# Must run inside a private network and mount namespace (unshare --net --mount): /run is replaced by
# a tmpfs so `ip netns` pins never touch the host, and the host's links are not visible.
#
#   client netns  c-eth0 10.200.1.2 ── n-cli 10.200.1.1  node netns  n-srv 10.200.2.1 ── s-eth0  server netns
#   (cgroup client, CPU0)                 (routes, proxies, rules; cgroup node, CPU1)    10.200.2.11-14 (pods; cgroup server, CPU1)
#
# Service VIPs exist only as rules or map entries; nothing routes to them but the default routes.

TOPO_NETNS=(client node server)
TOPO_CLIENT_IP=10.200.1.2
TOPO_NODE_IP=10.200.1.1
TOPO_POD_IPS=(10.200.2.11 10.200.2.12 10.200.2.13 10.200.2.14)
TOPO_CLIENT_CPU=0
TOPO_SERVER_CPU=1

topo_pods_csv() { local IFS=,; echo "${TOPO_POD_IPS[*]}"; }

# topo_init WORKDIR: private /run, cgroup root; records what teardown must undo.
topo_init() {
  TOPO_WORK=$1
  mkdir -p "$TOPO_WORK/pids"
  if [ "$(readlink /proc/self/ns/net)" = "$(readlink /proc/1/ns/net)" ]; then
    echo "topology: refusing to run in the host network namespace" >&2
    return 1
  fi
  mount -t tmpfs -o mode=0755 sluice-bench-run /run
  mkdir -p /run/netns
  local cg2
  cg2=$(findmnt -n -o TARGET -t cgroup2 | head -n 1)
  if [ -z "$cg2" ]; then
    echo "topology: no cgroup2 mount" >&2
    return 1
  fi
  TOPO_CGROUP=$cg2/sluice-bench.$$
}

topo_up() {
  local ns
  for ns in "${TOPO_NETNS[@]}"; do
    ip netns add "$ns"
    ip -n "$ns" link set lo up
  done
  ip link add c-eth0 netns client type veth peer name n-cli netns node
  ip link add s-eth0 netns server type veth peer name n-srv netns node
  ip -n client addr add "$TOPO_CLIENT_IP/24" dev c-eth0
  ip -n node addr add "$TOPO_NODE_IP/24" dev n-cli
  ip -n node addr add 10.200.2.1/24 dev n-srv
  local pod
  for pod in "${TOPO_POD_IPS[@]}"; do
    ip -n server addr add "$pod/24" dev s-eth0
  done
  ip -n client link set c-eth0 up
  ip -n server link set s-eth0 up
  ip -n node link set n-cli up
  ip -n node link set n-srv up
  ip -n client route add default via "$TOPO_NODE_IP"
  ip -n server route add default via 10.200.2.1
  topo_sysctl node net.ipv4.ip_forward=1
  # New-connection tests must measure the data path, not TIME_WAIT or port exhaustion.
  topo_sysctl client net.ipv4.ip_local_port_range="1024 65000"
  topo_sysctl client net.ipv4.tcp_tw_reuse=1
  topo_sysctl server net.core.somaxconn=8192
  topo_sysctl node net.core.somaxconn=8192
  topo_sysctl node net.netfilter.nf_conntrack_tcp_timeout_time_wait=5
  mkdir "$TOPO_CGROUP"
  mkdir "$TOPO_CGROUP/client" "$TOPO_CGROUP/server" "$TOPO_CGROUP/node"
}

topo_sysctl() {
  nsenter --net="/run/netns/$1" sysctl -q -w "$2" >/dev/null
}

# topo_cmd NETNS CGROUP CPU CMD...: the command line that runs CMD in NETNS, inside cgroup
# CGROUP (client|server|node), pinned to CPU, killed after $TOPO_TIMEOUT seconds if that is set.
# The shell joins the cgroup before exec so every child (nginx workers, sockperf threads) is
# accounted there.
topo_cmd() {
  local ns=$1 cg=$2 cpu=$3
  shift 3
  printf '%s\0' bash -c 'echo $$ >"$0/cgroup.procs" && exec "$@"' "$TOPO_CGROUP/$cg" \
    nsenter --net="/run/netns/$ns" -- timeout --kill-after=5 "${TOPO_TIMEOUT:-0}" taskset -c "$cpu" "$@"
}

# topo_run NETNS CGROUP CPU CMD...: foreground.
topo_run() {
  local -a argv
  mapfile -d '' argv < <(topo_cmd "$@")
  "${argv[@]}"
}

# topo_spawn NAME NETNS CGROUP CPU CMD...: background; output to $TOPO_WORK/NAME.log.
topo_spawn() {
  local name=$1
  shift
  local -a argv
  mapfile -d '' argv < <(topo_cmd "$@")
  "${argv[@]}" >"$TOPO_WORK/$name.log" 2>&1 &
  echo $! >"$TOPO_WORK/pids/$name"
}

# topo_stop NAME: SIGTERM, then SIGKILL after 3 s; reaps the process.
topo_stop() {
  local f=$TOPO_WORK/pids/$1 pid
  [ -f "$f" ] || return 0
  pid=$(cat "$f")
  rm -f "$f"
  kill -TERM "$pid" 2>/dev/null || return 0
  local i
  for i in $(seq 30); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

# Undoes everything topo_init/topo_up did, whatever state they reached; safe to call twice.
topo_down() {
  [ -n "${TOPO_WORK:-}" ] || return 0
  local f
  for f in "$TOPO_WORK"/pids/*; do
    [ -e "$f" ] && topo_stop "$(basename "$f")"
  done
  local cg pid i
  if [ -n "${TOPO_CGROUP:-}" ] && [ -d "$TOPO_CGROUP" ]; then
    # Anything still in our cgroups was started by us (forked children included).
    for cg in client server node; do
      [ -f "$TOPO_CGROUP/$cg/cgroup.procs" ] || continue
      while read -r pid; do
        kill -KILL "$pid" 2>/dev/null || true
      done <"$TOPO_CGROUP/$cg/cgroup.procs"
    done
    for cg in client server node ""; do
      [ -d "$TOPO_CGROUP/$cg" ] || continue
      for i in $(seq 50); do
        rmdir "$TOPO_CGROUP/$cg" 2>/dev/null && break
        sleep 0.1
      done
      [ ! -d "$TOPO_CGROUP/$cg" ] || echo "topology: could not remove cgroup $TOPO_CGROUP/$cg" >&2
    done
  fi
  local ns
  for ns in "${TOPO_NETNS[@]}"; do
    [ -e "/run/netns/$ns" ] && ip netns del "$ns" 2>/dev/null
  done
  if mountpoint -q /run 2>/dev/null && [ "$(findmnt -n -o SOURCE /run)" = sluice-bench-run ]; then
    umount -l /run || true
  fi
  TOPO_WORK=
}
