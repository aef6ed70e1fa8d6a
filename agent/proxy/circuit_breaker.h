#pragma once
// Envoy's per-cluster resource manager (circuit breakers), fed by DestinationRule connectionPool
// limits (CircuitLimits in the route table): what each cluster holds right now, and the queues of
// requests waiting for a connection. State is kept by cluster name, not in the route table, so a
// config reload neither forgets the connections that are open nor strands the requests that wait.
// Everything runs on the loop thread.
#include <event2/event.h>

#include <cstdint>
#include <deque>
#include <string>
#include <unordered_map>
#include <utility>

namespace sluice::proxy {

class CircuitBreakers;

// What one cluster holds.
struct ClusterCircuit {
  uint32_t connections = 0;  // upstream connections: connecting, in use or idle
  uint32_t pending = 0;      // requests waiting for a connection (max_pending_requests)
  uint32_t requests = 0;     // requests on a connection or HTTP/2 stream (max_requests)
  uint32_t retries = 0;      // retries whose attempt has not answered yet (max_retries)
  std::unordered_map<std::string, uint32_t> connectionsByEndpoint;  // by pool key
};

// One unit of a ClusterCircuit counter, given back when the slot is destroyed or reassigned, so
// that every way an exchange or a connection ends releases what it held.
class CircuitSlot {
 public:
  CircuitSlot() = default;
  CircuitSlot(CircuitBreakers& owner, uint32_t& counter) : owner_(&owner), counter_(&counter) {
    ++counter;
  }
  CircuitSlot(CircuitSlot&& other) noexcept { *this = std::move(other); }
  CircuitSlot& operator=(CircuitSlot&& other) noexcept;
  CircuitSlot(const CircuitSlot&) = delete;
  CircuitSlot& operator=(const CircuitSlot&) = delete;
  ~CircuitSlot() { release(); }

  explicit operator bool() const { return counter_ != nullptr; }

 private:
  void release();

  CircuitBreakers* owner_ = nullptr;
  uint32_t* counter_ = nullptr;
};

// A request that waits for a connection of one pool key (cluster and endpoint).
class CircuitWaiter {
 public:
  // Tries again to get a connection; false when it had to wait again.
  virtual bool resumeUpstream() = 0;

 protected:
  ~CircuitWaiter() = default;
};

// A waiter's place in its queue; leaves the queue when destroyed.
class WaitTicket {
 public:
  WaitTicket() = default;
  WaitTicket(CircuitBreakers& owner, std::string key, CircuitWaiter& waiter)
      : owner_(&owner), key_(std::move(key)), waiter_(&waiter) {}
  WaitTicket(WaitTicket&& other) noexcept { *this = std::move(other); }
  WaitTicket& operator=(WaitTicket&& other) noexcept;
  WaitTicket(const WaitTicket&) = delete;
  WaitTicket& operator=(const WaitTicket&) = delete;
  ~WaitTicket() { leave(); }

  explicit operator bool() const { return waiter_ != nullptr; }

 private:
  void leave();

  CircuitBreakers* owner_ = nullptr;
  std::string key_;
  CircuitWaiter* waiter_ = nullptr;
};

class CircuitBreakers {
 public:
  explicit CircuitBreakers(event_base* base);
  ~CircuitBreakers();
  CircuitBreakers(const CircuitBreakers&) = delete;
  CircuitBreakers& operator=(const CircuitBreakers&) = delete;

  ClusterCircuit& of(const std::string& cluster) { return clusters_[cluster]; }

  // Queues `waiter` for a connection of `key` (at the front when it was already first in line).
  WaitTicket wait(const std::string& key, CircuitWaiter& waiter, bool front);

  // A connection was parked or a counter went down: waiters get another try, from the event loop
  // (never inside the callback that freed the capacity).
  void released();

 private:
  friend class WaitTicket;
  void leave(const std::string& key, CircuitWaiter* waiter);
  static void onWake(evutil_socket_t, short, void* arg);

  std::unordered_map<std::string, ClusterCircuit> clusters_;  // node-based: slots keep pointers
  std::unordered_map<std::string, std::deque<CircuitWaiter*>> waiting_;
  event* wake_;
};

}  // namespace sluice::proxy
