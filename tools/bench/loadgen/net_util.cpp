#include "net_util.h"

#include <arpa/inet.h>

#include <charconv>

namespace sluice::bench {

std::optional<sockaddr_in> parseEndpoint(const std::string& text) {
  const auto colon = text.rfind(':');
  if (colon == std::string::npos) {
    return std::nullopt;
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  if (inet_pton(AF_INET, text.substr(0, colon).c_str(), &addr.sin_addr) != 1) {
    return std::nullopt;
  }
  unsigned port = 0;
  const char* first = text.data() + colon + 1;
  const char* last = text.data() + text.size();
  auto [end, ec] = std::from_chars(first, last, port);
  if (ec != std::errc{} || end != last || port == 0 || port > 65535) {
    return std::nullopt;
  }
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  return addr;
}

std::string formatEndpoint(const sockaddr_in& addr) {
  char ip[INET_ADDRSTRLEN] = {};
  inet_ntop(AF_INET, &addr.sin_addr, ip, sizeof ip);
  return std::string(ip) + ":" + std::to_string(ntohs(addr.sin_port));
}

} // namespace sluice::bench
