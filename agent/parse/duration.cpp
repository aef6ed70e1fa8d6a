#include "duration.h"

#include <array>
#include <cstdint>
#include <limits>

namespace sluice::parse {
namespace {

struct Unit {
  std::string_view name;
  uint64_t nanos;
};

// Longest names first so "ms" is not read as "m" followed by garbage.
constexpr std::array<Unit, 8> kUnits{{{"ns", 1},
                                      {"us", 1'000},
                                      {"\xC2\xB5s", 1'000},  // U+00B5 micro sign
                                      {"\xCE\xBCs", 1'000},  // U+03BC greek mu
                                      {"ms", 1'000'000},
                                      {"s", 1'000'000'000},
                                      {"m", 60'000'000'000},
                                      {"h", 3'600'000'000'000}}};

constexpr uint64_t kMaxNanos = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());

bool isDigit(char c) {
  return c >= '0' && c <= '9';
}

}  // namespace

std::optional<model::Duration> parseDuration(std::string_view s) {
  bool negative = false;
  if (!s.empty() && (s.front() == '-' || s.front() == '+')) {
    negative = s.front() == '-';
    s.remove_prefix(1);
  }
  if (s == "0") {
    return model::Duration(0);
  }
  if (s.empty()) {
    return std::nullopt;
  }
  uint64_t total = 0;
  while (!s.empty()) {
    // Integer part; Go keeps reading digits after overflow only to reject the value.
    uint64_t whole = 0;
    size_t wholeDigits = 0;
    while (!s.empty() && isDigit(s.front())) {
      if (whole > (kMaxNanos - 9) / 10) {
        return std::nullopt;
      }
      whole = whole * 10 + static_cast<uint64_t>(s.front() - '0');
      ++wholeDigits;
      s.remove_prefix(1);
    }
    // Fraction: digits beyond what int64 nanoseconds can resolve are dropped, as in Go.
    uint64_t frac = 0;
    uint64_t scale = 1;
    size_t fracDigits = 0;
    if (!s.empty() && s.front() == '.') {
      s.remove_prefix(1);
      while (!s.empty() && isDigit(s.front())) {
        if (scale < 1'000'000'000'000'000'000ULL) {
          frac = frac * 10 + static_cast<uint64_t>(s.front() - '0');
          scale *= 10;
        }
        ++fracDigits;
        s.remove_prefix(1);
      }
    }
    if (wholeDigits == 0 && fracDigits == 0) {
      return std::nullopt;
    }
    const Unit* unit = nullptr;
    for (const Unit& u : kUnits) {
      if (s.substr(0, u.name.size()) == u.name) {
        unit = &u;
        break;
      }
    }
    if (unit == nullptr) {
      return std::nullopt;
    }
    s.remove_prefix(unit->name.size());
    if (whole > kMaxNanos / unit->nanos) {
      return std::nullopt;
    }
    uint64_t value = whole * unit->nanos;
    if (frac > 0) {
      // frac/scale * nanos without overflowing: nanos ≤ 3.6e12 and frac < scale ≤ 1e18, so split.
      long double part = static_cast<long double>(frac) * static_cast<long double>(unit->nanos) /
                         static_cast<long double>(scale);
      value += static_cast<uint64_t>(part);
      if (value > kMaxNanos) {
        return std::nullopt;
      }
    }
    if (total > kMaxNanos - value) {
      return std::nullopt;
    }
    total += value;
  }
  auto signedTotal = static_cast<int64_t>(total);
  return model::Duration(negative ? -signedTotal : signedTotal);
}

}  // namespace sluice::parse
