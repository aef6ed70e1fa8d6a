#include "histogram.h"

#include <algorithm>
#include <bit>
#include <cmath>

namespace sluice::bench {

std::size_t LogHistogram::bucketIndex(std::uint64_t value) {
  if (value < kSubBuckets) {
    return static_cast<std::size_t>(value);
  }
  const int exponent = 63 - std::countl_zero(value);
  const int shift = exponent - kSubBucketBits;
  const std::uint64_t mantissa = value >> shift; // in [kSubBuckets, 2 * kSubBuckets)
  return static_cast<std::size_t>(kSubBuckets * (shift + 1) + (mantissa - kSubBuckets));
}

std::uint64_t LogHistogram::bucketLowest(std::size_t index) {
  if (index < kSubBuckets) {
    return index;
  }
  const std::uint64_t shift = index / kSubBuckets - 1;
  const std::uint64_t mantissa = kSubBuckets + index % kSubBuckets;
  return mantissa << shift;
}

std::uint64_t LogHistogram::bucketHighest(std::size_t index) {
  if (index < kSubBuckets) {
    return index;
  }
  const std::uint64_t shift = index / kSubBuckets - 1;
  const std::uint64_t width = std::uint64_t{1} << shift;
  return bucketLowest(index) + (width - 1);
}

void LogHistogram::record(std::uint64_t value) {
  ++counts_[bucketIndex(value)];
  ++count_;
  min_ = std::min(min_, value);
  max_ = std::max(max_, value);
  sum_ += static_cast<long double>(value);
}

void LogHistogram::merge(const LogHistogram& other) {
  for (std::size_t i = 0; i < kBucketCount; ++i) {
    counts_[i] += other.counts_[i];
  }
  count_ += other.count_;
  min_ = std::min(min_, other.min_);
  max_ = std::max(max_, other.max_);
  sum_ += other.sum_;
}

void LogHistogram::reset() { *this = LogHistogram{}; }

double LogHistogram::mean() const {
  return count_ == 0 ? 0.0 : static_cast<double>(sum_ / static_cast<long double>(count_));
}

std::uint64_t LogHistogram::percentile(double p) const {
  if (count_ == 0) {
    return 0;
  }
  p = std::clamp(p, 0.0, 100.0);
  auto rank = static_cast<std::uint64_t>(std::ceil(p / 100.0 * static_cast<double>(count_)));
  rank = std::clamp<std::uint64_t>(rank, 1, count_);
  std::uint64_t seen = 0;
  for (std::size_t i = 0; i < kBucketCount; ++i) {
    seen += counts_[i];
    if (seen >= rank) {
      return std::clamp(bucketHighest(i), min_, max_);
    }
  }
  return max_;
}

std::vector<std::pair<double, std::uint64_t>> LogHistogram::spectrum() const {
  std::vector<std::pair<double, std::uint64_t>> points;
  if (count_ == 0) {
    return points;
  }
  // Four points per halving of the tail keep the curve smooth on a 1/(1-p) axis; the tail stops
  // where fewer than one sample would remain, since deeper percentiles would just repeat the max.
  for (int step = 0; step <= 200; ++step) {
    const double tail = std::pow(2.0, -step / 4.0);
    const double p = 100.0 * (1.0 - tail);
    if (tail * static_cast<double>(count_) < 1.0) {
      break;
    }
    points.emplace_back(p, percentile(p));
  }
  points.emplace_back(100.0, max_);
  return points;
}

} // namespace sluice::bench
