#pragma once

#include "histogram.h"

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace sluice::bench {

enum class LoadMode { Crr, Http };

struct ClientOptions {
  LoadMode mode = LoadMode::Crr;
  std::string target;                // ip:port
  double rate = 0;                   // requests/s; 0 = closed-loop saturation
  int connections = 1;               // http: keep-alive connections; crr: max in flight
  double durationS = 5;
  double warmupS = 1;
  double timeoutS = 2;               // a request older than this counts as failed
  std::vector<std::string> expectPods; // ip:port identities allowed to answer; empty = any
  std::string path = "/";            // request path; the pods answer "/bytes/N" with N bytes
};

// The request sent on every connection (crr: with "Connection: close").
std::string requestFor(const std::string& path, bool close);

// Parses one complete response off the front of buf (erasing it) and returns true, or returns
// false while it is incomplete. untilEof: the response ends at EOF (crr). size: bytes taken.
// closing: the response says "Connection: close" (nginx does after keepalive_requests), so the
// connection must not carry another request.
bool takeResponse(std::string& buf, bool untilEof, bool eof, std::string& pod, bool& okStatus,
                  std::size_t& size, bool& closing);

struct ClientResult {
  std::uint64_t ok = 0;
  std::uint64_t okAll = 0;     // warm-up included: divides CPU counters sampled around the process
  std::uint64_t misrouted = 0;
  std::map<std::string, std::uint64_t> failures; // reason → count
  std::map<std::string, std::uint64_t> pods;     // X-Pod identity → responses
  std::uint64_t notSent = 0;   // intended sends that never left before the run ended (overload)
  std::uint64_t bytes = 0;     // response bytes (head and body) of the counted requests
  std::uint64_t bytesAll = 0;  // the same, warm-up included
  double elapsedS = 0;
  LogHistogram latencyNs;      // intended send time → full response (coordinated-omission corrected)
  LogHistogram connectNs;      // crr: intended send time → connection established
};

// Runs warm-up then the measured period; only requests whose intended send time falls inside the
// measured period are counted.
ClientResult runClient(const ClientOptions& options);

} // namespace sluice::bench
