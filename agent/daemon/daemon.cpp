#include "daemon.h"
#include "metrics.h"

#include <sluice/compile/compiler.h>
#include <sluice/compile/enforcement.h>
#include <sluice/dataplane/unique_fd.h>
#include <sluice/parse/file_cache.h>
#include <sluice/validate/normalize.h>
#include <sluice/validate/validate.h>

#include <poll.h>
#include <signal.h>
#include <sys/inotify.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <charconv>
#include <cstring>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <map>
#include <set>
#include <type_traits>

namespace sluice::daemon {
namespace {

using dataplane::UniqueFd;

Status writeAtomic(const std::string& path, const std::string& content) {
  std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << content;
    out.flush();
    if (!out) {
      return Error::fromErrno(EIO, "write " + tmp);
    }
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    return Error::fromErrno(errno, "rename " + tmp + " to " + path);
  }
  return okStatus();
}

// CPU time of the calling thread: on a busy node a reload's wall time says more about the neighbours.
double threadCpuMs() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) / 1e6;
}

struct Enrolled {
  std::string pod;
  uint64_t cgroupId = 0;
};

// Pod IPs come from the Pod objects of the config; a pod without one is still translated, but
// source-IP hashing sees 0.0.0.0 for it (logged).
std::vector<dataplane::Enrollment> enrollments(const std::vector<Enrolled>& enrolled,
                                               const model::Snapshot& snapshot) {
  std::map<std::string, net::IpAddress> ipOf;
  for (const auto& pod : snapshot.pods) {
    if (auto ip = net::IpAddress::parse(pod.status.podIP)) {
      ipOf[pod.meta.ns + "/" + pod.meta.name] = *ip;
    }
  }
  std::vector<dataplane::Enrollment> out;
  for (const auto& e : enrolled) {
    dataplane::Enrollment x;
    x.cgroupId = e.cgroupId;
    x.pod = e.pod;
    if (auto it = ipOf.find(e.pod); it != ipOf.end()) {
      x.podIp = it->second;
    } else {
      spdlog::warn("enrolled pod {} has no Pod object with status.podIP in the config", e.pod);
    }
    out.push_back(std::move(x));
  }
  return out;
}

// Per-object last-good config: the object's key is kind/namespace/name as written (before
// normalization), the same on both sides of the comparison.
using ObjectKey = std::string;
ObjectKey objectKey(std::string_view kind, const std::string& ns, const std::string& name) {
  return std::string(kind) + "/" + ns + "/" + name;
}

// Calls visit(kind, object) for every object of the snapshot.
template <typename Visit>
void forEachObject(const model::Snapshot& s, Visit&& visit) {
  for (auto& o : s.services) visit("Service", o);
  for (auto& o : s.endpointSlices) visit("EndpointSlice", o);
  for (auto& o : s.pods) visit("Pod", o);
  for (auto& o : s.virtualServices) visit("VirtualService", o);
  for (auto& o : s.destinationRules) visit("DestinationRule", o);
}

// The objects of the last applied snapshot, as parsed. Usually nothing was held back, and then they
// are exactly the parse cache's files of that reload, kept by reference instead of copied; after a
// reload that held objects back, the merged snapshot itself.
struct LastGood {
  parse::FileCache::Generation files;
  model::Snapshot merged;
};

template <typename Visit>
void forEachObject(const LastGood& lastGood, Visit&& visit) {
  for (const auto& file : lastGood.files) {
    forEachObject(file->snapshot, visit);
  }
  forEachObject(lastGood.merged, visit);
}

