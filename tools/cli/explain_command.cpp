// sluicectl explain --config PATH... CLIENT HOST:PORT [REQUEST]
// Says what a connection from CLIENT (a pod, "ns/name") to HOST:PORT gets and why: the frontend, the
// kernel route for the client's class with its weighted groups, load balancer and backends, or, when
// the port is L7, the route a request (e.g. "GET /api/v1 -H 'end-user: jason'") matches in the
// proxy's table and what that route does. It runs the agent's and the proxy's own pipeline (parse,
// validate, normalize, compile, route table, router) on the config, so it cannot disagree with them.
#include "command.h"
#include "diagnostics_output.h"

#include <sluice/compile/compiler.h>
#include <sluice/parse/parser.h>
#include <sluice/validate/normalize.h>
#include <sluice/validate/validate.h>

#include "route_table_builder.h"
#include "router.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace sluice::cli {
namespace {

struct ExplainOptions {
  std::string config;
  std::string client;
  std::string target;
  std::string request;  // "[METHOD] PATH"; empty: explain the connection only
  std::vector<std::string> headers;
  model::MeshSettings mesh;
};

// The client pod as the data plane knows it.
struct Client {
  std::string key;  // "ns/name"
  std::string ns;
  std::optional<net::IpAddress> ip;
  std::string clientClass;  // plan ClientClass name; empty: no selector singles it out
};

struct Target {
  std::string host;
  uint16_t port = 0;
};

std::optional<Target> parseTarget(const std::string& text) {
  const size_t colon = text.rfind(':');
  if (colon == std::string::npos || colon + 1 == text.size()) {
    return std::nullopt;
  }
  Target t;
  t.host = text.substr(0, colon);
  if (t.host.size() > 2 && t.host.front() == '[' && t.host.back() == ']') {
    t.host = t.host.substr(1, t.host.size() - 2);
  }
  const std::string_view digits = std::string_view(text).substr(colon + 1);
  unsigned port = 0;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), port);
  if (ec != std::errc() || end != digits.data() + digits.size() || port == 0 || port > 65535) {
    return std::nullopt;
  }
  t.port = static_cast<uint16_t>(port);
  return t;
}

// Kubernetes DNS as a pod in `ns` resolves a Service name: "name", "name.ns", "name.ns.svc" or the
// FQDN. Returns the Service's cluster IPs.
std::vector<net::IpAddress> resolveHost(const model::Snapshot& snapshot, const std::string& host,
                                        const std::string& clientNs,
                                        const model::MeshSettings& mesh) {
  if (auto ip = net::IpAddress::parse(host)) {
    return {*ip};
  }
  const std::string suffix = ".svc." + mesh.clusterDomain;
  std::string fqdn = host;
  const size_t dots = std::count(host.begin(), host.end(), '.');
  if (dots == 0) {
    fqdn = host + "." + clientNs + suffix;
  } else if (dots == 1) {
    fqdn = host + suffix;
  } else if (host.ends_with(".svc")) {
    fqdn = host + "." + mesh.clusterDomain;
  }
  std::vector<net::IpAddress> ips;
  for (const auto& s : snapshot.services) {
    if (s.meta.name + "." + s.meta.ns + suffix != fqdn) {
      continue;
    }
    std::vector<std::string> addrs = s.spec.clusterIPs;
    if (addrs.empty()) {
      addrs.push_back(s.spec.clusterIP);
    }
    for (const auto& a : addrs) {
      if (auto ip = net::IpAddress::parse(a)) {
        ips.push_back(*ip);
      }
    }
  }
  return ips;
}

std::optional<Client> findClient(const model::Snapshot& snapshot, const plan::DataplanePlan& plan,
                                 const std::string& key) {
  for (const auto& pod : snapshot.pods) {
    if (pod.meta.ns + "/" + pod.meta.name != key) {
      continue;
    }
    Client c{key, pod.meta.ns, net::IpAddress::parse(pod.status.podIP), ""};
    for (const auto& cls : plan.clientClasses) {
      if (std::find(cls.pods.begin(), cls.pods.end(), key) != cls.pods.end()) {
        c.clientClass = cls.name;
      }
    }
    return c;
  }
  return std::nullopt;
}

