#include <sluice/sources/kube_source.h>

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <mutex>
#include <optional>
#include <thread>

#include <nlohmann/json.hpp>
#include <sluice/parse/parser.h>
#include <spdlog/spdlog.h>

#include "http_client.h"

namespace sluice::sources {
namespace {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

std::string percentEncode(std::string_view text) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 0xf];
    }
  }
  return out;
}

std::string stringAt(const json& object, const char* a, const char* b) {
  auto outer = object.find(a);
  if (outer == object.end() || !outer->is_object()) {
    return {};
  }
  auto inner = outer->find(b);
  return inner != outer->end() && inner->is_string() ? inner->get<std::string>() : std::string();
}

// The message of a Kubernetes Status body, or the start of whatever else the server sent.
std::string statusMessage(const std::string& body) {
  json status = json::parse(body, nullptr, false);
  if (status.is_object() && status.contains("message") && status["message"].is_string()) {
    return status["message"].get<std::string>();
  }
  return body.substr(0, 200);
}

// What ended one watch request.
enum class WatchEnd {
  Ended,   // the server closed the stream cleanly (timeoutSeconds): re-watch at once
  Gone,    // 410: the resourceVersion is compacted away, relist
  Failed,  // connection, protocol or server error: back off, then re-watch from the last RV
};

class UniqueFd {
 public:
  explicit UniqueFd(int fd) : fd_(fd) {}
  ~UniqueFd() {
    if (fd_ >= 0) {
      ::close(fd_);
    }
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

}  // namespace

std::string ResourceKind::collectionPath() const {
  return apiVersion.find('/') == std::string::npos ? "/api/" + apiVersion + "/" + plural
                                                   : "/apis/" + apiVersion + "/" + plural;
}

const std::vector<ResourceKind>& defaultKinds() {
  static const std::vector<ResourceKind> kinds = {
      {"Service", "v1", "services"},
      {"EndpointSlice", "discovery.k8s.io/v1", "endpointslices"},
      {"Pod", "v1", "pods"},
      {"VirtualService", "networking.istio.io/v1", "virtualservices"},
      {"DestinationRule", "networking.istio.io/v1", "destinationrules"},
  };
  return kinds;
}

struct KubeSource::Impl {
  KubeSourceOptions options;
  UniqueFd stopFd{::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)};
  std::unique_ptr<HttpClient> client;
  ChangeCallback onChange;
  std::vector<std::thread> threads;
  std::atomic<bool> stopping{false};

  mutable std::mutex mu;  // guards everything below
  ObjectMap objects;
  std::vector<bool> listed;
  KubeSourceStats stats;

  void notify() {
    if (onChange) {
      onChange();
    }
  }

  // Waits `delay` unless stop() is called first; false when stopping.
  bool sleepFor(std::chrono::milliseconds delay) {
    pollfd pfd{stopFd.get(), POLLIN, 0};
    return ::poll(&pfd, 1, static_cast<int>(delay.count())) == 0;
  }

  // The item, given back its apiVersion/kind (list items omit them), parsed like a file so that
  // diagnostics and validation are the same as for YAML on disk.
  std::pair<ObjectKey, ObjectEntry> parseItem(const ResourceKind& kind, json item) const {
    ObjectKey key{kind.kind, stringAt(item, "metadata", "namespace"),
                  stringAt(item, "metadata", "name")};
    ObjectEntry entry;
    entry.resourceVersion = stringAt(item, "metadata", "resourceVersion");
    item["apiVersion"] = kind.apiVersion;
    item["kind"] = kind.kind;
    std::string path = kind.collectionPath();
    std::string file = path.substr(0, path.rfind('/')) + "/namespaces/" + key.ns + "/" +
                       kind.plural + "/" + key.name;
    auto out = parse::parseYaml(item.dump(2), file);
    entry.object = std::move(out.snapshot);
    entry.diagnostics = std::move(out.diagnostics);
    return {std::move(key), std::move(entry)};
  }