// The snapshot to serve: every object of `fresh` whose key is not held back, and for every key held
// back its version from `lastGood` (if it had one). An error that names no object (malformed YAML)
// holds back every object of its file: which object it broke is unknown.
model::Snapshot merge(const model::Snapshot& fresh, const LastGood& lastGood,
                      const std::set<ObjectKey>& heldKeys, const std::set<std::string>& heldFiles) {
  model::Snapshot out;
  auto held = [&](std::string_view kind, const auto& o) {
    return heldKeys.contains(objectKey(kind, o.meta.ns, o.meta.name)) ||
           heldFiles.contains(o.source.file);
  };
  auto copyIf = [&](const auto& from, bool wantHeld) {
    forEachObject(from, [&](std::string_view kind, const auto& o) {
      if (held(kind, o) != wantHeld) {
        return;
      }
      using T = std::decay_t<decltype(o)>;
      if constexpr (std::is_same_v<T, model::Service>) out.services.push_back(o);
      else if constexpr (std::is_same_v<T, model::EndpointSlice>) out.endpointSlices.push_back(o);
      else if constexpr (std::is_same_v<T, model::Pod>) out.pods.push_back(o);
      else if constexpr (std::is_same_v<T, model::VirtualService>) out.virtualServices.push_back(o);
      else out.destinationRules.push_back(o);
    });
  };
  copyIf(fresh, false);
  copyIf(lastGood, true);
  return out;
}

class Agent {
 public:
  Agent(const Options& options, Metrics& metrics, std::unique_ptr<dataplane::Datapath> datapath,
        std::vector<Enrolled> enrolled)
      : options_(options), metrics_(metrics), datapath_(std::move(datapath)),
        enrolled_(std::move(enrolled)) {}

