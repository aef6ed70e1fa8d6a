// sluice-proxy: the node-local L7 proxy as a standalone process.
//   sluice-proxy --config-dir DIR --listen IP:PORT --bpffs DIR
// Original destinations come from <bpffs>/sl_handoff_v1; connections without an entry are refused.
// --test-fixed-destination VIP:PORT replaces the map with one fixed destination, for loopback tests
// and demos without BPF. SIGHUP reloads the config and swaps the route table; requests in flight
// finish on the table they started with. Prints "listening on IP:PORT" once ready.
#include "config_loader.h"
#include "proxy_server.h"

#include <CLI/CLI.hpp>
#include <event2/event.h>
#include <spdlog/spdlog.h>

#include <csignal>
#include <cstdio>

namespace {

using namespace sluice;
using namespace sluice::proxy;

struct App {
  std::string configDir;
  model::MeshSettings mesh;
  ProxyServer* server = nullptr;
};

void logDiagnostics(const Diagnostics& diagnostics) {
  for (const auto& d : diagnostics.items()) {
    if (d.severity == Severity::Error) {
      spdlog::error("{}", formatDiagnostic(d));
    } else {
      spdlog::warn("{}", formatDiagnostic(d));
    }
  }
}

void onHangup(evutil_socket_t, short, void* arg) {
  auto* app = static_cast<App*>(arg);
  auto loaded = loadRouteTable(app->configDir, app->mesh);
  if (!loaded.ok()) {
    spdlog::error("reload: {}; keeping the current route table", loaded.error().message());
    return;
  }
  logDiagnostics(loaded->diagnostics);
  app->server->setRouteTable(loaded->table);
  spdlog::info("reload: route table swapped ({} listeners)", loaded->table->listeners.size());
}

void onTerminate(evutil_socket_t, short, void* arg) {
  event_base_loopbreak(static_cast<event_base*>(arg));
}

}  // namespace

int main(int argc, char** argv) {
  App app;
  std::string listen;
  std::string bpffs;
  std::string fixed;
  CLI::App cli{"sluice-proxy: the node-local L7 proxy"};
  cli.add_option("--config-dir", app.configDir, "directory of Kubernetes/Istio YAML")->required();
  cli.add_option("--listen", listen, "listener address ip:port")->required();
  bool shadowSuffix = false;
  cli.add_flag("--mirror-host-shadow-suffix", shadowSuffix,
               "append -shadow to mirrored requests' Host (Istio before DISABLE_SHADOW_HOST_SUFFIX)");
  cli.add_option("--bpffs", bpffs, "bpffs directory holding the pinned sl_handoff_v1 map");
  cli.add_option("--test-fixed-destination", fixed,
                 "test mode: treat every connection as handed off to this VIP:port");
  CLI11_PARSE(cli, argc, argv);
  if (bpffs.empty() == fixed.empty()) {
    spdlog::error("give exactly one of --bpffs and --test-fixed-destination");
    return 2;
  }

  std::unique_ptr<OriginalDstResolver> resolver;
  if (!fixed.empty()) {
    size_t colon = fixed.rfind(':');
    auto ip = colon == std::string::npos ? std::nullopt
                                         : net::IpAddress::parse(fixed.substr(0, colon));
    if (!ip) {
      spdlog::error("--test-fixed-destination {}: want ip:port", fixed);
      return 2;
    }
    resolver = std::make_unique<FixedResolver>(OriginalDestination{
        *ip, static_cast<uint16_t>(std::strtoul(fixed.c_str() + colon + 1, nullptr, 10)), 0});
  } else {
    auto opened = HandoffMapResolver::open(bpffs);
    if (!opened.ok()) {
      spdlog::error("{}", opened.error().message());
      return 1;
    }
    resolver = std::move(opened.value());
  }

  auto loaded = loadRouteTable(app.configDir, app.mesh);
  if (!loaded.ok()) {
    spdlog::error("{}", loaded.error().message());
    return 1;
  }
  logDiagnostics(loaded->diagnostics);

  std::signal(SIGPIPE, SIG_IGN);
  event_base* base = event_base_new();
  ProxyOptions options;
  options.mirrorHostShadowSuffix = shadowSuffix;
  auto server = ProxyServer::create(base, listen, std::move(resolver), loaded->table, options);
  if (!server.ok()) {
    spdlog::error("{}", server.error().message());
    return 1;
  }
  app.server = server->get();
  event* hup = evsignal_new(base, SIGHUP, onHangup, &app);
  event* term = evsignal_new(base, SIGTERM, onTerminate, base);
  event* intr = evsignal_new(base, SIGINT, onTerminate, base);
  event_add(hup, nullptr);
  event_add(term, nullptr);
  event_add(intr, nullptr);
  std::string host = listen.substr(0, listen.rfind(':'));
  std::printf("listening on %s:%u\n", host.c_str(), static_cast<unsigned>((*server)->port()));
  std::fflush(stdout);
  event_base_dispatch(base);
  event_free(hup);
  event_free(term);
  event_free(intr);
  server.value().reset();
  event_base_free(base);
  return 0;
}
