// KubeSource against FakeApiServer: the real list/watch protocol over loopback HTTP.
#include <gtest/gtest.h>
#include <sluice/sources/kube_source.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "fake_api_server.h"

namespace sluice::sources {
namespace {

using json = nlohmann::json;
using testing::FakeApiServer;
using namespace std::chrono_literals;

constexpr const char* kServices = "/api/v1/services";
constexpr const char* kSlices = "/apis/discovery.k8s.io/v1/endpointslices";
constexpr const char* kPods = "/api/v1/pods";
constexpr const char* kVirtualServices = "/apis/networking.istio.io/v1/virtualservices";
constexpr const char* kDestinationRules = "/apis/networking.istio.io/v1/destinationrules";

// Objects as the API server returns them in list items: no apiVersion/kind, server-set metadata.
json meta(const std::string& name) {
  return {{"name", name},
          {"namespace", "default"},
          {"uid", "uid-" + name},
          {"creationTimestamp", "2026-01-01T00:00:00Z"},
          {"managedFields", json::array({{{"manager", "kubectl"}, {"operation", "Update"}}})}};
}
json service(const std::string& name, int port = 80) {
  return {{"metadata", meta(name)},
          {"spec",
           {{"clusterIP", "10.96.0.10"},
            {"ports", json::array({{{"name", "http"}, {"port", port}, {"protocol", "TCP"}}})}}}};
}
json endpointSlice(const std::string& name) {
  json m = meta(name);
  m["labels"] = {{"kubernetes.io/service-name", "reviews"}};
  return {{"metadata", m},
          {"addressType", "IPv4"},
          {"endpoints", json::array({{{"addresses", json::array({"10.0.0.1"})}}})},
          {"ports", json::array({{{"name", "http"}, {"port", 9080}, {"protocol", "TCP"}}})}};
}
json pod(const std::string& name) {
  return {{"metadata", meta(name)},
          {"spec", {{"nodeName", "node-1"}, {"containers", json::array({{{"name", "app"}}})}}},
          {"status", {{"phase", "Running"}, {"podIP", "10.0.0.1"}}}};
}
json virtualService(const std::string& name, const std::string& timeout = "5s") {
  return {{"metadata", meta(name)},
          {"spec",
           {{"hosts", json::array({"reviews"})},
            {"http", json::array({{{"timeout", timeout},
                                   {"route", json::array({{{"destination",
                                                            {{"host", "reviews"}}}}})}}})}}}};
}
json destinationRule(const std::string& name) {
  return {{"metadata", meta(name)}, {"spec", {{"host", "reviews"}}}};
}

ObjectKey key(const std::string& kind, const std::string& name) {
  return ObjectKey{kind, "default", name};
}

// Polls `done` until it holds or 5 s pass; every test stays bounded.
template <typename F>
bool waitUntil(F done, std::chrono::milliseconds limit = 5000ms) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) {
      return true;
    }
    std::this_thread::sleep_for(5ms);
  }
  return done();
}

class KubeSourceTest : public ::testing::Test {
 protected:
  void seedAllKinds() {
    server_.upsert(kServices, service("reviews"));
    server_.upsert(kSlices, endpointSlice("reviews-abc"));
    server_.upsert(kPods, pod("reviews-1"));
    server_.upsert(kVirtualServices, virtualService("reviews"));
    server_.upsert(kDestinationRules, destinationRule("reviews"));
  }

  KubeSource& start(int pageLimit = 500) {
    KubeConfig config;
    config.server = server_.url();
    config.token = "test-token";
    KubeSourceOptions options;
    options.pageLimit = pageLimit;
    options.watchTimeout = 30s;
    options.requestTimeout = requestTimeout_;
    options.backoff = BackoffPolicy{20ms, 80ms, 0.5};
    options.seed = 42;
    auto source = KubeSource::create(config, options);
    EXPECT_TRUE(source) << source.error().message();
    source_ = std::move(*source);
    EXPECT_TRUE(source_->start([this] { ++changes_; }));
    return *source_;
  }

  bool has(const ObjectKey& k) const { return source_->objects().contains(k); }