  // Every page of a LIST; on success the kind's objects are replaced by the listed ones (so an
  // object deleted while we were not watching disappears) and the list's resourceVersion returned.
  Result<std::string> list(const ResourceKind& kind, size_t index) {
    std::vector<json> items;
    std::string continueToken;
    std::string resourceVersion;
    do {
      std::string target =
          kind.collectionPath() + "?limit=" + std::to_string(options.pageLimit);
      if (!continueToken.empty()) {
        target += "&continue=" + percentEncode(continueToken);
      }
      int status = 0;
      std::string body;
      HttpClient::Handlers handlers{[&](int s) { status = s; },
                                    [&](std::string_view data) {
                                      body.append(data);
                                      return true;
                                    }};
      if (auto st = client->get(target, Clock::now() + options.requestTimeout, handlers); !st) {
        return st.error().wrap("LIST " + target);
      }
      if (status != 200) {
        // Includes 410 for an expired continue token: the next attempt starts from page one.
        return Error::fromErrno(EIO, "LIST " + target + ": HTTP " + std::to_string(status) +
                                         ": " + statusMessage(body));
      }
      json page = json::parse(body, nullptr, false);
      if (!page.is_object() || !page.contains("items") || !page["items"].is_array()) {
        return Error::fromErrno(EPROTO, "LIST " + target + ": not a list");
      }
      for (auto& item : page["items"]) {
        items.push_back(std::move(item));
      }
      resourceVersion = stringAt(page, "metadata", "resourceVersion");
      continueToken = stringAt(page, "metadata", "continue");
    } while (!continueToken.empty());

    ObjectMap fresh;
    for (auto& item : items) {
      fresh.insert(parseItem(kind, std::move(item)));
    }
    bool changed = false;
    {
      std::lock_guard lock(mu);
      for (auto it = objects.lower_bound(ObjectKey{kind.kind, "", ""});
           it != objects.end() && it->first.kind == kind.kind;) {
        if (!fresh.contains(it->first)) {
          it = objects.erase(it);
          changed = true;
        } else {
          ++it;
        }
      }
      for (auto& [key, entry] : fresh) {
        auto it = objects.find(key);
        if (it == objects.end() || it->second.resourceVersion != entry.resourceVersion) {
          objects[key] = std::move(entry);
          changed = true;
        }
      }
      changed = changed || !listed[index];
      listed[index] = true;
      ++stats.listsCompleted;
    }
    if (changed) {
      notify();
    }
    return resourceVersion;
  }

  // Applies one watch event; `resourceVersion` follows every event and bookmark. Returns how the
  // watch ends when the event ends it (ERROR, malformed), nothing to keep reading.
  std::optional<WatchEnd> applyEvent(const ResourceKind& kind, const json& event, std::string& resourceVersion) {
    if (!event.is_object() || !event.contains("type") || !event["type"].is_string() ||
        !event.contains("object") || !event["object"].is_object()) {
      spdlog::warn("kube source: {}: malformed watch event", kind.kind);
      return WatchEnd::Failed;
    }
    const std::string type = event["type"].get<std::string>();
    const json& object = event["object"];
    if (type == "ERROR") {
      int code = object.contains("code") && object["code"].is_number_integer()
                     ? object["code"].get<int>()
                     : 0;
      spdlog::info("kube source: {}: watch error {}: {}", kind.kind, code,
                   object.value("message", std::string()));
      return code == 410 ? WatchEnd::Gone : WatchEnd::Failed;
    }
    std::string rv = stringAt(object, "metadata", "resourceVersion");
    if (type == "BOOKMARK") {
      if (!rv.empty()) {
        resourceVersion = rv;
      }
      return std::nullopt;
    }
    bool changed = false;
    if (type == "ADDED" || type == "MODIFIED") {
      auto [key, entry] = parseItem(kind, object);
      std::lock_guard lock(mu);
      auto it = objects.find(key);
      // The same version again (e.g. replayed after a reconnect) is not a change.
      if (it == objects.end() || it->second.resourceVersion != entry.resourceVersion) {
        objects[key] = std::move(entry);
        changed = true;
      }
    } else if (type == "DELETED") {
      ObjectKey key{kind.kind, stringAt(object, "metadata", "namespace"),
                    stringAt(object, "metadata", "name")};
      std::lock_guard lock(mu);
      changed = objects.erase(key) > 0;
    } else {
      spdlog::warn("kube source: {}: unknown watch event type {}", kind.kind, type);
      return WatchEnd::Failed;
    }
    if (!rv.empty()) {
      resourceVersion = rv;
    }
    if (changed) {
      {
        std::lock_guard lock(mu);
        ++stats.eventsApplied;
      }
      notify();
    }
    return std::nullopt;
  }

