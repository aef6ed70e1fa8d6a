#!/usr/bin/python3
"""Builds results.md and the PNG plots of one benchmark run from its results.jsonl and meta.json.

  report.py RUN_DIR
"""
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from stats import iqr, median, ratio  # noqa: E402

SCENARIO_ORDER = ["S0", "S1", "S1n", "IPVS", "S2", "S3-haproxy", "S3-nginx", "S3", "S4", "S4x"]
L7 = ("S3-haproxy", "S3-nginx", "S4", "S4x")
STEAL_LIMIT_PCT = 2.0
# Other work on the machine (builds, tests) competes for the same two cores.
FOREIGN_LIMIT_PCT = 10.0
# Run-queue wait of our cgroups per operation (PSI) worth a note: latency the host added.
WAIT_NOTE_US = 1.0
SCENARIO_TITLE = {
    "S0": "S0 direct pod IP", "S1": "S1 iptables DNAT", "S1n": "S1n nftables vmap", "IPVS": "IPVS",
    "S2": "S2 Sluice L4", "S3-haproxy": "S3 HAProxy", "S3-nginx": "S3 nginx",
    "S4": "S4 Sluice proxy", "S4x": "S4x Sluice proxy, 1k VS",
}


def metrics_for(workload):
    """(label, path into the record, unit) rows shown for a workload."""
    if workload.startswith("crr@"):
        return [("latency p50", "latency_us.p50", "µs"), ("latency p99", "latency_us.p99", "µs"),
                ("connect p50", "connect_us.p50", "µs"), ("connect p99", "connect_us.p99", "µs")]
    if workload == "crr-sat":
        return [("connections/s", "throughput", "1/s")]
    if workload.startswith(("pingpong@", "pingpong-1k@")):
        return [("RTT p50", "latency_us.p50", "µs"), ("RTT p99", "latency_us.p99", "µs")]
    if workload.startswith("tput@"):
        return [("Gb/s", "throughput_gbps", "Gb/s"), ("CPU per GB", "cpu_ms_per_gb", "ms")]
    if workload.startswith("http-bulk@"):
        return [("Gb/s", "goodput_gbps", "Gb/s"), ("CPU per GB", "cpu_ms_per_gb", "ms")]
    if workload == "http-sat":
        return [("requests/s", "throughput", "1/s")]
    if workload.startswith("http@"):
        return [("latency p50", "latency_us.p50", "µs"), ("latency p99", "latency_us.p99", "µs")]
    if workload.startswith("apply-"):
        return [("seconds", "value", "s")]
    if workload == "churn":
        return [("failed", "failed", "requests"), ("misrouted", "misrouted", "requests"),
                ("ok", "ok", "requests")]
    if workload == "churn-changes":
        return [("changes applied", "value", "changes")]
    return []


WORKLOAD_ORDER = ["pingpong", "pingpong-1k", "crr@", "crr-sat", "http@", "http-sat", "tput", "http-bulk", "apply-full", "apply-change", "churn", "churn-changes"]


def workload_rank(w):
    for i, prefix in enumerate(WORKLOAD_ORDER):
        if w == prefix or (prefix.endswith("@") and w.startswith(prefix)) or w.startswith(prefix + "@"):
            rate = w.split("@", 1)[1] if "@" in w else "0"
            return (i, float(rate) if rate.replace(".", "").isdigit() else 0)
    return (len(WORKLOAD_ORDER), 0)


def scenario_rank(s):
    return SCENARIO_ORDER.index(s) if s in SCENARIO_ORDER else len(SCENARIO_ORDER)


def get(rec, path):
    """The value at a dotted path; a percentile of an empty histogram (every request failed) is
    missing, not zero."""
    head, _, leaf = path.rpartition(".")
    if head and leaf.startswith("p") and get(rec, head + ".count") == 0:
        return None
    cur = rec
    for part in path.split("."):
        if not isinstance(cur, dict) or part not in cur:
            return None
        cur = cur[part]
    return cur


def fmt(v, unit=""):
    """A value with its unit, rounded to what the measurement can support (3 significant digits)."""
    if v is None:
        return "—"
    if unit == "s":
        return "%.3g s" % v if v >= 1 else "%.3g ms" % (v * 1000)
    if unit in ("requests", "changes"):
        return "%d" % round(v)
    text = "%.0f" % v if abs(v) >= 100 else "%.3g" % v
    return {"µs": text + " µs", "1/s": text + "/s", "Gb/s": text + " Gb/s", "ms": text + " ms"}.get(unit, text)


