#pragma once
// Exponential backoff with jitter for reconnecting to the API server: the n-th consecutive failure
// waits in (base·(1−jitter), base] with base = min(max, initial·2ⁿ), so a fleet of agents that lost
// the server together does not come back in lock-step, and no wait ever exceeds `max`.
#include <chrono>
#include <cstdint>
#include <random>

namespace sluice::sources {

struct BackoffPolicy {
  std::chrono::milliseconds initial{200};
  std::chrono::milliseconds max{30'000};
  double jitter = 0.5;  // in [0, 1]
};

class Backoff {
 public:
  Backoff(BackoffPolicy policy, uint64_t seed) : policy_(policy), rng_(seed) {}

  std::chrono::milliseconds next() {
    using std::chrono::milliseconds;
    milliseconds base = policy_.max;
    if (attempts_ < 32) {
      base = std::min(policy_.max, milliseconds(policy_.initial.count() << attempts_));
    }
    ++attempts_;
    std::uniform_real_distribution<double> u(0.0, 1.0);
    double factor = 1.0 - policy_.jitter * u(rng_);
    return milliseconds(static_cast<int64_t>(static_cast<double>(base.count()) * factor));
  }
  void reset() { attempts_ = 0; }
  unsigned attempts() const { return attempts_; }

 private:
  BackoffPolicy policy_;
  std::mt19937_64 rng_;
  unsigned attempts_ = 0;
};

}  // namespace sluice::sources