  // The watch requests of one collection that the server received, in order.
  std::vector<std::string> watchesOf(const std::string& collection) const {
    std::vector<std::string> out;
    for (const auto& target : server_.requests()) {
      if (target.starts_with(collection + "?watch=1")) {
        out.push_back(target);
      }
    }
    return out;
  }

  std::chrono::milliseconds requestTimeout_ = 5s;
  // Declared before source_ so that the source stops (and joins) first.
  FakeApiServer server_;
  std::atomic<int> changes_{0};
  std::unique_ptr<KubeSource> source_;
};

TEST_F(KubeSourceTest, InitialListOfEveryKindSyncs) {
  seedAllKinds();
  auto& source = start();
  ASSERT_TRUE(waitUntil([&] { return source.synced(); }));
  auto objects = source.objects();
  ASSERT_EQ(objects.size(), 5u);
  for (const auto& [k, entry] : objects) {
    EXPECT_TRUE(entry.valid()) << k.kind << ": "
                               << (entry.diagnostics.empty()
                                       ? std::string("no object")
                                       : formatDiagnostic(entry.diagnostics.items()[0]));
  }
  const auto& svc = objects.at(key("Service", "reviews"));
  ASSERT_EQ(svc.object.services.size(), 1u);
  EXPECT_EQ(svc.object.services[0].meta.name, "reviews");
  EXPECT_EQ(svc.object.services[0].source.file, "/api/v1/namespaces/default/services/reviews");
  EXPECT_EQ(objects.at(key("VirtualService", "reviews")).object.virtualServices.size(), 1u);
  EXPECT_GE(changes_.load(), 1);
}

TEST_F(KubeSourceTest, NotSyncedUntilEveryKindListed) {
  seedAllKinds();
  server_.failLists(kDestinationRules, 1'000'000, 503);
  auto& source = start();
  ASSERT_TRUE(waitUntil([&] { return has(key("Service", "reviews")) &&
                                     has(key("VirtualService", "reviews")); }));
  // Other kinds are listed and watched, but one kind still fails: no prune may happen yet.
  ASSERT_TRUE(waitUntil([&] { return server_.openWatches() == 4; }));
  EXPECT_FALSE(source.synced());
  server_.failLists(kDestinationRules, 0, 503);
  ASSERT_TRUE(waitUntil([&] { return source.synced(); }));
  EXPECT_TRUE(has(key("DestinationRule", "reviews")));
}

TEST_F(KubeSourceTest, ListFollowsContinueTokens) {
  for (int i = 0; i < 7; ++i) {
    server_.upsert(kServices, service("svc-" + std::to_string(i)));
  }
  auto& source = start(/*pageLimit=*/3);
  ASSERT_TRUE(waitUntil([&] { return source.synced(); }));
  EXPECT_EQ(source.objects().size(), 7u);
  std::vector<std::string> pages;
  for (const auto& target : server_.requests()) {
    if (target.starts_with(std::string(kServices) + "?limit=")) {
      pages.push_back(target);
    }
  }
  ASSERT_EQ(pages.size(), 3u);
  EXPECT_EQ(pages[0], std::string(kServices) + "?limit=3");
  // The token "c/=+3" travels percent-encoded.
  EXPECT_EQ(pages[1], std::string(kServices) + "?limit=3&continue=c%2F%3D%2B3");
  EXPECT_EQ(pages[2], std::string(kServices) + "?limit=3&continue=c%2F%3D%2B6");
}

TEST_F(KubeSourceTest, WatchAppliesAddModifyDelete) {
  seedAllKinds();
  auto& source = start();
  ASSERT_TRUE(waitUntil([&] { return source.synced() && server_.openWatches() == 5; }));
  std::string listRv = server_.resourceVersion();
  auto watches = watchesOf(kServices);
  ASSERT_EQ(watches.size(), 1u);
  EXPECT_EQ(watches[0], std::string(kServices) + "?watch=1&resourceVersion=" + listRv +
                            "&allowWatchBookmarks=true&timeoutSeconds=30");

  server_.upsert(kServices, service("ratings"));
  ASSERT_TRUE(waitUntil([&] { return has(key("Service", "ratings")); }));

  std::string rv = server_.upsert(kServices, service("ratings", 8080));
  ASSERT_TRUE(waitUntil([&] {
    auto objects = source.objects();
    return objects.at(key("Service", "ratings")).resourceVersion == rv;
  }));
  EXPECT_EQ(source.objects().at(key("Service", "ratings")).object.services[0].spec.ports[0].port,
            8080);

  server_.remove(kServices, "default", "ratings");
  ASSERT_TRUE(waitUntil([&] { return !has(key("Service", "ratings")); }));
  EXPECT_TRUE(has(key("Service", "reviews")));
  EXPECT_EQ(source.stats().eventsApplied, 3u);
}

