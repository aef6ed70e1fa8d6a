#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace sluice::bench {

constexpr std::uint64_t kMaxBulkBody = 1ull << 30;

// The body size a request head asks for with "GET /bytes/N" (bulk-throughput runs), capped at
// kMaxBulkBody; 0 for any other request, which gets the small identity body.
std::uint64_t bulkBodySize(const std::string& head);

// Tiny HTTP/1.1 responder for the pods: every response carries "X-Pod: <local ip:port>" so the
// client can count which pod answered and detect misrouting; "GET /bytes/N" gets an N-byte body.
// Runs until SIGTERM/SIGINT.
int runEchoServer(const std::vector<std::string>& listen);

} // namespace sluice::bench
