#pragma once

#include <netinet/in.h>

#include <cstdint>
#include <ctime>
#include <optional>
#include <string>

namespace sluice::bench {

inline std::uint64_t monotonicNs() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000'000ull + static_cast<std::uint64_t>(ts.tv_nsec);
}

// "a.b.c.d:port" → sockaddr_in; IPv4 only because the bench topology is IPv4 only.
std::optional<sockaddr_in> parseEndpoint(const std::string& text);
std::string formatEndpoint(const sockaddr_in& addr);

} // namespace sluice::bench
