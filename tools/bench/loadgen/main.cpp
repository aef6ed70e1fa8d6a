// sluice-loadgen: the benchmark's open-loop load generator and the pods' tiny HTTP responder.
//   sluice-loadgen server --listen 10.0.0.1:8080 [--listen ...]
//   sluice-loadgen client --mode crr|http --target VIP:PORT --rate R --duration S [--path P] [--json FILE]
#include "echo_server.h"
#include "load_client.h"

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <fstream>
#include <iostream>

namespace {

using sluice::bench::LogHistogram;

nlohmann::json summarize(const LogHistogram& h) {
  auto us = [](std::uint64_t ns) { return static_cast<double>(ns) / 1000.0; };
  nlohmann::json spectrum = nlohmann::json::array();
  for (const auto& [p, v] : h.spectrum()) {
    spectrum.push_back({p, us(v)});
  }
  return {{"count", h.count()},          {"min", us(h.min())},
          {"mean", h.mean() / 1000.0},   {"p50", us(h.percentile(50))},
          {"p90", us(h.percentile(90))}, {"p99", us(h.percentile(99))},
          {"p999", us(h.percentile(99.9))}, {"max", us(h.max())},
          {"spectrum", spectrum}};
}

} // namespace

int main(int argc, char** argv) {
  CLI::App app{"Sluice benchmark load generator"};
  app.require_subcommand(1);

  std::vector<std::string> listen;
  auto* server = app.add_subcommand("server", "HTTP/1.1 responder that names the pod that answered");
  server->add_option("--listen", listen, "ip:port to listen on (repeatable)")->required();

  sluice::bench::ClientOptions o;
  std::string mode = "crr";
  std::string jsonPath;
  auto* client = app.add_subcommand("client", "open-loop load generator");
  client->add_option("--mode", mode, "crr (connect+request+close) or http (keep-alive)")
      ->check(CLI::IsMember({"crr", "http"}));
  client->add_option("--target", o.target, "ip:port")->required();
  client->add_option("--rate", o.rate, "requests per second; 0 = closed-loop saturation");
  client->add_option("--connections", o.connections,
                     "http: keep-alive connections; crr: most connections in flight")
      ->check(CLI::Range(1, 65536));
  client->add_option("--duration", o.durationS, "measured seconds")->check(CLI::PositiveNumber);
  client->add_option("--warmup", o.warmupS, "seconds of load before measuring")
      ->check(CLI::NonNegativeNumber);
  client->add_option("--timeout", o.timeoutS, "seconds after which a request has failed")
      ->check(CLI::PositiveNumber);
  client->add_option("--expect", o.expectPods, "ip:port pods allowed to answer (others: misrouted)")
      ->delimiter(',');
  client->add_option("--path", o.path, "request path (the pods answer /bytes/N with N bytes)")
      ->check([](const std::string& p) {
        return !p.empty() && p[0] == '/' && p.find_first_of(" \t\r\n") == std::string::npos
                   ? std::string()
                   : std::string("a path starts with / and has no spaces");
      });
  client->add_option("--json", jsonPath, "write the result here instead of stdout");

  CLI11_PARSE(app, argc, argv);

  if (*server) {
    return sluice::bench::runEchoServer(listen);
  }
  o.mode = mode == "http" ? sluice::bench::LoadMode::Http : sluice::bench::LoadMode::Crr;
  sluice::bench::ClientResult r;
  try {
    r = sluice::bench::runClient(o);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "sluice-loadgen: %s\n", e.what());
    return 2;
  }
  std::uint64_t failed = 0;
  for (const auto& [reason, n] : r.failures) {
    failed += n;
  }
  nlohmann::json out = {
      {"mode", mode},
      {"target", o.target},
      {"rate", o.rate},
      {"connections", o.connections},
      {"duration_s", r.elapsedS},
      {"ok", r.ok},
      {"ok_all", r.okAll},
      {"failed", failed},
      {"failures", r.failures},
      {"misrouted", r.misrouted},
      {"not_sent", r.notSent},
      {"pods", r.pods},
      {"throughput", r.elapsedS > 0 ? static_cast<double>(r.ok) / r.elapsedS : 0.0},
      {"bytes", r.bytes},
      {"bytes_all", r.bytesAll},
      {"goodput_gbps", r.elapsedS > 0 ? static_cast<double>(r.bytes) * 8 / r.elapsedS / 1e9 : 0.0},
      {"latency_us", summarize(r.latencyNs)},
  };
  if (o.mode == sluice::bench::LoadMode::Crr) {
    out["connect_us"] = summarize(r.connectNs);
  }
  if (jsonPath.empty()) {
    std::cout << out.dump() << "\n";
  } else {
    std::ofstream(jsonPath) << out.dump() << "\n";
  }
  return 0;
}
