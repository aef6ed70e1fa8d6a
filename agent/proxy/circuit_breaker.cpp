#include "circuit_breaker.h"

#include <algorithm>
#include <vector>

namespace sluice::proxy {

CircuitSlot& CircuitSlot::operator=(CircuitSlot&& other) noexcept {
  if (this != &other) {
    release();
    owner_ = std::exchange(other.owner_, nullptr);
    counter_ = std::exchange(other.counter_, nullptr);
  }
  return *this;
}

void CircuitSlot::release() {
  if (counter_) {
    --*counter_;
    counter_ = nullptr;
    owner_->released();
  }
}

WaitTicket& WaitTicket::operator=(WaitTicket&& other) noexcept {
  if (this != &other) {
    leave();
    owner_ = std::exchange(other.owner_, nullptr);
    key_ = std::move(other.key_);
    waiter_ = std::exchange(other.waiter_, nullptr);
  }
  return *this;
}

void WaitTicket::leave() {
  if (waiter_) {
    owner_->leave(key_, waiter_);
    waiter_ = nullptr;
  }
}

CircuitBreakers::CircuitBreakers(event_base* base) : wake_(event_new(base, -1, 0, onWake, this)) {}

CircuitBreakers::~CircuitBreakers() { event_free(wake_); }

WaitTicket CircuitBreakers::wait(const std::string& key, CircuitWaiter& waiter, bool front) {
  auto& queue = waiting_[key];
  if (front) {
    queue.push_front(&waiter);
  } else {
    queue.push_back(&waiter);
  }
  return WaitTicket(*this, key, waiter);
}

void CircuitBreakers::leave(const std::string& key, CircuitWaiter* waiter) {
  auto it = waiting_.find(key);
  if (it == waiting_.end()) {
    return;
  }
  std::erase(it->second, waiter);
  if (it->second.empty()) {
    waiting_.erase(it);
  }
}

void CircuitBreakers::released() {
  if (!waiting_.empty()) {
    event_active(wake_, EV_TIMEOUT, 0);
  }
}

// Each queue's first waiter tries again, then the next, until one has to wait again: the capacity
// that was freed is then used up. Resuming a waiter may add or remove queues, so keys are
// snapshotted and every queue looked up again.
void CircuitBreakers::onWake(evutil_socket_t, short, void* arg) {
  auto* self = static_cast<CircuitBreakers*>(arg);
  std::vector<std::string> keys;
  keys.reserve(self->waiting_.size());
  for (const auto& [key, queue] : self->waiting_) {
    keys.push_back(key);
  }
  for (const auto& key : keys) {
    for (;;) {
      auto it = self->waiting_.find(key);
      if (it == self->waiting_.end()) {
        break;
      }
      CircuitWaiter* waiter = it->second.front();
      self->leave(key, waiter);
      if (!waiter->resumeUpstream()) {
        break;
      }
    }
  }
}

}  // namespace sluice::proxy
