#pragma once
// Deadline-based waiting: every wait in the end-to-end tests has an upper bound and polls a
// condition, so a slow machine makes a test slower, not flaky, and a hang becomes a failure.
#include <chrono>
#include <thread>

namespace sluice::e2e {

using Clock = std::chrono::steady_clock;

inline Clock::time_point deadlineIn(std::chrono::milliseconds d) { return Clock::now() + d; }

// Polls `pred` every `step` until it returns true (→ true) or `deadline` passes (→ false). The
// predicate is evaluated once more at the deadline so a last-moment success is not lost.
template <typename Pred>
bool waitUntil(Clock::time_point deadline, Pred&& pred,
               std::chrono::milliseconds step = std::chrono::milliseconds(10)) {
  for (;;) {
    if (pred()) return true;
    if (Clock::now() >= deadline) return pred();
    std::this_thread::sleep_for(step);
  }
}

}  // namespace sluice::e2e
