"""Unit tests of the benchmark's statistics, record parsing, report table and config generator."""
import io
import json
import os
import subprocess
import sys
import tempfile
import unittest
from contextlib import redirect_stdout

SRC = os.environ.get("SLUICE_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
BENCH = os.path.join(SRC, "tools", "bench")
sys.path.insert(0, os.path.join(BENCH, "lib"))
sys.path.insert(0, BENCH)

import genconf  # noqa: E402
import record  # noqa: E402
import report  # noqa: E402
from stats import iqr, median, quantile, ratio  # noqa: E402


class StatsTest(unittest.TestCase):
    def test_median_of_odd_and_even_counts(self):
        self.assertEqual(median([3, 1, 2]), 2)
        self.assertEqual(median([4, 1, 3, 2]), 2.5)
        self.assertEqual(median([7]), 7)

    def test_quantiles_interpolate_between_ranks(self):
        values = [1, 2, 3, 4, 5]
        self.assertEqual(quantile(values, 0.0), 1)
        self.assertEqual(quantile(values, 1.0), 5)
        self.assertEqual(quantile(values, 0.25), 2)
        self.assertAlmostEqual(quantile([10, 20], 0.75), 17.5)

    def test_iqr(self):
        self.assertEqual(iqr([1, 2, 3, 4, 5]), 2)
        self.assertEqual(iqr([5, 5, 5]), 0)

    def test_bad_input_is_rejected(self):
        with self.assertRaises(ValueError):
            quantile([], 0.5)
        with self.assertRaises(ValueError):
            quantile([1], 1.5)

    def test_ratio_handles_missing_and_zero(self):
        self.assertEqual(ratio(3, 2), 1.5)
        self.assertIsNone(ratio(None, 2))
        self.assertIsNone(ratio(3, 0))


SOCKPERF = """sockperf: [Total Run] RunTime=4.000 sec; Warm up time=400 msec; SentMessages=40005; ReceivedMessages=40004
sockperf: [Valid Duration] RunTime=3.550 sec; SentMessages=35503; ReceivedMessages=35500
sockperf: Total 35500 observations; each percentile contains 355.00 observations
sockperf: ---> <MAX> observation =   91.471
sockperf: ---> percentile 99.999 =   91.471
sockperf: ---> percentile 99.900 =   30.345
sockperf: ---> percentile 99.000 =   18.572
sockperf: ---> percentile 90.000 =   14.310
sockperf: ---> percentile 50.000 =   14.000
sockperf: ---> <MIN> observation =   13.679
"""


# iperf3 --json, trimmed to what record.py reads: 1 s omitted, then 2 s measured, 2 streams.
IPERF3 = json.dumps({
    "start": {"test_start": {"num_streams": 2, "omit": 1, "duration": 2}},
    "intervals": [{"sum": {"bytes": 1477181440, "omitted": True}},
                  {"sum": {"bytes": 1197998080, "omitted": False}},
                  {"sum": {"bytes": 1355284480, "omitted": False}}],
    "end": {"streams": [{}, {}],
            "sum_sent": {"seconds": 1.997187, "bytes": 2553282560, "bits_per_second": 10227515240.18532,
                         "retransmits": 10, "sender": True},
            "sum_received": {"seconds": 2.003104, "bytes": 2552627200, "bits_per_second": 10194686646.324903,
                             "sender": True}}})


class RecordTest(unittest.TestCase):
    def test_iperf3_output_is_parsed(self):
        r = record.parse_iperf3(IPERF3)
        self.assertAlmostEqual(r["throughput_gbps"], 10.194686646324903)
        self.assertEqual(r["bytes"], 2552627200)
        self.assertEqual(r["retransmits"], 10)
        self.assertEqual(r["streams"], 2)
        # CPU is accounted over the whole run, so the volume includes the omitted second.
        self.assertAlmostEqual(r["ok_all"], (1477181440 + 1197998080 + 1355284480) / 1e9)

    def test_iperf3_error_or_truncated_output_is_an_error(self):
        with self.assertRaises(ValueError):
            record.parse_iperf3(json.dumps({"start": {}, "intervals": [], "end": {},
                                            "error": "unable to connect to server: Connection refused"}))
        with self.assertRaises(ValueError):
            record.parse_iperf3(json.dumps({"start": {}, "intervals": [], "end": {}}))
        with self.assertRaises(ValueError):
            record.parse_iperf3("iperf3: error - unable to connect")

    def test_iperf3_record_has_cpu_per_gb(self):
        with tempfile.TemporaryDirectory() as d:
            paths = {k: os.path.join(d, k) for k in ("out", "before", "after")}
            def write(path, text):
                with open(path, "w") as f:
                    f.write(text)
            write(paths["out"], IPERF3)
            write(paths["before"], "cpu 0 0 0 0 0 0 0 0 0 0\ncgroup client 0\ncgroup server 0\n")
            # 4.03 GB sent; 2.015 s of CPU in our cgroups -> 500 ms per GB.
            total_gb = (1477181440 + 1197998080 + 1355284480) / 1e9
            write(paths["after"], "cpu 100 0 100 200 0 0 0 0 0 0\ncgroup client %d\ncgroup server %d\n"
                  % (total_gb * 250000, total_gb * 250000))
            out = subprocess.run([sys.executable, os.path.join(BENCH, "lib", "record.py"), "--scenario", "S0",
                                  "--workload", "tput@2", "--services", "0", "--rep", "1", "--kind", "iperf3",
                                  "--output", paths["out"], "--before", paths["before"], "--after", paths["after"]],
                                 check=True, capture_output=True, text=True).stdout
            rec = json.loads(out)
            self.assertNotIn("status", rec)
            self.assertAlmostEqual(rec["cpu_ms_per_gb"], 500.0, places=0)
            self.assertAlmostEqual(rec["throughput_gbps"], 10.19, places=2)

    def test_snapshot_cpu_wait_is_parsed_and_divided_per_op(self):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "snap")
            with open(path, "w") as f:
                f.write("cpu 1 2 3 4 5 6 7 8 9 10\ncgroup client 100\ncpuwait client 5000\n"
                        "cgroup server 50\ncpuwait server \nbpf 7 10 2\n")
            snap = record.read_snapshot(path)
        self.assertEqual(snap["cpuwait"], {"client": 5000})  # an empty PSI value is skipped
        after = {"cpu": snap["cpu"], "cgroup": {"client": 100}, "cpuwait": {"client": 25000}, "bpf": {}}
        c = record.cpu_costs(snap, after, 100)
        self.assertEqual(c["cpu_wait_us_per_op"], {"client": 200.0})
        # Snapshots without PSI (older kernels) give no wait figure rather than an error.
        c = record.cpu_costs({"cpu": [0] * 10, "cgroup": {}, "bpf": {}},
                             {"cpu": [1] * 10, "cgroup": {"client": 5}, "bpf": {}}, 10)
        self.assertNotIn("cpu_wait_us_per_op", c)

    def test_http_bulk_record_has_cpu_per_gb(self):
        with tempfile.TemporaryDirectory() as d:
            paths = {k: os.path.join(d, k) for k in ("out", "before", "after")}

            def write(path, text):
                with open(path, "w") as f:
                    f.write(text)
            # 1000 responses of 1 MiB (1.048576 GB) for 0.5 s of our cgroups' CPU.
            write(paths["out"], json.dumps({"ok": 900, "ok_all": 1000, "failed": 0, "bytes": 943718400,
                                            "bytes_all": 1048576000, "goodput_gbps": 2.5,
                                            "latency_us": {"count": 900, "p50": 400.0}}))
            write(paths["before"], "cpu 0 0 0 0 0 0 0 0 0 0\ncgroup client 0\ncgroup node 0\n")
            write(paths["after"], "cpu 10 0 10 10 0 0 0 0 0 0\ncgroup client 300000\ncgroup node 200000\n")
            argv = [sys.executable, os.path.join(BENCH, "lib", "record.py"), "--scenario", "S3-haproxy",
                    "--services", "0", "--rep", "1", "--kind", "loadgen", "--output", paths["out"],
                    "--before", paths["before"], "--after", paths["after"]]
            rec = json.loads(subprocess.run(argv + ["--workload", "http-bulk@4"], check=True,
                                            capture_output=True, text=True).stdout)
            self.assertAlmostEqual(rec["cpu_ms_per_gb"], 500.0 / 1.048576)
            rec = json.loads(subprocess.run(argv + ["--workload", "http@1000"], check=True,
                                            capture_output=True, text=True).stdout)
            self.assertNotIn("cpu_ms_per_gb", rec)

    def test_tcp_counters_per_netns_per_op(self):
        def snap(out_segs, delayed):
            return ("cpu 0 0 0 0 0 0 0 0 0 0\ncgroup client 0\n"
                    "tcp client Tcp: RtoAlgorithm ActiveOpens OutSegs RetransSegs\n"
                    "tcp client Tcp: 1 4 %d 0\n"
                    "tcp client TcpExt: SyncookiesSent DelayedACKs\n"
                    "tcp client TcpExt: 0 %d\n"
                    "tcp server Tcp: RtoAlgorithm ActiveOpens OutSegs RetransSegs\n"
                    "tcp server Tcp: 1 0 %d 0\n" % (out_segs, delayed, out_segs))
        with tempfile.TemporaryDirectory() as d:
            for name, text in (("before", snap(100, 5)), ("after", snap(1100, 25))):
                with open(os.path.join(d, name), "w") as f:
                    f.write(text)
            before = record.read_snapshot(os.path.join(d, "before"))
            after = record.read_snapshot(os.path.join(d, "after"))
        self.assertEqual(before["tcp"]["client"]["TcpOutSegs"], 100)
        self.assertEqual(before["tcp"]["client"]["TcpExtDelayedACKs"], 5)
        c = record.cpu_costs(before, after, 1000)
        self.assertEqual(c["tcp_per_op"]["client"],
                         {"out_segs": 1.0, "retrans_segs": 0.0, "delayed_acks": 0.02, "active_opens": 0.0})
        self.assertEqual(c["tcp_per_op"]["server"]["out_segs"], 1.0)

    def test_sockperf_1k_output_is_parsed_like_64b(self):
        r = record.parse_sockperf(SOCKPERF.replace("14.000", "21.500"))
        self.assertEqual(r["latency_us"]["p50"], 21.5)

    def test_sockperf_output_is_parsed(self):
        r = record.parse_sockperf(SOCKPERF)
        self.assertEqual(r["latency_us"]["p50"], 14.0)
        self.assertEqual(r["latency_us"]["p99"], 18.572)
        self.assertEqual(r["latency_us"]["max"], 91.471)
        self.assertEqual(r["ok"], 35500)
        self.assertEqual(r["failed"], 3)
        self.assertEqual(r["ok_all"], 40005)

    def test_sockperf_without_statistics_is_an_error(self):
        with self.assertRaises(ValueError):
            record.parse_sockperf("sockperf: connection refused")

    def test_cpu_costs_use_our_cgroups_and_flag_foreign_load(self):
        ticks_per_s = 1e6 / record.TICK_US
        before = {"cpu": [0] * 10, "cgroup": {"client": 0, "node": 0}, "bpf": {"7": (100, 10)}}
        # One second of both CPUs (2 s of CPU time): 1 s busy, of which our cgroups used 0.5 s.
        after = {"cpu": [int(ticks_per_s * 0.5), 0, int(ticks_per_s * 0.5), int(ticks_per_s), 0, 0, 0, 0, 0, 0],
                 "cgroup": {"client": 400000, "node": 100000}, "bpf": {"7": (1100, 20)}}
        c = record.cpu_costs(before, after, 1000)
        self.assertAlmostEqual(c["cpu_us_per_op"], 500.0)
        self.assertAlmostEqual(c["cgroup_us_per_op"]["node"], 100.0)
        self.assertAlmostEqual(c["host_cpu_us_per_op"], 1000.0)
        self.assertAlmostEqual(c["foreign_pct"], 25.0)
        self.assertAlmostEqual(c["bpf_ns_per_run"], 100.0)
        self.assertEqual(c["steal_pct"], 0.0)