def fmt_ratio(r):
    return "—" if r is None else "%.2fx" % r


def load(run_dir):
    records = []
    with open(os.path.join(run_dir, "results.jsonl")) as f:
        for line in f:
            if line.strip():
                records.append(json.loads(line))
    meta_path = os.path.join(run_dir, "meta.json")
    meta = json.load(open(meta_path)) if os.path.exists(meta_path) else {}
    return records, meta


def group(records):
    groups, statuses = {}, []
    for r in records:
        if "workload" not in r:
            statuses.append(r)
            continue
        groups.setdefault((r["scenario"], r["workload"], r.get("services", 0)), []).append(r)
    return groups, statuses


def summarize(groups):
    """{(scenario, workload, services, label): summary} with median/IQR over successful reps."""
    out = {}
    for (scenario, workload, n), recs in groups.items():
        good = [r for r in recs if "status" not in r]
        for label, path, unit in metrics_for(workload):
            values = [get(r, path) for r in good if get(r, path) is not None]
            cpu = [r["cpu_us_per_op"] for r in good if "cpu_us_per_op" in r]
            node = [get(r, "cgroup_us_per_op.node") for r in good if get(r, "cgroup_us_per_op.node") is not None]
            bpf = [r["bpf_ns_per_run"] for r in good if "bpf_ns_per_run" in r]
            steal = max([r.get("steal_pct", 0.0) for r in good] or [0.0])
            foreign = max([r.get("foreign_pct", 0.0) for r in good] or [0.0])
            waits = [sum(r["cpu_wait_us_per_op"].values()) for r in good if r.get("cpu_wait_us_per_op")]
            notes = []
            if steal > STEAL_LIMIT_PCT:
                notes.append("steal %.1f%% > %g%%" % (steal, STEAL_LIMIT_PCT))
            if foreign > FOREIGN_LIMIT_PCT:
                notes.append("host %.0f%% busy outside the bench" % foreign)
            if waits and median(waits) >= WAIT_NOTE_US and not workload.startswith(("tput@", "http-bulk@")):
                notes.append("waited %s for a CPU per op" % fmt(median(waits), "µs"))
            reasons = {}
            for r in good:
                for reason, count in (r.get("failures") or {}).items():
                    reasons[reason] = reasons.get(reason, 0) + count
            failed = sum(r.get("failed", 0) for r in good)
            mis = sum(r.get("misrouted", 0) for r in good)
            late = sum(r.get("not_sent", 0) for r in good)
            if failed:
                notes.append("%d failed%s" % (failed, " (%s)" % ", ".join(
                    "%s %d" % kv for kv in sorted(reasons.items())) if reasons else ""))
            if mis:
                notes.append("%d misrouted" % mis)
            if late:
                notes.append("%d never sent (overload)" % late)
            if bpf:
                notes.append("BPF %.0f ns/run" % median(bpf))
            bad = [r["status"] for r in recs if "status" in r]
            if bad:
                notes.append("%d run(s) %s" % (len(bad), bad[0]))
            out[(scenario, workload, n, label)] = {
                "unit": unit, "values": values,
                "median": median(values) if values else None,
                "iqr": iqr(values) if len(values) > 1 else None,
                "cpu": median(cpu) if cpu else None,
                "node_cpu": median(node) if node else None,
                "runs": len(values), "notes": notes, "noisy": foreign > FOREIGN_LIMIT_PCT,
            }
    return out


def baseline_of(scenario, workload):
    if workload.startswith("churn"):
        return None
    if workload.startswith("apply-"):
        return "S1"
    return "S3-haproxy" if scenario in L7 else ("S1" if scenario != "S0" else None)


