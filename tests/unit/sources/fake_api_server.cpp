#include "fake_api_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <stdexcept>

namespace sluice::sources::testing {
namespace {

bool sendAll(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n <= 0) {
      return false;
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

std::string chunk(std::string_view data) {
  char size[32];
  snprintf(size, sizeof size, "%zx\r\n", data.size());
  return std::string(size) + std::string(data) + "\r\n";
}

std::string percentDecode(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      out += static_cast<char>(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

std::string statusBody(int code, const std::string& reason, const std::string& message) {
  return nlohmann::json{{"kind", "Status"},     {"apiVersion", "v1"}, {"status", "Failure"},
                        {"message", message},   {"reason", reason},   {"code", code}}
      .dump();
}

void respond(int fd, int status, const std::string& body) {
  std::string head = "HTTP/1.1 " + std::to_string(status) +
                     " X\r\nContent-Type: application/json\r\nContent-Length: " +
                     std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n";
  sendAll(fd, head + body);
}

// metadata.namespace/name of an object.
std::pair<std::string, std::string> keyOf(const nlohmann::json& object) {
  const auto& meta = object.at("metadata");
  return {meta.value("namespace", std::string()), meta.value("name", std::string())};
}

}  // namespace

FakeApiServer::FakeApiServer() {
  listenFd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (listenFd_ < 0 || ::bind(listenFd_, reinterpret_cast<sockaddr*>(&addr), len) != 0 ||
      ::listen(listenFd_, 64) != 0 ||
      ::getsockname(listenFd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    throw std::runtime_error("fake API server: cannot listen on 127.0.0.1");
  }
  port_ = ntohs(addr.sin_port);
  acceptThread_ = std::thread([this] { acceptLoop(); });
}

FakeApiServer::~FakeApiServer() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    for (int fd : connections_) {
      ::shutdown(fd, SHUT_RDWR);
    }
  }
  cv_.notify_all();
  ::shutdown(listenFd_, SHUT_RDWR);  // wakes accept()
  acceptThread_.join();
  ::close(listenFd_);
  for (auto& t : connectionThreads_) {
    t.join();
  }
}

std::string FakeApiServer::url() const { return "http://127.0.0.1:" + std::to_string(port_); }

void FakeApiServer::acceptLoop() {
  for (;;) {
    int fd = ::accept4(listenFd_, nullptr, nullptr, SOCK_CLOEXEC);
    std::lock_guard lock(mu_);
    if (stopping_) {
      if (fd >= 0) {
        ::close(fd);
      }
      return;
    }
    if (fd < 0) {
      continue;
    }
    connections_.insert(fd);
    connectionThreads_.emplace_back([this, fd] {
      serve(fd);
      std::lock_guard lock(mu_);
      connections_.erase(fd);
      ::close(fd);
    });
  }
}

void FakeApiServer::serve(int fd) {
  std::string head;
  char buf[4096];
  while (head.find("\r\n\r\n") == std::string::npos) {
    pollfd pfd{fd, POLLIN, 0};
    if (::poll(&pfd, 1, 5000) <= 0) {
      return;
    }
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) {
      return;
    }
    head.append(buf, static_cast<size_t>(n));
  }
  // "GET /api/v1/services?limit=3 HTTP/1.1"
  auto sp1 = head.find(' ');
  auto sp2 = head.find(' ', sp1 + 1);
  std::string target = head.substr(sp1 + 1, sp2 - sp1 - 1);
  {
    std::lock_guard lock(mu_);
    requests_.push_back(target);
  }
  Request req;
  auto q = target.find('?');
  req.path = target.substr(0, q);
  if (q != std::string::npos) {
    std::string_view query(target);
    query.remove_prefix(q + 1);
    while (!query.empty()) {
      auto amp = query.find('&');
      std::string_view kv = query.substr(0, amp);
      auto eq = kv.find('=');
      req.query[std::string(kv.substr(0, eq))] =
          eq == std::string_view::npos ? "" : percentDecode(kv.substr(eq + 1));
      query.remove_prefix(amp == std::string_view::npos ? query.size() : amp + 1);
    }
  }
  if (req.query.contains("watch")) {
    serveWatch(fd, req);
  } else {
    serveList(fd, req);
  }
}

void FakeApiServer::serveList(int fd, const Request& req) {
  std::unique_lock lock(mu_);
  if (auto it = listFailures_.find(req.path); it != listFailures_.end() && it->second.first > 0) {
    --it->second.first;
    int status = it->second.second;
    if (status == 0) {
      cv_.wait_for(lock, std::chrono::seconds(5), [this] { return stopping_; });
      return;
    }
    lock.unlock();
    respond(fd, status, statusBody(status, "InternalError", "injected failure"));
    return;
  }
  size_t limit = req.query.contains("limit") ? std::stoul(req.query.at("limit")) : 0;
  size_t offset = 0;
  if (auto it = req.query.find("continue"); it != req.query.end()) {
    // Tokens carry characters that must be percent-encoded, like the real base64 ones.
    offset = std::stoul(it->second.substr(it->second.find('+') + 1));
  }
  json items = json::array();
  const auto& objects = objects_[req.path];
  auto it = objects.begin();
  std::advance(it, std::min(offset, objects.size()));
  for (; it != objects.end() && (limit == 0 || items.size() < limit); ++it) {
    items.push_back(it->second);
  }
  json meta = {{"resourceVersion", std::to_string(rv_)}};
  if (it != objects.end()) {
    meta["continue"] = "c/=+" + std::to_string(offset + items.size());
  }
  json list = {{"kind", "List"}, {"apiVersion", "v1"}, {"metadata", meta}, {"items", items}};
  lock.unlock();
  respond(fd, 200, list.dump());
}

void FakeApiServer::serveWatch(int fd, const Request& req) {
  using Clock = std::chrono::steady_clock;
  std::unique_lock lock(mu_);
  int64_t pos = req.query.contains("resourceVersion") && !req.query.at("resourceVersion").empty()
                    ? std::stoll(req.query.at("resourceVersion"))
                    : rv_;
  if (pos < compactedRv_) {
    if (goneAsHttpStatus_) {
      lock.unlock();
      respond(fd, 410, statusBody(410, "Expired", "too old resource version"));
      return;
    }
    lock.unlock();
    json error = {{"type", "ERROR"},
                  {"object", json::parse(statusBody(410, "Expired", "too old resource version"))}};
    sendAll(fd,
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n" +
                chunk(error.dump() + "\n") + "0\r\n\r\n");
    return;
  }
  bool bookmarks = req.query.count("allowWatchBookmarks") && req.query.at("allowWatchBookmarks") == "true";
  int timeout = req.query.contains("timeoutSeconds") ? std::stoi(req.query.at("timeoutSeconds")) : 60;
  auto deadline = Clock::now() + std::chrono::seconds(timeout);
  uint64_t drop = dropGeneration_;
  uint64_t bookmarkSeen = bookmarkGeneration_;
  int bookmarksPending = 0;
  ++openWatches_;
  lock.unlock();
  bool alive = sendAll(
      fd, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n");
  lock.lock();
  while (alive && !stopping_) {
    if (dropGeneration_ != drop) {
      // Announce a 300-byte event, send a third of it, and hang up.
      json ghost = {{"type", "ADDED"},
                    {"object", {{"metadata", {{"name", "ghost"}, {"namespace", "default"}}}}}};
      std::string partial = "12c\r\n" + ghost.dump().substr(0, 40);
      lock.unlock();
      sendAll(fd, partial);
      lock.lock();
      break;
    }
    std::string out;
    for (const auto& e : log_) {
      if (e.rv > pos && e.collection == req.path) {
        out += chunk(json{{"type", e.type}, {"object", e.object}}.dump() + "\n");
        pos = e.rv;
      }
    }
    if (bookmarks && bookmarkGeneration_ != bookmarkSeen) {
      bookmarkSeen = bookmarkGeneration_;
      pos = rv_;
      json mark = {{"type", "BOOKMARK"},
                   {"object", {{"metadata", {{"resourceVersion", std::to_string(rv_)}}}}}};
      out += chunk(mark.dump() + "\n");
      ++bookmarksPending;
    }
    if (!out.empty()) {
      lock.unlock();
      alive = sendAll(fd, out);
      lock.lock();
      if (alive) {
        bookmarksSent_ += bookmarksPending;
      }
      bookmarksPending = 0;
      continue;
    }
    if (Clock::now() >= deadline) {
      lock.unlock();
      sendAll(fd, "0\r\n\r\n");
      lock.lock();
      break;
    }
    cv_.wait_until(lock, deadline);
  }
  --openWatches_;
}

std::string FakeApiServer::upsertLocked(const std::string& collection, json object) {
  auto key = keyOf(object);
  auto& objects = objects_[collection];
  bool exists = objects.contains(key);
  ++rv_;
  object["metadata"]["resourceVersion"] = std::to_string(rv_);
  objects[key] = object;
  log_.push_back(Event{rv_, collection, exists ? "MODIFIED" : "ADDED", object});
  cv_.notify_all();
  return std::to_string(rv_);
}

std::string FakeApiServer::upsert(const std::string& collection, json object) {
  std::lock_guard lock(mu_);
  return upsertLocked(collection, std::move(object));
}

void FakeApiServer::remove(const std::string& collection, const std::string& ns,
                           const std::string& name) {
  std::lock_guard lock(mu_);
  removeLocked(collection, ns, name);
}

void FakeApiServer::removeLocked(const std::string& collection, const std::string& ns,
                                 const std::string& name) {
  auto& objects = objects_[collection];
  auto it = objects.find({ns, name});
  if (it == objects.end()) {
    return;
  }
  json object = it->second;
  objects.erase(it);
  ++rv_;
  object["metadata"]["resourceVersion"] = std::to_string(rv_);
  log_.push_back(Event{rv_, collection, "DELETED", object});
  cv_.notify_all();
}

void FakeApiServer::bookmark() {
  std::lock_guard lock(mu_);
  ++bookmarkGeneration_;
  cv_.notify_all();
}

void FakeApiServer::compact() {
  std::lock_guard lock(mu_);
  compactedRv_ = rv_;
  log_.clear();
}

void FakeApiServer::dropWatches() {
  std::lock_guard lock(mu_);
  ++dropGeneration_;
  cv_.notify_all();
}

void FakeApiServer::deleteWhileDisconnected(const std::string& collection, const std::string& ns,
                                            const std::string& name) {
  // One critical section: every open stream sees the cut before it could send the deletion, and
  // a stream opened afterwards asks for a resourceVersion that is now compacted.
  std::lock_guard lock(mu_);
  ++dropGeneration_;
  removeLocked(collection, ns, name);
  compactedRv_ = rv_;
  log_.clear();
  cv_.notify_all();
}

void FakeApiServer::failLists(const std::string& collection, int count, int status) {
  std::lock_guard lock(mu_);
  listFailures_[collection] = {count, status};
}

void FakeApiServer::setGoneAsHttpStatus(bool on) {
  std::lock_guard lock(mu_);
  goneAsHttpStatus_ = on;
}

std::vector<std::string> FakeApiServer::requests() const {
  std::lock_guard lock(mu_);
  return requests_;
}

int FakeApiServer::openWatches() const {
  std::lock_guard lock(mu_);
  return openWatches_;
}

int FakeApiServer::bookmarksSent() const {
  std::lock_guard lock(mu_);
  return bookmarksSent_;
}

std::string FakeApiServer::resourceVersion() const {
  std::lock_guard lock(mu_);
  return std::to_string(rv_);
}

}  // namespace sluice::sources::testing
