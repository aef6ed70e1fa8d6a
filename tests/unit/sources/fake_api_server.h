#pragma once
// A Kubernetes API server on 127.0.0.1:<ephemeral> that speaks the list/watch protocol the way
// kube-apiserver does: JSON lists with metadata.resourceVersion and continue tokens, chunked watch
// streams of one JSON event per line, BOOKMARK events, 410 Gone for a compacted resourceVersion
// (as an ERROR event, or as an HTTP status), and streams it cuts in the middle of an event.
// resourceVersions are one global counter, as with etcd.
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace sluice::sources::testing {

class FakeApiServer {
 public:
  using json = nlohmann::json;

  FakeApiServer();
  ~FakeApiServer();
  FakeApiServer(const FakeApiServer&) = delete;
  FakeApiServer& operator=(const FakeApiServer&) = delete;

  std::string url() const;

  // `collection` is the path of the resource ("/api/v1/services"). Returns the object's new
  // resourceVersion; records ADDED or MODIFIED for watchers.
  std::string upsert(const std::string& collection, json object);
  void remove(const std::string& collection, const std::string& ns, const std::string& name);
  // Every open watch that allows bookmarks receives a BOOKMARK at the current resourceVersion.
  void bookmark();
  // Forgets history: a watch from an older resourceVersion gets 410 Gone.
  void compact();
  // Cuts every open watch stream in the middle of a (never completed) event chunk.
  void dropWatches();
  // Cuts the streams, deletes the object and compacts before any watch can resume, so a client
  // learns of the deletion only by relisting.
  void deleteWhileDisconnected(const std::string& collection, const std::string& ns,
                               const std::string& name);
  // The next `count` LIST requests of `collection` are answered with HTTP `status`, or with
  // nothing at all for 5 s when `status` is 0 (a hung server).
  void failLists(const std::string& collection, int count, int status);
  // 410 for a too-old watch as the HTTP status instead of an ERROR event in a 200 stream.
  void setGoneAsHttpStatus(bool on);

  std::vector<std::string> requests() const;  // request targets, in arrival order
  int openWatches() const;
  int bookmarksSent() const;
  std::string resourceVersion() const;

 private:
  struct Event {
    int64_t rv;
    std::string collection;
    std::string type;
    json object;
  };
  struct Request {
    std::string path;
    std::map<std::string, std::string> query;
  };

  void acceptLoop();
  void serve(int fd);
  void serveList(int fd, const Request& req);
  void serveWatch(int fd, const Request& req);
  std::string upsertLocked(const std::string& collection, json object);
  void removeLocked(const std::string& collection, const std::string& ns, const std::string& name);

  int listenFd_ = -1;
  int port_ = 0;
  std::thread acceptThread_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  int64_t rv_ = 1000;
  int64_t compactedRv_ = 0;
  uint64_t dropGeneration_ = 0;
  uint64_t bookmarkGeneration_ = 0;
  bool goneAsHttpStatus_ = false;
  std::map<std::string, std::map<std::pair<std::string, std::string>, json>> objects_;
  std::vector<Event> log_;
  std::map<std::string, std::pair<int, int>> listFailures_;  // collection → (count, status)
  std::vector<std::string> requests_;
  int openWatches_ = 0;
  int bookmarksSent_ = 0;
  std::set<int> connections_;
  std::vector<std::thread> connectionThreads_;
};

}  // namespace sluice::sources::testing
