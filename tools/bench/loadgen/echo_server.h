#pragma once

#include <string>
#include <vector>

namespace sluice::bench {

// Tiny HTTP/1.1 responder for the pods: every response carries "X-Pod: <local ip:port>" so the
// client can count which pod answered and detect misrouting. Runs until SIGTERM/SIGINT.
int runEchoServer(const std::vector<std::string>& listen);

} // namespace sluice::bench