TEST_F(KubeSourceTest, BookmarkAdvancesResourceVersion) {
  seedAllKinds();
  auto& source = start();
  ASSERT_TRUE(waitUntil([&] { return source.synced() && server_.openWatches() == 5; }));
  // Pods change; services' watch sees only a bookmark at the new resourceVersion.
  std::string podRv = server_.upsert(kPods, pod("reviews-2"));
  ASSERT_TRUE(waitUntil([&] { return has(key("Pod", "reviews-2")); }));
  server_.bookmark();
  // Every stream has the bookmark on the wire before it is cut (TCP keeps the order), so services
  // must resume from the bookmark's resourceVersion, not the list's.
  ASSERT_TRUE(waitUntil([&] { return server_.bookmarksSent() == 5; }));
  server_.dropWatches();
  ASSERT_TRUE(waitUntil([&] { return watchesOf(kServices).size() == 2; }));
  EXPECT_NE(watchesOf(kServices)[1].find("resourceVersion=" + podRv + "&"), std::string::npos)
      << watchesOf(kServices)[1];
  EXPECT_EQ(source.stats().listsCompleted, 5u);
}

class GoneTest : public KubeSourceTest, public ::testing::WithParamInterface<bool> {};

TEST_P(GoneTest, GoneRelistsAndForgetsObjectsDeletedMeanwhile) {
  server_.setGoneAsHttpStatus(GetParam());
  seedAllKinds();
  server_.upsert(kServices, service("ratings"));
  auto& source = start();
  ASSERT_TRUE(waitUntil([&] { return source.synced() && server_.openWatches() == 5; }));
  ASSERT_TRUE(has(key("Service", "ratings")));

  server_.deleteWhileDisconnected(kServices, "default", "ratings");
  ASSERT_TRUE(waitUntil([&] { return !has(key("Service", "ratings")); }));
  EXPECT_TRUE(has(key("Service", "reviews")));
  EXPECT_TRUE(source.synced());
  EXPECT_GE(source.stats().relists, 1u);
  // It learned of the deletion by relisting (the deletion event was never streamed).
  EXPECT_EQ(source.stats().eventsApplied, 0u);

  // The relisted source watches again.
  server_.upsert(kServices, service("details"));
  ASSERT_TRUE(waitUntil([&] { return has(key("Service", "details")); }));
}

INSTANTIATE_TEST_SUITE_P(ErrorEventOrHttpStatus, GoneTest, ::testing::Values(false, true));

TEST_F(KubeSourceTest, DroppedStreamResumesFromLastResourceVersionWithoutDuplicates) {
  seedAllKinds();
  auto& source = start();
  ASSERT_TRUE(waitUntil([&] { return source.synced() && server_.openWatches() == 5; }));
  std::string rv = server_.upsert(kServices, service("ratings"));
  ASSERT_TRUE(waitUntil([&] { return has(key("Service", "ratings")); }));
  int changesBefore = changes_.load();

  // The cut stream ends in half an event for "ghost", which must never appear.
  server_.dropWatches();
  ASSERT_TRUE(waitUntil([&] { return watchesOf(kServices).size() == 2; }));
  EXPECT_NE(watchesOf(kServices)[1].find("resourceVersion=" + rv + "&"), std::string::npos);
  server_.upsert(kServices, service("details"));
  ASSERT_TRUE(waitUntil([&] { return has(key("Service", "details")); }));

  EXPECT_FALSE(has(key("Service", "ghost")));
  EXPECT_EQ(source.stats().eventsApplied, 2u);  // ratings, details: nothing replayed
  EXPECT_EQ(source.stats().listsCompleted, 5u);  // no relist
  EXPECT_EQ(changes_.load(), changesBefore + 1);
}

