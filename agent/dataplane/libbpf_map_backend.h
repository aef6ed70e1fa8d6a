#pragma once
// MapBackend over BPF map fds (libbpf's low-level bpf_map_* calls). The fds belong to the skeleton,
// which outlives this object.
#include <sluice/dataplane/map_backend.h>

#include <array>

namespace sluice::dataplane {

class LibbpfMapBackend : public MapBackend {
 public:
  struct MapFd {
    int fd = -1;
    uint32_t keySize = 0;
    uint32_t valueSize = 0;
  };
  explicit LibbpfMapBackend(const std::array<MapFd, kMapCount>& fds) : fds_(fds) {}

  Status upsert(MapId map, Bytes key, Bytes value, UpdateMode mode) override;
  Status erase(MapId map, Bytes key) override;
  Result<bool> lookup(MapId map, Bytes key, std::span<uint8_t> value) override;
  Status forEach(MapId map, const std::function<void(Bytes, Bytes)>& visit) override;

 private:
  const MapFd& fd(MapId map) const { return fds_[static_cast<size_t>(map)]; }
  std::array<MapFd, kMapCount> fds_;
};

}  // namespace sluice::dataplane