class ReportTest(unittest.TestCase):
    def rec(self, scenario, workload, n, rep, p50, p99=None, **extra):
        r = {"scenario": scenario, "workload": workload, "services": n, "rep": rep,
             "latency_us": {"p50": p50, "p99": p99 or p50 * 2, "spectrum": [[50.0, p50], [100.0, p50 * 3]]},
             "connect_us": {"p50": p50 / 2, "p99": p50}, "cpu_us_per_op": 10.0,
             "cgroup_us_per_op": {"node": 1.0}, "ok": 100}
        r.update(extra)
        return r

    def test_medians_iqr_and_ratios(self):
        records = [self.rec("S0", "crr@1000", 0, k, v) for k, v in enumerate([10, 12, 11], 1)]
        records += [self.rec("S1", "crr@1000", 100, k, v) for k, v in enumerate([30, 36, 33], 1)]
        records += [self.rec("S1n", "crr@1000", 100, k, v, steal_pct=5.0) for k, v in enumerate([22, 22, 22], 1)]
        records.append({"scenario": "S2", "status": "not built"})
        groups, statuses = report.group(records)
        summary = report.summarize(groups)
        s1 = summary[("S1", "crr@1000", 100, "latency p50")]
        self.assertEqual(s1["median"], 33)
        self.assertEqual(s1["iqr"], 3)
        self.assertEqual(s1["runs"], 3)
        self.assertIn("steal 5.0% > 2%", summary[("S1n", "crr@1000", 100, "latency p50")]["notes"])
        md = report.table(summary, statuses)
        row = next(l for l in md.splitlines() if l.startswith("| S1n") and "latency p50" in l)
        cells = [c.strip() for c in row.strip("|").split("|")]
        self.assertEqual(cells[4], "22 µs")
        self.assertEqual(cells[6], "2.00x")        # 22 / S0's 11
        self.assertEqual(cells[7], "0.67x (S1)")   # 22 / S1's 33
        self.assertTrue(any("not built" in l for l in md.splitlines()))

    def test_failed_runs_are_excluded_and_noted(self):
        records = [self.rec("S1", "crr-sat", 1, 1, 5, throughput=1000.0),
                   {"scenario": "S1", "workload": "crr-sat", "services": 1, "rep": 2, "status": "failed: exit 124"}]
        summary = report.summarize(report.group(records)[0])
        s = summary[("S1", "crr-sat", 1, "connections/s")]
        self.assertEqual(s["median"], 1000.0)
        self.assertEqual(s["runs"], 1)
        self.assertTrue(any("failed: exit 124" in n for n in s["notes"]))

    def test_cpu_wait_note_and_noisy_host_warning(self):
        with tempfile.TemporaryDirectory() as d:
            with open(os.path.join(d, "results.jsonl"), "w") as f:
                for k in (1, 2, 3):
                    f.write(json.dumps(self.rec("S0", "http@1000", 0, k, 3000, foreign_pct=95.0,
                                                cpu_wait_us_per_op={"client": 100.0, "server": 50.0 * k})) + "\n")
                    f.write(json.dumps(self.rec("S3-haproxy", "http@1000", 0, k, 170)) + "\n")
            subprocess.run([sys.executable, os.path.join(BENCH, "report.py"), d], check=True)
            with open(os.path.join(d, "results.md")) as f:
                md = f.read()
        row = next(l for l in md.splitlines() if l.startswith("| S0") and "latency p50" in l)
        self.assertIn("waited 200 µs for a CPU per op", row)  # median of 150, 200, 250
        self.assertIn("host 95% busy outside the bench", row)
        self.assertIn("**Warning: 2 of 4 rows", md)
        haproxy = next(l for l in md.splitlines() if l.startswith("| S3 HAProxy") and "latency p50" in l)
        self.assertNotIn("waited", haproxy)

    def test_throughput_and_1k_pingpong_rows(self):
        records = []
        for sc, n, gbps in (("S0", 0, [20.0, 22.0, 21.0]), ("S1", 1000, [10.0, 10.5, 11.0])):
            for k, v in enumerate(gbps, 1):
                records.append({"scenario": sc, "workload": "tput@4", "services": n, "rep": k,
                                "throughput_gbps": v, "cpu_us_per_op": 400000.0, "cpu_ms_per_gb": 400.0,
                                "cgroup_us_per_op": {"node": 0.0}, "failed": 0})
        records += [self.rec("S0", "pingpong-1k@10000", 0, 1, 30), self.rec("S0", "pingpong@10000", 0, 1, 20)]
        summary = report.summarize(report.group(records)[0])
        self.assertEqual(summary[("S0", "tput@4", 0, "Gb/s")]["median"], 21.0)
        self.assertEqual(summary[("S1", "tput@4", 1000, "CPU per GB")]["median"], 400.0)
        md = report.table(summary, []).splitlines()
        row = next(l for l in md if l.startswith("| S1 iptables") and "| Gb/s |" in l)
        cells = [c.strip() for c in row.strip("|").split("|")]
        self.assertEqual(cells[2], "tput@4")
        self.assertEqual(cells[4], "10.5 Gb/s")
        self.assertEqual(cells[6], "0.50x")       # 10.5 / S0's 21
        self.assertTrue(any("| 400 ms |" in l for l in md if "CPU per GB" in l))
        workloads = [l.split("|")[3].strip() for l in md[2:]]
        self.assertLess(workloads.index("pingpong@10000"), workloads.index("pingpong-1k@10000"))
        self.assertLess(workloads.index("pingpong-1k@10000"), workloads.index("tput@4"))
        self.assertIn(("RTT p50", "latency_us.p50", "µs"), report.metrics_for("pingpong-1k@10000"))
        self.assertEqual(report.metrics_for("http-bulk@1")[0], ("Gb/s", "goodput_gbps", "Gb/s"))
        self.assertEqual(report.baseline_of("S4", "http-bulk@1"), "S3-haproxy")
        self.assertLess(report.workload_rank("tput@4"), report.workload_rank("http-bulk@1"))

    def test_report_writes_markdown_and_plots(self):
        with tempfile.TemporaryDirectory() as d:
            with open(os.path.join(d, "results.jsonl"), "w") as f:
                for r in [self.rec("S0", "crr@1000", 0, 1, 10), self.rec("S1", "crr@1000", 1, 1, 20),
                          self.rec("S1", "crr@1000", 1000, 1, 40),
                          {"scenario": "S1", "workload": "apply-full", "services": 1, "rep": 1, "value": 0.01, "unit": "s"},
                          {"scenario": "S1", "workload": "apply-full", "services": 1000, "rep": 1, "value": 1.5, "unit": "s"}]:
                    f.write(json.dumps(r) + "\n")
            subprocess.run([sys.executable, os.path.join(BENCH, "report.py"), d], check=True)
            md = open(os.path.join(d, "results.md")).read()
            self.assertIn("| S1 iptables DNAT | 1000 | crr@1000 | latency p50 | 40 µs", md)
            self.assertIn("1.5 s", md)
            for png in ("latency_spectrum.png", "connect_vs_services.png", "apply_vs_services.png"):
                self.assertTrue(os.path.getsize(os.path.join(d, png)) > 0, png)


