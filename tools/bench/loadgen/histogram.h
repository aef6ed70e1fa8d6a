#pragma once

#include <array>
#include <cstdint>
#include <utility>
#include <vector>

namespace sluice::bench {

// Log-bucketed histogram in the spirit of HdrHistogram: values below kSubBuckets are exact, larger
// values land in one of kSubBuckets linear buckets per power of two, so a reported value is never
// more than 1/kSubBuckets (0.78 %) above the true one. Fixed size, no allocation while recording,
// which keeps recording cheap inside the load generator's event loop.
class LogHistogram {
public:
  static constexpr int kSubBucketBits = 7;
  static constexpr std::uint64_t kSubBuckets = 1u << kSubBucketBits;
  static constexpr std::size_t kBucketCount = kSubBuckets * (64 - kSubBucketBits + 1);

  void record(std::uint64_t value);
  void merge(const LogHistogram& other);
  void reset();

  [[nodiscard]] std::uint64_t count() const { return count_; }
  [[nodiscard]] std::uint64_t min() const { return count_ == 0 ? 0 : min_; }
  [[nodiscard]] std::uint64_t max() const { return max_; }
  [[nodiscard]] double mean() const;

  // Smallest recorded bucket whose cumulative count reaches ceil(p/100 * count), reported as the
  // bucket's highest value clamped to the exact maximum (HdrHistogram's "highest equivalent value").
  // p is clamped to [0, 100]; an empty histogram reports 0.
  [[nodiscard]] std::uint64_t percentile(double p) const;

  // (percentile, value) pairs at 1 - 10^-k steps plus intermediate points, for spectrum plots.
  [[nodiscard]] std::vector<std::pair<double, std::uint64_t>> spectrum() const;

  static std::size_t bucketIndex(std::uint64_t value);
  static std::uint64_t bucketLowest(std::size_t index);
  static std::uint64_t bucketHighest(std::size_t index);

private:
  std::array<std::uint64_t, kBucketCount> counts_{};
  std::uint64_t count_ = 0;
  std::uint64_t min_ = UINT64_MAX;
  std::uint64_t max_ = 0;
  long double sum_ = 0;
};

} // namespace sluice::bench
