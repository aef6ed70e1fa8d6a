#include "histogram.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <random>

namespace sluice::bench {
namespace {

TEST(LogHistogram, SmallValuesAreExact) {
  for (std::uint64_t v = 0; v < LogHistogram::kSubBuckets; ++v) {
    const auto i = LogHistogram::bucketIndex(v);
    EXPECT_EQ(LogHistogram::bucketLowest(i), v);
    EXPECT_EQ(LogHistogram::bucketHighest(i), v);
  }
}

TEST(LogHistogram, BucketsTileTheRangeWithoutGaps) {
  for (std::size_t i = 0; i + 1 < LogHistogram::kBucketCount; ++i) {
    ASSERT_EQ(LogHistogram::bucketHighest(i) + 1, LogHistogram::bucketLowest(i + 1)) << "bucket " << i;
  }
  EXPECT_EQ(LogHistogram::bucketHighest(LogHistogram::kBucketCount - 1), UINT64_MAX);
}

TEST(LogHistogram, EveryValueFallsInsideItsBucketWithinOnePercent) {
  std::mt19937_64 rng(7);
  for (int n = 0; n < 100000; ++n) {
    const std::uint64_t v = rng() >> (rng() % 64);
    const auto i = LogHistogram::bucketIndex(v);
    const auto lo = LogHistogram::bucketLowest(i);
    const auto hi = LogHistogram::bucketHighest(i);
    ASSERT_LE(lo, v);
    ASSERT_GE(hi, v);
    ASSERT_LE(static_cast<double>(hi - lo), 0.01 * static_cast<double>(v) + 1.0) << v;
  }
}

TEST(LogHistogram, EmptyHistogramReportsZero) {
  LogHistogram h;
  EXPECT_EQ(h.count(), 0u);
  EXPECT_EQ(h.percentile(50), 0u);
  EXPECT_EQ(h.min(), 0u);
  EXPECT_DOUBLE_EQ(h.mean(), 0.0);
  EXPECT_TRUE(h.spectrum().empty());
}

TEST(LogHistogram, PercentilesUseNearestRankOnExactValues) {
  LogHistogram h;
  for (std::uint64_t v = 1; v <= 100; ++v) {
    h.record(v);
  }
  EXPECT_EQ(h.percentile(0), 1u);
  EXPECT_EQ(h.percentile(1), 1u);
  EXPECT_EQ(h.percentile(50), 50u);
  EXPECT_EQ(h.percentile(50.5), 51u);
  EXPECT_EQ(h.percentile(99), 99u);
  EXPECT_EQ(h.percentile(100), 100u);
  EXPECT_EQ(h.percentile(250), 100u);
  EXPECT_DOUBLE_EQ(h.mean(), 50.5);
}

TEST(LogHistogram, PercentilesOfLargeValuesStayWithinOnePercent) {
  LogHistogram h;
  // 1 us .. 10 ms in ns, uniform: the true p-th percentile is p% of the range.
  const std::uint64_t lo = 1000;
  const std::uint64_t hi = 10'000'000;
  const std::uint64_t steps = 100000;
  for (std::uint64_t k = 0; k < steps; ++k) {
    h.record(lo + (hi - lo) * k / (steps - 1));
  }
  for (double p : {10.0, 50.0, 90.0, 99.0, 99.9}) {
    const double truth = static_cast<double>(lo) + static_cast<double>(hi - lo) * p / 100.0;
    const double got = static_cast<double>(h.percentile(p));
    EXPECT_NEAR(got, truth, truth * 0.01) << "p" << p;
    EXPECT_GE(got, truth * 0.999) << "reported values are never below the truth, p" << p;
  }
  EXPECT_EQ(h.percentile(100), hi);
  EXPECT_EQ(h.min(), lo);
}

TEST(LogHistogram, MergeEqualsRecordingEverythingInOne) {
  LogHistogram a;
  LogHistogram b;
  LogHistogram all;
  std::mt19937_64 rng(3);
  for (int n = 0; n < 5000; ++n) {
    const std::uint64_t v = rng() % 1'000'000;
    (n % 2 ? a : b).record(v);
    all.record(v);
  }
  a.merge(b);
  EXPECT_EQ(a.count(), all.count());
  EXPECT_EQ(a.min(), all.min());
  EXPECT_EQ(a.max(), all.max());
  for (double p : {1.0, 25.0, 50.0, 75.0, 99.0, 99.99}) {
    EXPECT_EQ(a.percentile(p), all.percentile(p)) << p;
  }
}

TEST(LogHistogram, SpectrumIsMonotonicAndEndsAtTheMax) {
  LogHistogram h;
  std::mt19937_64 rng(11);
  std::exponential_distribution<double> latency(1.0 / 50000.0);
  for (int n = 0; n < 20000; ++n) {
    h.record(static_cast<std::uint64_t>(latency(rng)));
  }
  const auto points = h.spectrum();
  ASSERT_GE(points.size(), 10u);
  for (std::size_t i = 1; i < points.size(); ++i) {
    EXPECT_GT(points[i].first, points[i - 1].first);
    EXPECT_GE(points[i].second, points[i - 1].second);
  }
  EXPECT_DOUBLE_EQ(points.back().first, 100.0);
  EXPECT_EQ(points.back().second, h.max());
  // The deepest percentile before the max must still be backed by at least one sample.
  EXPECT_GE((100.0 - points[points.size() - 2].first) / 100.0 * 20000.0, 1.0);
}

TEST(LogHistogram, ResetForgetsEverything) {
  LogHistogram h;
  h.record(5);
  h.record(500000);
  h.reset();
  EXPECT_EQ(h.count(), 0u);
  EXPECT_EQ(h.max(), 0u);
  EXPECT_EQ(h.percentile(99), 0u);
}

} // namespace
} // namespace sluice::bench