def table(summary, statuses):
    lines = ["| scenario | N | workload | metric | median | IQR | × S0 | × baseline | CPU µs/op | "
             "of which node (proxy/agent) | runs | notes |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    keys = sorted(summary, key=lambda k: (workload_rank(k[1]), k[3], k[2], scenario_rank(k[0])))
    for scenario, workload, n, label in keys:
        s = summary[(scenario, workload, n, label)]
        s0 = summary.get(("S0", workload, 0, label))
        base_name = baseline_of(scenario, workload)
        base = summary.get((base_name, workload, n if base_name == "S1" else 0, label)) if base_name else None
        comparable = not workload.startswith(("apply-", "churn"))
        r0 = ratio(s["median"], s0["median"]) if s0 and comparable else None
        rb = ratio(s["median"], base["median"]) if base else None
        if base_name and base_name != "S1" and scenario in L7:
            rb_label = fmt_ratio(rb) + (" (HAProxy)" if rb is not None else "")
        else:
            rb_label = fmt_ratio(rb) + (" (S1)" if rb is not None else "")
        lines.append("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %d | %s |" % (
            SCENARIO_TITLE.get(scenario, scenario), n if n else "—", workload, label,
            fmt(s["median"], s["unit"]), fmt(s["iqr"], s["unit"]), fmt_ratio(r0), rb_label,
            fmt(s["cpu"]), fmt(s["node_cpu"]),
            s["runs"], "; ".join(s["notes"])))
    for st in statuses:
        lines.append("| %s | — | — | — | %s | | | | | | 0 | |" % (
            SCENARIO_TITLE.get(st["scenario"], st["scenario"]), st.get("status", "")))
    return "\n".join(lines)


def color(scenario):
    """One colour per scenario across all plots."""
    palette = ["black", "tab:blue", "tab:orange", "tab:purple", "tab:green", "tab:red", "tab:brown",
               "tab:olive", "tab:olive", "tab:cyan"]
    return palette[scenario_rank(scenario) % len(palette)]


def representative(recs, path):
    """The repetition whose p99 is the median one, so a plotted curve is a real run."""
    good = sorted((r for r in recs if "status" not in r and get(r, path + ".p99") is not None),
                  key=lambda r: get(r, path + ".p99"))
    return good[len(good) // 2] if good else None


def plot_spectrum(ax, groups, workload, n_for, title, path="latency_us"):
    import matplotlib.ticker as ticker
    drawn = False
    for scenario in SCENARIO_ORDER:
        recs = groups.get((scenario, workload, n_for(scenario)))
        rep = representative(recs or [], path)
        if not rep:
            continue
        pts = [(p, v) for p, v in get(rep, path + ".spectrum") if p < 100.0]
        if not pts:
            continue
        n = n_for(scenario)
        ax.plot([1.0 / (1.0 - p / 100.0) for p, _ in pts], [v for _, v in pts], color=color(scenario),
                label=SCENARIO_TITLE.get(scenario, scenario) + (" (N=%d)" % n if n else ""))
        drawn = True
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xticks([2, 10, 100, 1000, 10000, 100000])
    ax.xaxis.set_major_formatter(ticker.FixedFormatter(["50%", "90%", "99%", "99.9%", "99.99%", "99.999%"]))
    ax.xaxis.set_minor_locator(ticker.NullLocator())
    ax.set_xlabel("percentile")
    ax.set_ylabel("latency (µs, log)")
    ax.set_title(title)
    ax.grid(True, which="both", alpha=0.3)
    if drawn:
        ax.legend(fontsize=8)
    return drawn


def plots(run_dir, groups, summary):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    written = []
    ns = sorted({k[2] for k in groups if k[2]})
    nmax = ns[-1] if ns else 0
    crr = sorted({k[1] for k in groups if k[1].startswith("crr@")}, key=workload_rank)
    http = sorted({k[1] for k in groups if k[1].startswith("http@")}, key=workload_rank)

    fig, axes = plt.subplots(1, 2, figsize=(13, 5))
    ok1 = crr and plot_spectrum(axes[0], groups, crr[0], lambda s: 0 if s == "S0" else nmax,
                                "New connection per request at %s/s: connect + request + close" % crr[0][4:])
    ok2 = http and plot_spectrum(axes[1], groups, http[-1], lambda s: 0,
                                 "HTTP/1.1 keep-alive at %s/s" % http[-1][5:])
    if ok1 or ok2:
        fig.suptitle("Latency percentile spectrum (coordinated-omission corrected, median-p99 run)")
        fig.tight_layout()
        fig.savefig(os.path.join(run_dir, "latency_spectrum.png"), dpi=110)
        written.append("latency_spectrum.png")
    plt.close(fig)

    if crr and ns:
        fig, axes = plt.subplots(1, 2, figsize=(13, 5))
        for ax, label in zip(axes, ["connect p50", "connect p99"]):
            for scenario in SCENARIO_ORDER:
                xs = [n for n in ns if (scenario, crr[0], n, label) in summary]
                ys = [summary[(scenario, crr[0], n, label)]["median"] for n in xs]
                if scenario == "S0" and ("S0", crr[0], 0, label) in summary:
                    ax.axhline(summary[("S0", crr[0], 0, label)]["median"], color="black", linestyle="--",
                               label=SCENARIO_TITLE["S0"] + " (no services)")
                elif xs and all(y is not None and y > 0 for y in ys):
                    ax.plot(xs, ys, marker="o", color=color(scenario), label=SCENARIO_TITLE.get(scenario, scenario))
            ax.set_xscale("log")
            ax.set_yscale("log")
            ax.set_xlabel("services N (log)")
            ax.set_ylabel("µs (log)")
            ax.set_title("%s at %s/s new connections (target service last)" % (label, crr[0][4:]))
            ax.grid(True, which="both", alpha=0.3)
            if ax.get_legend_handles_labels()[0]:
                ax.legend(fontsize=8)
        if any(ax.get_legend_handles_labels()[0] for ax in axes):
            fig.tight_layout()
            fig.savefig(os.path.join(run_dir, "connect_vs_services.png"), dpi=110)
            written.append("connect_vs_services.png")
        plt.close(fig)

    apply_lines = [("S1", "apply-full", "iptables-restore, full"),
                   ("S1", "apply-change", "iptables-restore --noflush, one change"),
                   ("S1n", "apply-full", "nft -f, full"), ("S1n", "apply-change", "nft -f, one change"),
                   ("S2", "apply-full", "Sluice, start to ready"),
                   ("S2", "apply-change", "Sluice, one change to ready")]
    fig, ax = plt.subplots(figsize=(8, 5))
    drawn = False
    for scenario, workload, label in apply_lines:
        xs = [n for n in ns if (scenario, workload, n, "seconds") in summary
              and summary[(scenario, workload, n, "seconds")]["median"] is not None]
        if xs:
            ax.plot(xs, [summary[(scenario, workload, n, "seconds")]["median"] for n in xs],
                    marker="o", linestyle="-" if workload == "apply-full" else "--", label=label)
            drawn = True
    if drawn:
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("services N (log)")
        ax.set_ylabel("seconds (log)")
        ax.set_title("Config apply time vs number of services (median)")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
        fig.tight_layout()
        fig.savefig(os.path.join(run_dir, "apply_vs_services.png"), dpi=110)
        written.append("apply_vs_services.png")
    plt.close(fig)
    return written


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: report.py RUN_DIR")
    run_dir = sys.argv[1]
    records, meta = load(run_dir)
    groups, statuses = group(records)
    summary = summarize(groups)
    pngs = plots(run_dir, groups, summary)
    pk = meta.get("packages", {})
    md = ["# Sluice benchmark run", "",
          "- command: `%s`" % meta.get("command", "?"),
          "- date: %s; profile %s (%s repetitions, %ss warm-up, %ss measured each)" % (
              meta.get("date_utc", "?"), meta.get("profile", "?"), meta.get("reps", "?"),
              meta.get("warmup_s", "?"), meta.get("duration_s", "?")),
          "- kernel %s; CPU %s × %s" % (meta.get("kernel", "?"), meta.get("cpu_model", "?"), meta.get("cpus", "?")),
          "- git %s" % meta.get("git_commit", "?"),
          "- packages: %s" % ", ".join("%s %s" % kv for kv in sorted(pk.items())),
          "",
          "Median over repetitions, IQR = spread between the 25th and 75th percentile of the per-run values. "
          "Latencies are coordinated-omission corrected (from the intended send time). "
          "× S0 = ratio to direct pod IP in this run; × baseline = ratio to S1 (iptables) at the same N for L4 "
          "and config apply, to HAProxy for L7. CPU µs/op: CPU time of the bench's cgroups (client, pods, "
          "node: proxies/agent; cgroup cpu.stat) per successful operation, warm-up included (tput@K, iperf3 "
          "over K TCP streams: per GB sent, also shown as ms per GB; http-bulk@K: per 1 MiB response); host-wide "
          "/proc/stat time is kept in results.jsonl and runs where the host was busy outside the bench are "
          "flagged. Method: docs/benchmarks.md.",
          ""]
    noisy = sum(1 for s in summary.values() if s.get("noisy"))
    if noisy:
        md += ["**Warning: %d of %d rows were measured while the host was more than %g%% busy outside the "
               "bench.** Their latencies are dominated by waits for a CPU (the \"waited … for a CPU\" notes), "
               "and scenarios run minutes apart saw different load, so their ratios compare the host's load, "
               "not the data paths. Rerun on an idle machine before drawing conclusions." % (
                   noisy, len(summary), FOREIGN_LIMIT_PCT), ""]
    md += [table(summary, statuses), ""]
    md += ["![%s](%s)" % (p[:-4].replace("_", " "), p) for p in pngs]
    with open(os.path.join(run_dir, "results.md"), "w") as f:
        f.write("\n".join(md) + "\n")


if __name__ == "__main__":
    main()