TEST_F(KubeSourceTest, FailedListsBackOffWithinBounds) {
  seedAllKinds();
  server_.failLists(kServices, 3, 500);
  auto started = std::chrono::steady_clock::now();
  auto& source = start();
  ASSERT_TRUE(waitUntil([&] { return source.synced(); }));
  auto elapsed = std::chrono::steady_clock::now() - started;
  EXPECT_EQ(source.stats().failures, 3u);
  // Waits of (10,20] + (20,40] + (40,80] ms: at least 70 ms, and far below a second.
  EXPECT_GE(elapsed, 70ms);
  EXPECT_LT(elapsed, 2s);
}

TEST_F(KubeSourceTest, HungRequestTimesOutAndIsRetried) {
  seedAllKinds();
  server_.failLists(kServices, 1, /*status=*/0);
  requestTimeout_ = 200ms;
  auto started = std::chrono::steady_clock::now();
  auto& source = start();
  ASSERT_TRUE(waitUntil([&] { return source.synced(); }));
  auto elapsed = std::chrono::steady_clock::now() - started;
  EXPECT_EQ(source.stats().failures, 1u);
  EXPECT_GE(elapsed, 200ms);
  EXPECT_LT(elapsed, 2s);  // the server would have hung for 5 s
}

TEST_F(KubeSourceTest, InvalidObjectHasDiagnosticsAndOthersKeepUpdating) {
  seedAllKinds();
  server_.upsert(kVirtualServices, virtualService("broken", "five seconds"));
  auto& source = start();
  ASSERT_TRUE(waitUntil([&] { return source.synced(); }));
  auto objects = source.objects();
  const auto& broken = objects.at(key("VirtualService", "broken"));
  EXPECT_FALSE(broken.valid());
  EXPECT_TRUE(broken.object.virtualServices.empty());
  ASSERT_TRUE(broken.diagnostics.hasErrors());
  EXPECT_EQ(broken.diagnostics.items()[0].field, "spec.http[0].timeout");
  EXPECT_EQ(broken.diagnostics.items()[0].name, "broken");
  EXPECT_TRUE(objects.at(key("VirtualService", "reviews")).valid());

  // Others keep updating while it stays broken; it becomes valid once fixed.
  std::string reviewsRv = server_.upsert(kVirtualServices, virtualService("reviews", "7s"));
  ASSERT_TRUE(waitUntil([&] {
    return source.objects().at(key("VirtualService", "reviews")).resourceVersion == reviewsRv;
  }));
  EXPECT_TRUE(source.objects().at(key("VirtualService", "reviews")).valid());
  EXPECT_FALSE(source.objects().at(key("VirtualService", "broken")).valid());
  server_.upsert(kVirtualServices, virtualService("broken", "3s"));
  ASSERT_TRUE(waitUntil([&] {
    return source.objects().at(key("VirtualService", "broken")).valid();
  }));
}

TEST(BackoffTest, GrowsExponentiallyWithJitterAndIsBounded) {
  Backoff backoff(BackoffPolicy{100ms, 1000ms, 0.5}, 7);
  std::chrono::milliseconds bases[] = {100ms, 200ms, 400ms, 800ms, 1000ms, 1000ms, 1000ms};
  for (auto base : bases) {
    auto d = backoff.next();
    EXPECT_LE(d, base);
    EXPECT_GE(d, base / 2);
  }
  for (int i = 0; i < 100; ++i) {
    EXPECT_LE(backoff.next(), 1000ms);
  }
  backoff.reset();
  EXPECT_LE(backoff.next(), 100ms);
}

TEST(BackoffTest, JitterSpreadsAgents) {
  Backoff a(BackoffPolicy{1000ms, 30'000ms, 0.5}, 1);
  Backoff b(BackoffPolicy{1000ms, 30'000ms, 0.5}, 2);
  EXPECT_NE(a.next(), b.next());
}

}  // namespace
}  // namespace sluice::sources
