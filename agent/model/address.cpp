#include <sluice/net/address.h>

#include <arpa/inet.h>

#include <charconv>
#include <cstring>

namespace sluice::net {

std::optional<IpAddress> IpAddress::parse(std::string_view text) {
  if (text.empty() || text.size() >= INET6_ADDRSTRLEN) {
    return std::nullopt;
  }
  char buf[INET6_ADDRSTRLEN] = {};
  std::memcpy(buf, text.data(), text.size());
  IpAddress ip;
  if (inet_pton(AF_INET, buf, ip.bytes_.data()) == 1) {
    ip.family_ = Family::V4;
    return ip;
  }
  if (inet_pton(AF_INET6, buf, ip.bytes_.data()) == 1) {
    ip.family_ = Family::V6;
    return ip;
  }
  return std::nullopt;
}

IpAddress IpAddress::v4(uint32_t hostOrder) {
  IpAddress ip;
  ip.bytes_[0] = static_cast<uint8_t>(hostOrder >> 24);
  ip.bytes_[1] = static_cast<uint8_t>(hostOrder >> 16);
  ip.bytes_[2] = static_cast<uint8_t>(hostOrder >> 8);
  ip.bytes_[3] = static_cast<uint8_t>(hostOrder);
  return ip;
}

std::string IpAddress::toString() const {
  char buf[INET6_ADDRSTRLEN] = {};
  inet_ntop(isV4() ? AF_INET : AF_INET6, bytes_.data(), buf, sizeof(buf));
  return buf;
}

std::optional<Cidr> Cidr::parse(std::string_view text) {
  auto slash = text.find('/');
  auto ip = IpAddress::parse(text.substr(0, slash));
  if (!ip) {
    return std::nullopt;
  }
  const unsigned maxLen = ip->isV4() ? 32 : 128;
  unsigned len = maxLen;
  if (slash != std::string_view::npos) {
    auto digits = text.substr(slash + 1);
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), len);
    if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size() || len > maxLen) {
      return std::nullopt;
    }
  }
  return Cidr{*ip, static_cast<uint8_t>(len)};
}

bool Cidr::contains(const IpAddress& ip) const {
  if (ip.family() != base.family()) {
    return false;
  }
  unsigned full = prefixLen / 8;
  if (std::memcmp(ip.bytes().data(), base.bytes().data(), full) != 0) {
    return false;
  }
  unsigned rest = prefixLen % 8;
  if (rest == 0) {
    return true;
  }
  uint8_t mask = static_cast<uint8_t>(0xff << (8 - rest));
  return (ip.bytes()[full] & mask) == (base.bytes()[full] & mask);
}

}  // namespace sluice::net