std::string percent(uint32_t weight, uint32_t total) {
  return fmt::format("{:5.1f}%", total == 0 ? 0.0 : 100.0 * weight / total);
}

void printBackends(const std::vector<std::string>& names, const plan::DataplanePlan& plan) {
  if (names.empty()) {
    std::cout << "        no usable backend: this share of connect() fails with ECONNREFUSED\n";
  }
  for (const auto& name : names) {
    const auto it = plan.backends.find(name);
    std::cout << "        " << name;
    if (it != plan.backends.end()) {
      if (!it->second.pod.empty()) {
        std::cout << "  " << it->second.pod;
      }
      if (it->second.state == plan::BackendState::Terminating) {
        std::cout << "  (terminating: used because no ready endpoint exists)";
      }
    }
    std::cout << '\n';
  }
}

void explainKernel(const plan::Frontend& fe, const Client& client,
                   const plan::DataplanePlan& plan) {
  const auto variant = client.clientClass.empty() ? fe.byClientClass.end()
                                                  : fe.byClientClass.find(client.clientClass);
  const plan::RouteAction& action =
      variant == fe.byClientClass.end() ? fe.defaultRoute : variant->second;
  std::cout << "  decided in the kernel at connect() (L4 fast path)"
            << (fe.reason.empty() ? "" : ": " + fe.reason) << '\n';
  std::cout << "  route: "
            << (variant == fe.byClientClass.end()
                    ? std::string("the default for every client")
                    : "the variant for client class " + client.clientClass)
            << '\n';
  if (action.split.empty()) {
    std::cout << "  connect() fails at once with ECONNREFUSED: the service has nowhere to go\n";
    return;
  }
  uint32_t total = 0;
  for (const auto& wg : action.split) {
    total += wg.weight;
  }
  for (const auto& wg : action.split) {
    const auto g = plan.groups.find(wg.group);
    std::cout << "    " << percent(wg.weight, total) << "  " << wg.group;
    if (g == plan.groups.end()) {
      std::cout << '\n';
      continue;
    }
    std::cout << "  lb " << plan::lbPolicyName(g->second.lb);
    if (g->second.maxConnectionsPerBackend != 0) {
      std::cout << ", at most " << g->second.maxConnectionsPerBackend << " connections a backend";
    }
    std::cout << '\n';
    printBackends(g->second.backends, plan);
  }
}

const char* proxyLbName(proxy::LbPolicy lb) {
  switch (lb) {
    case proxy::LbPolicy::RoundRobin:
      return "round_robin";
    case proxy::LbPolicy::Random:
      return "random";
    case proxy::LbPolicy::LeastRequest:
      return "least_request";
    case proxy::LbPolicy::RingHash:
      return "ring_hash";
    case proxy::LbPolicy::Maglev:
      return "maglev";
  }
  return "?";
}

std::string routeLabel(const proxy::Listener& listener, const proxy::Route& route) {
  const size_t index = static_cast<size_t>(&route - listener.routes.data());
  return route.name.empty() ? fmt::format("http[{}]", index)
                            : fmt::format("\"{}\" (http[{}])", route.name, index);
}