  WatchEnd watch(const ResourceKind& kind, std::string& resourceVersion, bool& progressed) {
    std::string target = kind.collectionPath() +
                         "?watch=1&resourceVersion=" + percentEncode(resourceVersion) +
                         "&allowWatchBookmarks=true&timeoutSeconds=" +
                         std::to_string(options.watchTimeout.count());
    {
      std::lock_guard lock(mu);
      ++stats.watchesStarted;
    }
    int status = 0;
    std::string buffer;
    std::optional<WatchEnd> end;
    HttpClient::Handlers handlers{
        [&](int s) { status = s; },
        [&](std::string_view data) {
          buffer.append(data);
          if (status != 200) {
            return buffer.size() < 64 * 1024;  // an error body: keep its start for the log
          }
          // One JSON event per line; a partial line waits for the rest (or dies with the stream).
          size_t start = 0;
          for (size_t nl; (nl = buffer.find('\n', start)) != std::string::npos; start = nl + 1) {
            std::string_view line(buffer.data() + start, nl - start);
            if (line.find_first_not_of(" \r\t") == std::string_view::npos) {
              continue;
            }
            if (auto ended = applyEvent(kind, json::parse(line, nullptr, false), resourceVersion)) {
              end = *ended;
              return false;
            }
            progressed = true;
          }
          buffer.erase(0, start);
          return true;
        }};
    auto deadline = Clock::now() + options.watchTimeout + options.requestTimeout;
    auto st = client->get(target, deadline, handlers);
    if (status == 410) {
      return WatchEnd::Gone;
    }
    if (end) {
      return *end;
    }
    if (!st) {
      if (!stopping) {
        spdlog::info("kube source: {}: watch from {} ended: {}", kind.kind, resourceVersion,
                     st.error().message());
      }
      return WatchEnd::Failed;
    }
    if (status != 200) {
      spdlog::warn("kube source: WATCH {}: HTTP {}: {}", target, status, statusMessage(buffer));
      return WatchEnd::Failed;
    }
    return WatchEnd::Ended;
  }

  void fail(Backoff& backoff) {
    {
      std::lock_guard lock(mu);
      ++stats.failures;
    }
    sleepFor(backoff.next());
  }

  void run(size_t index, uint64_t seed) {
    const ResourceKind& kind = options.kinds[index];
    Backoff backoff(options.backoff, seed);
    std::string resourceVersion;
    bool needList = true;
    bool relisting = false;
    while (!stopping) {
      if (needList) {
        auto rv = list(kind, index);
        if (!rv) {
          if (!stopping) {
            spdlog::warn("kube source: {}", rv.error().message());
            fail(backoff);
          }
          continue;
        }
        if (relisting) {
          std::lock_guard lock(mu);
          ++stats.relists;
        }
        resourceVersion = *rv;
        needList = false;
        relisting = false;
        backoff.reset();
      }
      auto started = Clock::now();
      bool progressed = false;
      switch (watch(kind, resourceVersion, progressed)) {
        case WatchEnd::Gone:
          needList = true;
          relisting = true;
          break;
        case WatchEnd::Ended:
          // A server that ends every watch at once must not make us spin.
          if (progressed || Clock::now() - started > std::chrono::seconds(1)) {
            backoff.reset();
          } else if (!stopping) {
            sleepFor(backoff.next());
          }
          break;
        case WatchEnd::Failed:
          if (!stopping) {
            fail(backoff);
          }
          break;
      }
    }
  }
};

KubeSource::KubeSource(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

KubeSource::~KubeSource() { stop(); }

Result<std::unique_ptr<KubeSource>> KubeSource::create(const KubeConfig& config,
                                                       KubeSourceOptions options) {
  if (options.kinds.empty()) {
    return Error::invalid("kube source: no kinds to watch");
  }
  if (options.pageLimit <= 0) {
    return Error::invalid("kube source: page limit must be positive");
  }
  auto impl = std::make_unique<Impl>();
  if (impl->stopFd.get() < 0) {
    return Error::fromErrno(errno, "kube source: eventfd");
  }
  auto client = HttpClient::create(config, impl->stopFd.get());
  if (!client) {
    return client.error().wrap("kube source");
  }
  impl->client = std::move(*client);
  impl->options = std::move(options);
  impl->listed.assign(impl->options.kinds.size(), false);
  return std::unique_ptr<KubeSource>(new KubeSource(std::move(impl)));
}

Status KubeSource::start(ChangeCallback onChange) {
  if (!impl_->threads.empty() || impl_->stopping) {
    return Error::fromErrno(EALREADY, "kube source: already started");
  }
  impl_->onChange = std::move(onChange);
  std::random_device random;
  for (size_t i = 0; i < impl_->options.kinds.size(); ++i) {
    uint64_t seed = impl_->options.seed != 0 ? impl_->options.seed + i : random();
    impl_->threads.emplace_back([this, i, seed] { impl_->run(i, seed); });
  }
  return okStatus();
}

void KubeSource::stop() {
  impl_->stopping = true;
  uint64_t one = 1;
  // The eventfd stays readable from now on, waking every poll in every thread.
  [[maybe_unused]] auto n = ::write(impl_->stopFd.get(), &one, sizeof one);
  for (auto& t : impl_->threads) {
    if (t.joinable()) {
      t.join();
    }
  }
}

bool KubeSource::synced() const {
  std::lock_guard lock(impl_->mu);
  return std::all_of(impl_->listed.begin(), impl_->listed.end(), [](bool b) { return b; });
}

ObjectMap KubeSource::objects() const {
  std::lock_guard lock(impl_->mu);
  return impl_->objects;
}

KubeSourceStats KubeSource::stats() const {
  std::lock_guard lock(impl_->mu);
  return impl_->stats;
}

}  // namespace sluice::sources
