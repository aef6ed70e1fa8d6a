#pragma once
// IP address value type (host-independent bytes, v4 or v6) with parse/format and CIDR containment.
#include <array>
#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace sluice::net {

class IpAddress {
 public:
  enum class Family : uint8_t { V4 = 4, V6 = 6 };

  static std::optional<IpAddress> parse(std::string_view text);
  static IpAddress v4(uint32_t hostOrder);

  Family family() const { return family_; }
  bool isV4() const { return family_ == Family::V4; }
  // Network-order bytes; a v4 address uses the first 4.
  const std::array<uint8_t, 16>& bytes() const { return bytes_; }
  std::string toString() const;

  friend auto operator<=>(const IpAddress&, const IpAddress&) = default;

 private:
  Family family_ = Family::V4;
  std::array<uint8_t, 16> bytes_{};
};

struct Cidr {
  IpAddress base;
  uint8_t prefixLen = 0;

  // "10.0.0.0/8", "fd00::/64" or a bare address (full-length prefix).
  static std::optional<Cidr> parse(std::string_view text);
  bool contains(const IpAddress& ip) const;
};

}  // namespace sluice::net