void printForward(const proxy::Route& route, const proxy::Decision& d,
                  const proxy::RouteTable& table, const std::string& requestPath) {
  for (const auto& wc : route.clusters) {
    std::cout << "    " << percent(wc.weight, route.totalWeight) << "  " << wc.cluster;
    if (wc.clusterIndex == proxy::kNoCluster) {
      std::cout << "  (no such service or subset: 503)\n";
      continue;
    }
    const proxy::Cluster& c = table.clusters[wc.clusterIndex];
    std::cout << "  lb " << proxyLbName(c.lb) << '\n';
    if (c.endpoints.empty()) {
      std::cout << "        no healthy upstream: 503\n";
    }
    for (const auto& e : c.endpoints) {
      std::cout << "        " << e.key() << (e.pod.empty() ? "" : "  " + e.pod) << '\n';
    }
  }
  if (d.path != requestPath) {
    std::cout << "  path rewritten to " << d.path << '\n';
  }
  if (!d.authority.empty()) {
    std::cout << "  authority rewritten to " << d.authority << '\n';
  }
  std::cout << "  timeout "
            << (route.timeout.count() == 0 ? std::string("none")
                                           : fmt::format("{} ms", route.timeout.count()))
            << ", retries " << route.retry.numRetries;
  if (route.retry.perTryTimeout.count() != 0) {
    std::cout << " (" << route.retry.perTryTimeout.count() << " ms per try)";
  }
  std::cout << '\n';
  if (route.fault.delayPerMillion != 0 || route.fault.abortPerMillion != 0) {
    std::cout << fmt::format("  fault: delay {} ms for {:.4g}% of requests, abort {} for {:.4g}%\n",
                             route.fault.delay.count(), route.fault.delayPerMillion / 1e4,
                             route.fault.abortStatus, route.fault.abortPerMillion / 1e4);
  }
  for (const auto& m : route.mirrors) {
    std::cout << fmt::format("  mirrored to {} for {:.4g}% of requests\n",
                             m.clusterIndex == proxy::kNoCluster
                                 ? std::string("a missing cluster")
                                 : table.clusters[m.clusterIndex].name,
                             m.perMillion / 1e4);
  }
}

int explainRequest(const proxy::RouteTable& table, const proxy::Listener& listener,
                   const Client& client, const ExplainOptions& opts, const Target& target) {
  std::string method = "GET";
  std::string path = opts.request;
  if (const size_t space = opts.request.find(' '); space != std::string::npos) {
    method = opts.request.substr(0, space);
    path = opts.request.substr(space + 1);
  }
  proxy::HeaderList headers;
  for (const auto& h : opts.headers) {
    const size_t colon = h.find(':');
    if (colon == std::string::npos) {
      std::cerr << "sluicectl explain: header \"" << h << "\" is not \"name: value\"\n";
      return 2;
    }
    std::string name = h.substr(0, colon);
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
    std::string value = h.substr(colon + 1);
    value.erase(0, value.find_first_not_of(' '));
    headers.push_back({std::move(name), std::move(value)});
  }
  const std::string authority = target.host + ":" + std::to_string(target.port);
  proxy::RequestView request;
  request.method = method;
  request.scheme = "http";
  request.authority = authority;
  request.path = path;
  request.headers = &headers;
  request.port = target.port;
  if (client.ip) {
    request.client = *client.ip;
    request.clientClass = table.classOf(*client.ip);
  }
  proxy::Router router;
  const proxy::Decision d = router.route(table, listener, request);
  std::cout << "  request " << method << ' ' << path << '\n';
  if (d.route == nullptr) {
    std::cout << "  no route matches: 404 (Envoy NR)\n";
    return 0;
  }
  std::cout << "  matches route " << routeLabel(listener, *d.route)
            << ", the first whose match blocks accept it\n";
  switch (d.route->kind) {
    case proxy::Route::Kind::Redirect:
      std::cout << "  redirect " << d.status << " to " << d.location << '\n';
      break;
    case proxy::Route::Kind::DirectResponse:
      std::cout << "  direct response " << d.status
                << (d.body.empty() ? "" : " with body \"" + d.body + "\"") << '\n';
      break;
    case proxy::Route::Kind::Forward:
      printForward(*d.route, d, table, path);
      break;
  }
  if (d.kind == proxy::Decision::Kind::Forward) {
    proxy::Router::release(d);
  }
  return 0;
}

void listRoutes(const proxy::RouteTable& table, const proxy::Listener& listener,
                const Client& client) {
  const uint32_t cls = client.ip ? table.classOf(*client.ip) : 0;
  std::cout << "  each request is routed by sluice-proxy, first match wins; routes for this client:\n";
  if (cls < listener.routesByClass.size()) {
    for (const auto& cr : listener.routesByClass[cls]) {
      std::cout << "    " << routeLabel(listener, listener.routes[cr.route]) << '\n';
    }
  }
  std::cout << "  give a request (e.g. \"GET /path\" -H 'name: value') to see which one it takes\n";
}

