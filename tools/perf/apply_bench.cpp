// sluice-perf-apply: the agent's path from config to maps at 10,000 services × 4 endpoints, against
// the fake map backend (so the numbers are the agent's own CPU, not syscalls).
//
//   FullLoad        parse + validate + normalize + compile + apply of the whole generated YAML into
//                   empty maps (each stage also reported on its own as a counter, in ms)
//   EncodeApply     only the apply (encode + diff + writes) of the full plan into empty maps
//   ReapplySame     apply of the same plan again (nothing to write): the cost floor of an apply
//   OneChangeApply  apply of a plan where one EndpointSlice lost an endpoint (alternating back and
//                   forth), the maps holding the other plan: event → maps committed, minus compile
//   OneChangeCompile validate + normalize + compile of a snapshot with that one change: the part of
//                   a reload that belongs to the stages before the dataplane
//   OneChangeStages the same stage by stage (counters in ms), with the agent's snapshot copy
#include <fake_map_backend.h>

#include <sluice/compile/compiler.h>
#include <sluice/compile/enforcement.h>
#include <sluice/dataplane/applier.h>
#include <sluice/parse/parser.h>
#include <sluice/validate/normalize.h>
#include <sluice/validate/validate.h>

#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace {

using namespace sluice;
using dataplane::testing::FakeMapBackend;

constexpr int kServices = 10000;
constexpr int kEndpoints = 4;

// One Service (port 80 → 9090) and its EndpointSlice; `dropLast` leaves the last endpoint out.
std::string serviceYaml(int i, bool dropLast) {
  char vip[32];
  std::snprintf(vip, sizeof vip, "10.96.%d.%d", i / 250, i % 250 + 2);
  std::string out = "apiVersion: v1\nkind: Service\nmetadata: {name: svc-" + std::to_string(i) +
                    ", namespace: bench}\nspec:\n  type: ClusterIP\n  clusterIP: " + vip +
                    "\n  ports:\n  - {name: http, protocol: TCP, port: 80, targetPort: 9090}\n---\n"
                    "apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata:\n  name: svc-" +
                    std::to_string(i) + "-a\n  namespace: bench\n  labels: {kubernetes.io/service-name: svc-" +
                    std::to_string(i) + "}\naddressType: IPv4\nports:\n- {name: http, protocol: TCP, port: 9090}\n"
                    "endpoints:\n";
  for (int e = 0; e < kEndpoints - (dropLast ? 1 : 0); ++e) {
    // Every service has its own pods: 40,000 distinct backends.
    int n = i * kEndpoints + e;
    char ip[32];
    std::snprintf(ip, sizeof ip, "10.%d.%d.%d", 1 + n / 65536, (n / 256) % 256, n % 256);
    out += std::string("- addresses: [") + ip + "]\n  conditions: {ready: true}\n";
  }
  return out + "---\n";
}

std::string configYaml(int changed) {
  std::string out;
  for (int i = 0; i < kServices; ++i) {
    out += serviceYaml(i, i == changed);
  }
  return out;
}

model::MeshSettings mesh() { return {}; }

parse::ParseOutput parseOrDie(const std::string& yaml) {
  auto parsed = parse::parseYaml(yaml, "bench.yaml");
  if (parsed.diagnostics.hasErrors()) {
    std::fprintf(stderr, "generated config does not parse\n");
    std::abort();
  }
  return parsed;
}

plan::DataplanePlan compileSnapshot(const model::Snapshot& snapshot) {
  Diagnostics diags = validate::validate(snapshot, mesh());
  if (diags.hasErrors()) {
    std::fprintf(stderr, "generated config does not validate\n");
    std::abort();
  }
  compile::CompileOptions options;
  options.mesh = mesh();
  return compile::compile(validate::normalize(snapshot, mesh()), options);
}

// Plans with none and with one changed service, built once for all benchmarks.
struct Plans {
  model::Snapshot changedSnapshot;
  plan::DataplanePlan base;
  plan::DataplanePlan changed;
};

const Plans& plans() {
  static const Plans p = [] {
    Plans out;
    out.base = compileSnapshot(parseOrDie(configYaml(-1)).snapshot);
    out.changedSnapshot = parseOrDie(configYaml(kServices / 2)).snapshot;
    out.changed = compileSnapshot(out.changedSnapshot);
    return out;
  }();
  return p;
}

std::unique_ptr<dataplane::Applier> restoreOrDie(FakeMapBackend& maps) {
  auto applier = dataplane::Applier::restore(maps);
  if (!applier.ok()) {
    std::abort();
  }
  return std::move(*applier);
}

void applyOrDie(dataplane::Applier& applier, const plan::DataplanePlan& plan) {
  auto stats = applier.apply(plan, {});
  if (!stats.ok()) {
    std::fprintf(stderr, "%s\n", stats.error().message().c_str());
    std::abort();
  }
}

using Clock = std::chrono::steady_clock;
double ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