  // Loads, compiles and applies the directory. false when the config was rejected or the apply
  // failed (the maps keep the last good plan).
  bool reload() {
    auto start = std::chrono::steady_clock::now();
    const double startCpuMs = threadCpuMs();
    model::MeshSettings mesh;
    mesh.clusterDomain = options_.clusterDomain;
    // Only files that changed since the last reload are parsed again.
    const auto files = cache_.refresh({options_.configDir});
    const parse::FileCache::Generation generation = cache_.generation();
    parse::ParseOutput parsed = cache_.assemble();
    auto loaded = std::chrono::steady_clock::now();
    Diagnostics diags = std::move(parsed.diagnostics);
    diags.append(objectChecks(generation));
    diags.append(validate::validateSnapshot(parsed.snapshot, mesh));
    diags.sortByPosition();
    auto validated = std::chrono::steady_clock::now();
    for (const auto& d : diags.items()) {
      if (d.severity == Severity::Error) {
        spdlog::error("{}", formatDiagnostic(d));
      } else {
        spdlog::warn("{}", formatDiagnostic(d));
      }
    }
    // Objects with errors keep their last valid version; the others update. A merge can still fail
    // validation (an old version against new neighbours): those objects are held back too, a few
    // rounds, and if errors remain the whole config waits for the next change.
    std::set<ObjectKey> heldKeys;
    std::set<std::string> heldFiles;
    model::Snapshot serving = std::move(parsed.snapshot);
    std::optional<model::Snapshot> fresh;  // as parsed, once a merge has replaced `serving`
    for (int round = 0; diags.hasErrors(); ++round) {
      size_t before = heldKeys.size() + heldFiles.size();
      for (const auto& d : diags.items()) {
        if (d.severity != Severity::Error) {
          continue;
        }
        if (d.name.empty()) {
          heldFiles.insert(d.file);
        } else {
          heldKeys.insert(objectKey(d.kind, d.ns, d.name));
        }
      }
      if (round == 3 || heldKeys.size() + heldFiles.size() == before) {
        rejections_ += 1;
        metrics_.addRejections(1);
        spdlog::error("config rejected: {} error(s) not confined to objects; still serving generation {}",
                      diags.errorCount(), generation_);
        return false;
      }
      if (!fresh) {
        fresh = std::move(serving);
      }
      serving = merge(*fresh, lastGood_, heldKeys, heldFiles);
      diags = validate::validate(serving, mesh);
    }
    for (const auto& key : heldKeys) {
      ++rejections_;
      spdlog::error("config rejected: object {} has errors; its last valid version (if any) keeps serving",
                    key);
    }
    for (const auto& file : heldFiles) {
      ++rejections_;
      spdlog::error("config rejected: file {} has errors; its objects keep their last valid versions",
                    file);
    }
    metrics_.addRejections(heldKeys.size() + heldFiles.size());
    if (!heldKeys.empty() || !heldFiles.empty()) {
      spdlog::info("{} rejection(s) since start", rejections_);
    }
    auto merged = std::chrono::steady_clock::now();
    const bool anyHeld = !heldKeys.empty() || !heldFiles.empty();
    LastGood accepted;
    if (anyHeld) {
      accepted.merged = serving;
    } else {
      accepted.files = generation;  // what `serving` was assembled from
    }
    model::Snapshot normalized = validate::normalize(std::move(serving), mesh);
    auto normalizedAt = std::chrono::steady_clock::now();
    compile::CompileOptions copts;
    copts.mesh = mesh;
    plan::DataplanePlan plan = compile::compile(normalized, copts);
    auto compiled = std::chrono::steady_clock::now();
    using ms = std::chrono::duration<double, std::milli>;
    spdlog::debug("reload: {} files ({} parsed, {} re-read unchanged) {:.2f} ms, validate {:.2f} ms, "
                  "merge {:.2f} ms, normalize {:.2f} ms, compile {:.2f} ms; {:.2f} ms of CPU in all",
                  files.files, files.reparsed, files.reread, ms(loaded - start).count(),
                  ms(validated - loaded).count(), ms(merged - validated).count(),
                  ms(normalizedAt - merged).count(), ms(compiled - normalizedAt).count(),
                  threadCpuMs() - startCpuMs);
    std::vector<dataplane::Enrollment> clients = enrollments(enrolled_, normalized);
    auto stats = datapath_->apply(plan, clients);
    auto done = std::chrono::steady_clock::now();
    if (!stats.ok()) {
      spdlog::error("{}; still serving generation {}", stats.error().message(), generation_);
      return false;
    }
    lastGood_ = std::move(accepted);
    if (generation_ > 0 && plan == lastPlan_ && stats->upserts == 0 && stats->erases == 0 &&
        anyHeld) {
      return false;  // only rejected objects changed: the same generation keeps serving
    }
    ++generation_;
    if (generation_ == 1 && options_.pinLinks) {
      // Only now, with the whole config applied: links of cgroups no longer enrolled go.
      if (Status st = datapath_->pruneLinks(); !st.ok()) {
        spdlog::error("{}", st.error().message());
      }
    }
    lastPlan_ = std::move(plan);
    lastClients_ = std::move(clients);
    pendingDeletes_ = stats->pendingDeletes;
    spdlog::info(
        "applied generation {}: {} frontends, {} groups, {} backends; {} writes, {} deletes, "
        "{} services flipped, {} groups committed, {} backends draining; load+compile {:.2f} ms, "
        "apply {:.2f} ms",
        generation_, lastPlan_.frontends.size(), lastPlan_.groups.size(), lastPlan_.backends.size(),
        stats->upserts, stats->erases, stats->servicesFlipped, stats->groupsCommitted,
        stats->backendsDraining, ms(compiled - start).count(), ms(done - compiled).count());
    metrics_.observeReload(std::chrono::duration<double>(done - start).count(),
                           std::chrono::duration<double>(done - compiled).count());
    metrics_.setGeneration(generation_);
    if (!options_.readyFile.empty()) {
      if (Status st = writeAtomic(options_.readyFile, "generation " + std::to_string(generation_) + "\n");
          !st.ok()) {
        spdlog::error("ready file: {}", st.error().message());
      }
    }
    return true;
  }

  // Garbage of earlier applies waits out the delete grace; re-applying the last good plan writes
  // nothing else and deletes what has aged. True while some garbage is still pending.
  bool collect() {
    if (pendingDeletes_ == 0) {
      return false;
    }
    auto stats = datapath_->apply(lastPlan_, lastClients_);
    if (!stats.ok()) {
      spdlog::error("delete garbage: {}", stats.error().message());
      return true;
    }
    spdlog::debug("deleted {} stale entries, {} pending", stats->erases, stats->pendingDeletes);
    pendingDeletes_ = stats->pendingDeletes;
    return pendingDeletes_ > 0;
  }

  bool pending() const { return pendingDeletes_ > 0; }