class GenconfTest(unittest.TestCase):
    PODS = ["10.200.2.11", "10.200.2.12", "10.200.2.13", "10.200.2.14"]

    def gen(self, *argv):
        out = io.StringIO()
        old = sys.argv
        sys.argv = ["genconf.py", *argv]
        try:
            with redirect_stdout(out):
                genconf.main()
        finally:
            sys.argv = old
        return out.getvalue()

    def test_iptables_has_one_kube_services_rule_per_port_target_last(self):
        text = self.gen("iptables", "--services", "50", "--pods", ",".join(self.PODS))
        rules = [l for l in text.splitlines() if l.startswith("-A KUBE-SERVICES")]
        self.assertEqual(len(rules), 49 + len(genconf.TARGET_PORTS))
        self.assertIn(genconf.TARGET_VIP, rules[-1])
        probabilities = [l.split("--probability ")[1].split()[0] for l in text.splitlines()
                         if "bench/target:http ->" in l and "statistic" in l]
        for got, want in zip(map(float, probabilities), [1 / 4, 1 / 3, 1 / 2]):
            self.assertAlmostEqual(got, want, places=10)
        self.assertEqual(len(probabilities), 3)  # the fourth endpoint takes the rest unconditionally

    def test_iptables_partial_deletes_only_removed_endpoints(self):
        text = self.gen("iptables", "--services", "3", "--pods", ",".join(self.PODS),
                        "--target-pods", ",".join(self.PODS[:3]), "--partial")
        deleted = [l for l in text.splitlines() if l.startswith("-X")]
        self.assertEqual(len(deleted), len(genconf.TARGET_PORTS))  # the fourth pod, on every target port
        self.assertFalse(any(l.startswith("-A PREROUTING") for l in text.splitlines()))

    def test_nft_has_one_vmap_element_per_service_port(self):
        text = self.gen("nft", "--services", "10", "--pods", ",".join(self.PODS))
        elements = sum(l.count(" : goto service-") for l in text.splitlines() if l.startswith("add element"))
        self.assertEqual(elements, 9 + len(genconf.TARGET_PORTS))

    def test_k8s_writes_services_pods_and_target(self):
        with tempfile.TemporaryDirectory() as d:
            self.gen("k8s", "--services", "5", "--pods", ",".join(self.PODS), "--dir", d)
            self.assertEqual(sorted(os.listdir(d)), ["pods.yaml", "services.yaml", "target.yaml"])
            services = open(os.path.join(d, "services.yaml")).read()
            self.assertEqual(services.count("kind: Service\n"), 4)
            self.assertEqual(services.count("kind: EndpointSlice"), 4)
            self.assertIn("clusterIP: %s" % genconf.TARGET_VIP, open(os.path.join(d, "target.yaml")).read())


if __name__ == "__main__":
    unittest.main()