int runExplain(const ExplainOptions& opts) {
  const auto target = parseTarget(opts.target);
  if (!target) {
    std::cerr << "sluicectl explain: \"" << opts.target << "\" is not HOST:PORT\n";
    return 2;
  }
  parse::ParseOutput parsed = parse::loadPaths({opts.config});
  Diagnostics diags = std::move(parsed.diagnostics);
  diags.append(validate::validate(parsed.snapshot, opts.mesh));
  diags.sortByPosition();
  if (diags.hasErrors()) {
    printText(diags, std::cerr);
    std::cerr << "sluicectl explain: the config has errors; the agent would keep the last valid "
                 "version of those objects, which this command cannot know\n";
    return 1;
  }
  const model::Snapshot snapshot = validate::normalize(std::move(parsed.snapshot), opts.mesh);
  compile::CompileOptions copts;
  copts.mesh = opts.mesh;
  const plan::DataplanePlan plan = compile::compile(snapshot, copts);

  const auto client = findClient(snapshot, plan, opts.client);
  if (!client) {
    std::cerr << "sluicectl explain: no pod " << opts.client << " in the config\n";
    return 1;
  }
  std::cout << "client " << client->key << " ("
            << (client->ip ? client->ip->toString() : std::string("no pod IP")) << "), "
            << (client->clientClass.empty() ? std::string("in no client class")
                                            : "client class " + client->clientClass)
            << '\n';
  const auto vips = resolveHost(snapshot, target->host, client->ns, opts.mesh);
  std::vector<const plan::Frontend*> frontends;
  for (const auto& fe : plan.frontends) {
    if (fe.port == target->port && std::find(vips.begin(), vips.end(), fe.vip) != vips.end()) {
      frontends.push_back(&fe);
    }
  }
  if (frontends.empty()) {
    std::cout << opts.target << ": no Service frontend; the connection is not translated and goes "
                                "where the network sends it\n";
    return 0;
  }
  std::optional<proxy::RouteTable> table;
  for (const plan::Frontend* fe : frontends) {
    std::cout << fe->key() << "  " << fe->service << '\n';
    if (fe->mode == plan::FrontendMode::Kernel) {
      explainKernel(*fe, *client, plan);
      continue;
    }
    std::cout << "  handed to sluice-proxy at connect(): " << fe->reason << '\n';
    if (!table) {
      table = proxy::buildRouteTable(snapshot, opts.mesh);
    }
    const proxy::Listener* listener = table->findListener(fe->vip, fe->port);
    if (listener == nullptr) {
      std::cout << "  the proxy has no listener for it: every request gets 404\n";
    } else if (opts.request.empty()) {
      listRoutes(*table, *listener, *client);
    } else if (int rc = explainRequest(*table, *listener, *client, opts, *target); rc != 0) {
      return rc;
    }
  }
  return 0;
}

}  // namespace

Command addExplainCommand(CLI::App& root) {
  auto opts = std::make_shared<ExplainOptions>();
  CLI::App* app = root.add_subcommand(
      "explain", "Say which route, subset and backend a connection or request gets, and why");
  app->add_option("-c,--config", opts->config,
                  "the config: a file or directory (*.yaml, *.yml, *.json)")
      ->required();
  app->add_option("client", opts->client, "the client pod, NAMESPACE/NAME")->required();
  app->add_option("target", opts->target, "HOST:PORT (Service name, FQDN or VIP)")->required();
  app->add_option("request", opts->request, "an HTTP request for L7 ports: \"[METHOD] PATH\"");
  app->add_option("-H,--header", opts->headers, "a request header, \"name: value\" (repeatable)");
  addMeshOptions(*app, opts->mesh);
  return Command{app, [opts] { return runExplain(*opts); }};
}

}  // namespace sluice::cli