 private:
  // The checks of each object on its own, per parsed file: a file's objects never change once
  // parsed, so only new or changed files are checked again.
  Diagnostics objectChecks(const parse::FileCache::Generation& files) {
    std::map<std::shared_ptr<const parse::ParseOutput>, Diagnostics> next;
    Diagnostics out;
    for (const auto& file : files) {
      auto it = objectChecks_.find(file);
      if (it == objectChecks_.end()) {
        Diagnostics d = validate::validateObjects(file->snapshot);
        // Accepted fields this data plane does not act on yet are never ignored silently.
        d.append(compile::unenforcedFields(file->snapshot));
        // Config the kernel cannot hold is an error of its object, never truncated.
        d.append(compile::kernelLimits(file->snapshot));
        it = objectChecks_.emplace(file, std::move(d)).first;
      }
      out.append(it->second);
      next.insert(objectChecks_.extract(it));
    }
    objectChecks_ = std::move(next);
    return out;
  }

  const Options& options_;
  Metrics& metrics_;
  std::unique_ptr<dataplane::Datapath> datapath_;
  std::vector<Enrolled> enrolled_;
  uint64_t generation_ = 0;
  plan::DataplanePlan lastPlan_;
  std::vector<dataplane::Enrollment> lastClients_;
  parse::FileCache cache_;
  std::map<std::shared_ptr<const parse::ParseOutput>, Diagnostics> objectChecks_;
  LastGood lastGood_;
  uint64_t rejections_ = 0;   // objects (or files) held back, counted per reload
  size_t pendingDeletes_ = 0;
};

}  // namespace

Result<EnrollSpec> parseEnroll(const std::string& text) {
  auto eq = text.find('=');
  auto slash = text.find('/');
  if (eq == std::string::npos || slash == std::string::npos || slash == 0 || slash + 1 >= eq ||
      eq + 1 >= text.size()) {
    return Error::invalid("--enroll " + text + ": expected NS/POD=CGROUP_PATH");
  }
  return EnrollSpec{text.substr(0, eq), text.substr(eq + 1)};
}

Result<dataplane::ProxyAddress> parseProxy(const std::string& text) {
  auto colon = text.rfind(':');
  if (colon == std::string::npos) {
    return Error::invalid("--proxy-addr " + text + ": expected IP:PORT");
  }
  std::string host = text.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  auto ip = net::IpAddress::parse(host);
  unsigned port = 0;
  auto portText = std::string_view(text).substr(colon + 1);
  auto [ptr, ec] = std::from_chars(portText.data(), portText.data() + portText.size(), port);
  if (!ip || ec != std::errc() || ptr != portText.data() + portText.size() || port == 0 ||
      port > 65535) {
    return Error::invalid("--proxy-addr " + text + ": expected IP:PORT");
  }
  return dataplane::ProxyAddress{*ip, static_cast<uint16_t>(port)};
}

