// sluice-agent: see docs/dataplane.md for the flags and what the agent leaves behind on exit.
#include "daemon.h"

#include <sluice/dataplane/datapath.h>

#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

int main(int argc, char** argv) {
  CLI::App app{"sluice-agent: compiles Istio config into BPF maps and keeps it applied"};
  app.require_subcommand(0, 1);
  std::string configDir, bpffs, readyFile, proxyAddr, clusterDomain = "cluster.local";
  std::string logLevel = "info";
  std::vector<std::string> enroll;
  app.add_option("--config-dir", configDir, "directory of Kubernetes/Istio YAML to serve");
  app.add_option("--bpffs", bpffs, "directory on a bpffs mount where maps are pinned");
  app.add_option("--enroll", enroll, "NS/POD=CGROUP_PATH: translate this pod's cgroup (repeatable)");
  app.add_option("--ready-file", readyFile, "written with \"generation N\" after each apply");
  app.add_option("--proxy-addr", proxyAddr, "IP:PORT of the node proxy for L7 services");
  app.add_option("--cluster-domain", clusterDomain, "Kubernetes cluster domain");
  app.add_option("--log-level", logLevel, "trace, debug, info, warn, error, critical, off");
  std::string metricsAddr;
  app.add_option("--metrics-addr", metricsAddr, "IP:PORT serving /metrics, /healthz and /readyz");
  bool pinLinks = false;
  app.add_flag("--pin-links", pinLinks,
               "pin cgroup links under --bpffs so enrolled cgroups stay translated while no agent runs");

  std::string uninstallDir;
  CLI::App* uninstall = app.add_subcommand("uninstall", "remove the pins the agent created");
  uninstall->add_option("--bpffs", uninstallDir, "the agent's bpffs directory")->required();

  CLI11_PARSE(app, argc, argv);
  spdlog::set_level(spdlog::level::from_str(logLevel));

  if (uninstall->parsed()) {
    if (sluice::Status st = sluice::dataplane::Datapath::uninstall(uninstallDir); !st.ok()) {
      spdlog::error("{}", st.error().message());
      return 1;
    }
    spdlog::info("removed the pins under {}", uninstallDir);
    return 0;
  }
  if (configDir.empty() || bpffs.empty()) {
    spdlog::error("--config-dir and --bpffs are required");
    return 2;
  }
  sluice::daemon::Options options;
  options.configDir = configDir;
  options.bpffsDir = bpffs;
  options.readyFile = readyFile;
  options.clusterDomain = clusterDomain;
  options.pinLinks = pinLinks;
  options.metricsAddr = metricsAddr;
  for (const auto& e : enroll) {
    auto spec = sluice::daemon::parseEnroll(e);
    if (!spec.ok()) {
      spdlog::error("{}", spec.error().message());
      return 2;
    }
    options.enroll.push_back(*spec);
  }
  if (!proxyAddr.empty()) {
    auto proxy = sluice::daemon::parseProxy(proxyAddr);
    if (!proxy.ok()) {
      spdlog::error("{}", proxy.error().message());
      return 2;
    }
    options.proxies.push_back(*proxy);
  }
  return sluice::daemon::run(options);
}
