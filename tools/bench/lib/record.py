#!/usr/bin/python3
"""Turns one measurement into one JSON line of results.jsonl (or, with --meta, writes meta.json).

A measurement is a load generator's JSON, sockperf's text or iperf3's JSON, plus two snapshots taken around it
(first line of /proc/stat, cgroup usage_usec and PSI cpu "some" total per cgroup, the Tcp and
TcpExt counters of each netns, BPF run_time_ns/run_cnt per program).
"""
import argparse
import json
import os
import platform
import re
import subprocess
import sys

# USER_HZ: /proc/stat counts in clock ticks.
TICK_US = 1e6 / os.sysconf("SC_CLK_TCK")
BUSY_FIELDS = (0, 1, 2, 5, 6)  # user nice system irq softirq
STEAL_FIELD = 7
# Per-netns TCP counters kept per operation: a request that takes more segments than expected, or
# waits for delayed ACKs, shows here (Nagle, split writes, retransmissions).
TCP_COUNTERS = (("out_segs", "TcpOutSegs"), ("retrans_segs", "TcpRetransSegs"),
                ("delayed_acks", "TcpExtDelayedACKs"), ("active_opens", "TcpActiveOpens"))


def read_snapshot(path):
    snap = {"cpu": [], "cgroup": {}, "cpuwait": {}, "tcp": {}, "bpf": {}}
    headers = {}
    with open(path) as f:
        for line in f:
            parts = line.split()
            if not parts:
                continue
            if parts[0] == "cpu":
                snap["cpu"] = [int(v) for v in parts[1:]]
            elif parts[0] == "cgroup" and len(parts) == 3:
                snap["cgroup"][parts[1]] = int(parts[2])
            elif parts[0] == "cpuwait" and len(parts) == 3 and parts[2].isdigit():
                snap["cpuwait"][parts[1]] = int(parts[2])
            elif parts[0] == "tcp" and len(parts) > 3:
                # /proc/net/snmp and /proc/net/netstat: a line of names, then a line of values.
                ns, kind, fields = parts[1], parts[2], parts[3:]
                if not all(f.lstrip("-").isdigit() for f in fields):
                    headers[(ns, kind)] = fields
                elif (ns, kind) in headers:
                    snap["tcp"].setdefault(ns, {}).update(
                        {"%s%s" % (kind[:-1], name): int(v) for name, v in zip(headers[(ns, kind)], fields)})
            elif parts[0] == "bpf" and len(parts) == 4:
                snap["bpf"][parts[1]] = (int(parts[2]), int(parts[3]))
    return snap


def cpu_costs(before, after, ops):
    """CPU per operation (our cgroups and whole host), steal and foreign load, BPF ns per run.

    The host is shared (builds, other tests), so host-wide busy time is reported beside the sum of
    our own cgroups, and the share of the machine busy outside them is kept to flag noisy runs.
    """
    out = {}
    d = [a - b for a, b in zip(after["cpu"], before["cpu"])]
    total = sum(d[:8]) or 1
    busy = sum(d[i] for i in BUSY_FIELDS)
    ours = {cg: after["cgroup"][cg] - before["cgroup"].get(cg, 0) for cg in after["cgroup"]}
    out["steal_pct"] = 100.0 * d[STEAL_FIELD] / total
    out["busy_pct"] = 100.0 * busy / total
    out["foreign_pct"] = max(0.0, 100.0 * (busy * TICK_US - sum(ours.values())) / (total * TICK_US))
    # Time our cgroups were runnable but not running: on a shared host, the other work's share of
    # the latency (run-queue waits), which no change to the data path can remove.
    wait = {cg: after.get("cpuwait", {})[cg] - before.get("cpuwait", {}).get(cg, 0)
            for cg in after.get("cpuwait", {})}
    if ops:
        if wait:
            out["cpu_wait_us_per_op"] = {cg: v / ops for cg, v in wait.items()}
        tcp = {}
        for ns, counters in after.get("tcp", {}).items():
            old = before.get("tcp", {}).get(ns, {})
            per = {key: (counters[name] - old.get(name, 0)) / ops for key, name in TCP_COUNTERS
                   if name in counters}
            if any(per.values()):
                tcp[ns] = per
        if tcp:
            out["tcp_per_op"] = tcp
        out["host_cpu_us_per_op"] = busy * TICK_US / ops
        out["cpu_us_per_op"] = sum(ours.values()) / ops
        out["cgroup_us_per_op"] = {cg: v / ops for cg, v in ours.items()}
    ns = cnt = 0
    for prog, (t1, c1) in after["bpf"].items():
        t0, c0 = before["bpf"].get(prog, (0, 0))
        ns += t1 - t0
        cnt += c1 - c0
    if cnt:
        out["bpf_ns_per_run"] = ns / cnt
        out["bpf_runs"] = cnt
    return out


SOCKPERF_PCT = re.compile(r"---> percentile\s+([\d.]+)\s*=\s*([\d.]+)")


def parse_sockperf(text):
    pct = {float(p): float(v) for p, v in SOCKPERF_PCT.findall(text)}
    maximum = re.search(r"<MAX> observation\s*=\s*([\d.]+)", text)
    observations = re.search(r"Total (\d+) observations", text)
    sent = re.search(r"\[Total Run\].*SentMessages=(\d+)", text)
    valid = re.search(r"\[Valid Duration\] RunTime=([\d.]+) sec; SentMessages=(\d+); ReceivedMessages=(\d+)", text)
    if not pct or not observations or not valid:
        raise ValueError("no sockperf statistics in output")
    lat = {"count": int(observations.group(1)), "p50": pct.get(50.0), "p90": pct.get(90.0),
           "p99": pct.get(99.0), "p999": pct.get(99.9),
           "max": float(maximum.group(1)) if maximum else None}
    lat["spectrum"] = sorted([[p, v] for p, v in pct.items()]) + (
        [[100.0, lat["max"]]] if lat["max"] is not None else [])
    sent_valid = int(valid.group(2))
    return {"latency_us": lat, "ok": int(valid.group(3)),
            "failed": sent_valid - int(valid.group(3)),
            "ok_all": int(sent.group(1)) if sent else int(valid.group(3)),
            "throughput": int(valid.group(3)) / float(valid.group(1))}