int run(const Options& options) {
  // Signals first, so a SIGTERM during load is not lost.
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGTERM);
  sigaddset(&mask, SIGINT);
  if (sigprocmask(SIG_BLOCK, &mask, nullptr) != 0) {
    spdlog::critical("block signals: {}", std::strerror(errno));
    return 1;
  }
  UniqueFd sigfd(signalfd(-1, &mask, SFD_CLOEXEC));
  UniqueFd inotify(inotify_init1(IN_CLOEXEC | IN_NONBLOCK));
  if (sigfd.get() < 0 || inotify.get() < 0) {
    spdlog::critical("signalfd/inotify: {}", std::strerror(errno));
    return 1;
  }
  if (inotify_add_watch(inotify.get(), options.configDir.c_str(),
                        IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_CREATE | IN_DELETE |
                            IN_MODIFY | IN_ATTRIB) < 0) {
    spdlog::critical("watch {}: {}", options.configDir, std::strerror(errno));
    return 1;
  }

  dataplane::DatapathOptions dpOptions;
  dpOptions.bpffsDir = options.bpffsDir;
  dpOptions.deleteGrace = options.deleteGrace;
  dpOptions.pinLinks = options.pinLinks;
  auto datapath = dataplane::Datapath::open(dpOptions);
  if (!datapath.ok()) {
    spdlog::critical("{}", datapath.error().message());
    return 1;
  }
  spdlog::info("maps {} in {}", (*datapath)->adoptedPins() ? "re-adopted" : "created and pinned",
               options.bpffsDir);
  if (!options.proxies.empty()) {
    if (Status st = (*datapath)->setProxy(options.proxies); !st.ok()) {
      spdlog::critical("{}", st.error().message());
      return 1;
    }
  }
  std::vector<Enrolled> enrolled;
  std::map<std::string, bool> attached;
  for (const auto& e : options.enroll) {
    auto id = dataplane::cgroupId(e.cgroupPath);
    if (!id.ok()) {
      spdlog::critical("enroll {}: {}", e.pod, id.error().message());
      return 1;
    }
    if (!attached[e.cgroupPath]) {
      if (Status st = (*datapath)->attach(e.cgroupPath); !st.ok()) {
        spdlog::critical("enroll {}: {}", e.pod, st.error().message());
        return 1;
      }
      attached[e.cgroupPath] = true;
    }
    spdlog::info("enrolled {}: cgroup {} (id {})", e.pod, e.cgroupPath, *id);
    enrolled.push_back({e.pod, *id});
  }
  Metrics metrics;
  std::unique_ptr<MetricsServer> metricsServer;
  if (!options.metricsAddr.empty()) {
    auto server = MetricsServer::start(options.metricsAddr, metrics);
    if (!server.ok()) {
      spdlog::error("{}", server.error().message());
      return 1;
    }
    metricsServer = std::move(server).value();
    spdlog::info("serving /metrics, /healthz, /readyz on {}", options.metricsAddr);
  }
  Agent agent(options, metrics, std::move(datapath).value(), std::move(enrolled));
  agent.reload();

  // Reload once the directory has been quiet for options.debounce. A rejected config or a failed
  // apply waits for the next edit; the maps keep the last good plan meanwhile. Garbage left by an
  // apply is deleted by re-applying once its grace has passed.
  using Clock = std::chrono::steady_clock;
  std::optional<Clock::time_point> reloadAt;
  std::optional<Clock::time_point> collectAt;
  if (agent.pending()) {
    collectAt = Clock::now() + options.deleteGrace;
  }
  for (;;) {
    int timeout = -1;
    for (const auto& at : {reloadAt, collectAt}) {
      if (at) {
        int ms = static_cast<int>(std::max<int64_t>(
            0, std::chrono::duration_cast<std::chrono::milliseconds>(*at - Clock::now()).count() + 1));
        timeout = timeout < 0 ? ms : std::min(timeout, ms);
      }
    }
    pollfd fds[2] = {{sigfd.get(), POLLIN, 0}, {inotify.get(), POLLIN, 0}};
    int n = poll(fds, 2, timeout);
    if (n < 0 && errno != EINTR) {
      spdlog::critical("poll: {}", std::strerror(errno));
      return 1;
    }
    if (fds[0].revents & POLLIN) {
      signalfd_siginfo info{};
      if (read(sigfd.get(), &info, sizeof(info)) == sizeof(info)) {
        spdlog::info("signal {}: exiting; maps stay pinned in {}, links are detached",
                     info.ssi_signo, options.bpffsDir);
      }
      return 0;
    }
    if (fds[1].revents & POLLIN) {
      alignas(inotify_event) char buf[4096];
      while (read(inotify.get(), buf, sizeof(buf)) > 0) {
      }
      reloadAt = Clock::now() + options.debounce;
      continue;
    }
    if (reloadAt && Clock::now() >= *reloadAt) {
      reloadAt.reset();
      if (agent.reload() && agent.pending()) {
        collectAt = Clock::now() + options.deleteGrace;
      }
    }
    if (collectAt && Clock::now() >= *collectAt) {
      collectAt.reset();
      if (agent.collect()) {
        collectAt = Clock::now() + options.deleteGrace / 2;
      }
    }
  }
}

}  // namespace sluice::daemon
