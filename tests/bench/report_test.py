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


class RecordTest(unittest.TestCase):
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
        self.assertEqual(len(rules), 49 + 2)
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
        self.assertEqual(len(deleted), 2)  # the fourth pod, on both target ports
        self.assertFalse(any(l.startswith("-A PREROUTING") for l in text.splitlines()))

    def test_nft_has_one_vmap_element_per_service_port(self):
        text = self.gen("nft", "--services", "10", "--pods", ",".join(self.PODS))
        elements = sum(l.count(" : goto service-") for l in text.splitlines() if l.startswith("add element"))
        self.assertEqual(elements, 9 + 2)

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
