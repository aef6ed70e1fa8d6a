#pragma once
// MapBackend: the only way the dataplane touches BPF maps. The applier writes through it, the fake
// records every write (unit tests replay and check the order), and LibbpfMapBackend calls the kernel.
// Keys and values are raw bytes of the structs in bpf/abi/sluice_abi.h; this header does not include
// that file so that only agent/dataplane depends on the ABI.
#include <sluice/result.h>

#include <cstdint>
#include <cstring>
#include <functional>
#include <span>
#include <string_view>
#include <type_traits>

namespace sluice::dataplane {

// The maps the agent writes (sl_sock_v1, sl_revnat_v1, sl_handoff_v1 and sl_stats_v1 are the kernel's).
enum class MapId : uint8_t { Svc, Route, Group, Slot, Backend, Conns, Client, Cfg };
inline constexpr size_t kMapCount = 8;
inline constexpr MapId kAllMaps[kMapCount] = {MapId::Svc,     MapId::Route, MapId::Group,
                                              MapId::Slot,    MapId::Backend, MapId::Conns,
                                              MapId::Client,  MapId::Cfg};

// The map's name in the BPF object (ABI: versioned, <= 15 characters).
std::string_view mapName(MapId map);

enum class UpdateMode : uint8_t {
  Any,       // create or replace
  NoExist,   // create only; an existing entry is left alone and reported as EEXIST
};

using Bytes = std::span<const uint8_t>;

class MapBackend {
 public:
  virtual ~MapBackend() = default;

  [[nodiscard]] virtual Status upsert(MapId map, Bytes key, Bytes value, UpdateMode mode) = 0;
  // Idempotent: erasing a missing key succeeds.
  [[nodiscard]] virtual Status erase(MapId map, Bytes key) = 0;
  // Copies the value into `value` (sized to the map's value) and returns true, or false if absent.
  [[nodiscard]] virtual Result<bool> lookup(MapId map, Bytes key, std::span<uint8_t> value) = 0;
  // Visits every entry; the callback must not write to the same map.
  [[nodiscard]] virtual Status forEach(MapId map,
                                       const std::function<void(Bytes key, Bytes value)>& visit) = 0;
};

// Byte views of ABI structs (trivially copyable, padding zeroed by the caller).
template <typename T>
Bytes asBytes(const T& v) {
  static_assert(std::is_trivially_copyable_v<T>);
  return Bytes(reinterpret_cast<const uint8_t*>(&v), sizeof(T));
}

template <typename T>
T fromBytes(Bytes b) {
  static_assert(std::is_trivially_copyable_v<T>);
  T v{};
  std::memcpy(&v, b.data(), b.size() < sizeof(T) ? b.size() : sizeof(T));
  return v;
}

}  // namespace sluice::dataplane