def parse_iperf3(text):
    """iperf3 --json (client side): Gb/s received over the measured period (after --omit), and
    the bytes sent over the whole run, omitted seconds included, which the CPU snapshots span.

    ok_all is that volume in GB (1e9 bytes), so the CPU per "operation" computed from it is per GB.
    """
    d = json.loads(text)
    if d.get("error"):
        raise ValueError("iperf3: %s" % d["error"])
    end = d.get("end") or {}
    received = end.get("sum_received") or {}
    sent = end.get("sum_sent") or {}
    if "bits_per_second" not in received or not received.get("seconds"):
        raise ValueError("no iperf3 summary in output")
    total = sum(i["sum"]["bytes"] for i in d.get("intervals", []) if "sum" in i) or sent.get("bytes", 0)
    streams = len(end.get("streams") or []) or d.get("start", {}).get("test_start", {}).get("num_streams")
    return {"throughput_gbps": received["bits_per_second"] / 1e9,
            "bytes": received.get("bytes", 0), "seconds": received["seconds"],
            "retransmits": sent.get("retransmits", 0), "streams": streams,
            "ok_all": total / 1e9, "failed": 0}


def meta(args):
    def sh(*cmd):
        try:
            return subprocess.run(cmd, capture_output=True, text=True, check=False).stdout.strip()
        except OSError:
            return ""
    lscpu = sh("lscpu")
    model = next((l.split(":", 1)[1].strip() for l in lscpu.splitlines() if l.startswith("Model name")), "")
    packages = {}
    for line in sh("dpkg-query", "-W", "-f", "${Package} ${Version}\\n", "iptables", "nftables",
                   "haproxy", "nginx-light", "sockperf", "iperf3", "ipvsadm", "iproute2", "libbpf1", "python3-matplotlib").splitlines():
        name, _, version = line.partition(" ")
        packages[name] = version
    out_dir = os.path.dirname(os.path.abspath(args.output)) if args.output else None
    command = ""
    if out_dir and os.path.exists(os.path.join(out_dir, "command.txt")):
        command = open(os.path.join(out_dir, "command.txt")).read().strip()
    commit = sh("git", "-C", args.root, "rev-parse", "HEAD")
    dirty = sh("git", "-C", args.root, "status", "--porcelain", "--untracked-files=no")
    return {
        "command": command,
        "profile": args.profile, "scenarios": args.scenarios, "workloads": args.workloads,
        "services": args.services,
        "reps": args.reps, "warmup_s": args.warmup, "duration_s": args.duration,
        "kernel": platform.release(), "uname": " ".join(platform.uname()),
        "cpu_model": model, "cpus": os.cpu_count(), "lscpu": lscpu,
        "packages": packages,
        "git_commit": commit + (" (work tree has uncommitted changes)" if dirty else ""),
        "date_utc": sh("date", "-u", "+%Y-%m-%dT%H:%M:%SZ"),
    }


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--meta", action="store_true")
    p.add_argument("--profile")
    p.add_argument("--scenarios")
    p.add_argument("--workloads")
    p.add_argument("--reps", type=int)
    p.add_argument("--warmup", type=float)
    p.add_argument("--duration", type=float)
    p.add_argument("--root")
    p.add_argument("--meta-output", dest="output")
    p.add_argument("--scenario")
    p.add_argument("--workload")
    p.add_argument("--services")
    p.add_argument("--rep", type=int)
    p.add_argument("--status")
    p.add_argument("--kind", choices=["loadgen", "sockperf", "iperf3"])
    p.add_argument("--output")
    p.add_argument("--before")
    p.add_argument("--after")
    p.add_argument("--value", type=float)
    p.add_argument("--unit")
    args = p.parse_args()
    if args.meta:
        print(json.dumps(meta(args), indent=1))
        return
    rec = {"scenario": args.scenario}
    for key in ("workload", "rep", "status", "value", "unit"):
        if getattr(args, key) is not None:
            rec[key] = getattr(args, key)
    if args.services is not None:
        rec["services"] = int(args.services)
    if args.kind:
        text = open(args.output).read()
        try:
            parse = {"loadgen": json.loads, "sockperf": parse_sockperf, "iperf3": parse_iperf3}[args.kind]
            rec.update(parse(text))
        except ValueError as e:
            rec["status"] = "failed: %s" % e
            print(json.dumps(rec))
            return
        rec.update(cpu_costs(read_snapshot(args.before), read_snapshot(args.after), rec.get("ok_all")))
        if args.kind == "iperf3" and "cpu_us_per_op" in rec:
            rec["cpu_ms_per_gb"] = rec["cpu_us_per_op"] / 1000.0
        elif (args.workload or "").startswith("http-bulk@") and rec.get("bytes_all") and "cpu_us_per_op" in rec:
            rec["cpu_ms_per_gb"] = rec["cpu_us_per_op"] * rec["ok_all"] / (rec["bytes_all"] / 1e9) / 1000.0
    print(json.dumps(rec))


if __name__ == "__main__":
    main()