void FullLoad(benchmark::State& state) {
  std::string yaml = configYaml(-1);
  double parseMs = 0, validateMs = 0, normalizeMs = 0, compileMs = 0, applyMs = 0;
  for (auto _ : state) {
    auto t0 = Clock::now();
    auto parsed = parseOrDie(yaml);
    auto t1 = Clock::now();
    Diagnostics diags = validate::validate(parsed.snapshot, mesh());
    benchmark::DoNotOptimize(diags);
    auto t2 = Clock::now();
    model::Snapshot normalized = validate::normalize(std::move(parsed.snapshot), mesh());
    auto t3 = Clock::now();
    compile::CompileOptions options;
    options.mesh = mesh();
    plan::DataplanePlan plan = compile::compile(normalized, options);
    auto t4 = Clock::now();
    FakeMapBackend maps;
    auto applier = restoreOrDie(maps);
    applyOrDie(*applier, plan);
    auto t5 = Clock::now();
    parseMs += ms(t1 - t0);
    validateMs += ms(t2 - t1);
    normalizeMs += ms(t3 - t2);
    compileMs += ms(t4 - t3);
    applyMs += ms(t5 - t4);
  }
  double n = static_cast<double>(state.iterations());
  state.counters["parse_ms"] = parseMs / n;
  state.counters["validate_ms"] = validateMs / n;
  state.counters["normalize_ms"] = normalizeMs / n;
  state.counters["compile_ms"] = compileMs / n;
  state.counters["apply_ms"] = applyMs / n;
}
BENCHMARK(FullLoad)->Unit(benchmark::kMillisecond)->Iterations(3);

void EncodeApply(benchmark::State& state) {
  const auto& p = plans();
  for (auto _ : state) {
    FakeMapBackend maps;
    auto applier = restoreOrDie(maps);
    applyOrDie(*applier, p.base);
  }
}
BENCHMARK(EncodeApply)->Unit(benchmark::kMillisecond);

void ReapplySame(benchmark::State& state) {
  const auto& p = plans();
  FakeMapBackend maps;
  auto applier = restoreOrDie(maps);
  applyOrDie(*applier, p.base);
  for (auto _ : state) {
    applyOrDie(*applier, p.base);
  }
}
BENCHMARK(ReapplySame)->Unit(benchmark::kMillisecond);

void OneChangeApply(benchmark::State& state) {
  const auto& p = plans();
  FakeMapBackend maps;
  auto applier = restoreOrDie(maps);
  applyOrDie(*applier, p.base);
  bool toChanged = true;
  size_t writes = 0;
  for (auto _ : state) {
    size_t before = maps.log.size();
    applyOrDie(*applier, toChanged ? p.changed : p.base);
    writes += maps.log.size() - before;
    toChanged = !toChanged;
  }
  state.counters["writes"] = static_cast<double>(writes) / static_cast<double>(state.iterations());
}
BENCHMARK(OneChangeApply)->Unit(benchmark::kMillisecond);

void OneChangeCompile(benchmark::State& state) {
  const auto& p = plans();
  for (auto _ : state) {
    benchmark::DoNotOptimize(compileSnapshot(p.changedSnapshot));
  }
}
BENCHMARK(OneChangeCompile)->Unit(benchmark::kMillisecond);

// The stages of OneChangeCompile one by one, plus the copy of the snapshot the agent makes (the
// last valid objects are kept as parsed while normalize consumes its own copy).
void OneChangeStages(benchmark::State& state) {
  const auto& p = plans();
  double copyMs = 0, validateMs = 0, enforcementMs = 0, normalizeMs = 0, compileMs = 0;
  for (auto _ : state) {
    auto t0 = Clock::now();
    model::Snapshot copy = p.changedSnapshot;
    auto t1 = Clock::now();
    Diagnostics diags = validate::validate(copy, mesh());
    auto t2 = Clock::now();
    diags.append(compile::unenforcedFields(copy));
    diags.append(compile::kernelLimits(copy));
    benchmark::DoNotOptimize(diags);
    auto t3 = Clock::now();
    model::Snapshot normalized = validate::normalize(std::move(copy), mesh());
    auto t4 = Clock::now();
    compile::CompileOptions options;
    options.mesh = mesh();
    benchmark::DoNotOptimize(compile::compile(normalized, options));
    auto t5 = Clock::now();
    copyMs += ms(t1 - t0);
    validateMs += ms(t2 - t1);
    enforcementMs += ms(t3 - t2);
    normalizeMs += ms(t4 - t3);
    compileMs += ms(t5 - t4);
  }
  double n = static_cast<double>(state.iterations());
  state.counters["copy_ms"] = copyMs / n;
  state.counters["validate_ms"] = validateMs / n;
  state.counters["enforcement_ms"] = enforcementMs / n;
  state.counters["normalize_ms"] = normalizeMs / n;
  state.counters["compile_ms"] = compileMs / n;
}
BENCHMARK(OneChangeStages)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
