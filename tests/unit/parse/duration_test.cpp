#include "duration.h"

#include <gtest/gtest.h>

namespace sluice::parse {
namespace {

using std::chrono::hours;
using std::chrono::microseconds;
using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::nanoseconds;
using std::chrono::seconds;

struct Valid {
  const char* text;
  model::Duration want;
};

TEST(ParseDuration, AcceptsGoSyntax) {
  const Valid cases[] = {
      {"0", nanoseconds(0)},
      {"0s", nanoseconds(0)},
      {"1h", hours(1)},
      {"1.5s", milliseconds(1500)},
      {"300ms", milliseconds(300)},
      {"1m30s", seconds(90)},
      {"10us", microseconds(10)},
      {"10\xC2\xB5s", microseconds(10)},
      {"100ns", nanoseconds(100)},
      {"-2s", seconds(-2)},
      {"+5m", minutes(5)},
      {".5s", milliseconds(500)},
      {"1.s", seconds(1)},
      {"2h45m0.5s", hours(2) + minutes(45) + milliseconds(500)},
      {"0.000000001s", nanoseconds(1)},
      {"2562047h", hours(2562047)},
  };
  for (const auto& c : cases) {
    auto d = parseDuration(c.text);
    ASSERT_TRUE(d.has_value()) << c.text;
    EXPECT_EQ(*d, c.want) << c.text;
  }
}

TEST(ParseDuration, RejectsWhatGoRejects) {
  for (const char* text : {"", "s", "1", "10", "1x", "1.5", "-", ".s", "1s2", "1 s", "1S", "abc",
                           "2562048h", "9223372036854775808ns", "1e3s", "10d"}) {
    EXPECT_FALSE(parseDuration(text).has_value()) << text;
  }
}

}  // namespace
}  // namespace sluice::parse
