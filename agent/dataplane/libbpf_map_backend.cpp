#include "libbpf_map_backend.h"

#include <bpf/bpf.h>
#include <linux/bpf.h>

#include <cerrno>
#include <string>
#include <vector>

namespace sluice::dataplane {
namespace {

Status checkSizes(std::string_view name, const LibbpfMapBackend::MapFd& m, size_t key,
                  size_t value) {
  if (m.fd < 0) {
    return Error::fromErrno(EBADF, std::string(name) + ": map not open");
  }
  if (key != m.keySize || (value != 0 && value != m.valueSize)) {
    return Error::fromErrno(EINVAL, std::string(name) + ": key/value size does not match the map");
  }
  return okStatus();
}

}  // namespace

Status LibbpfMapBackend::upsert(MapId map, Bytes key, Bytes value, UpdateMode mode) {
  if (Status st = checkSizes(mapName(map), fd(map), key.size(), value.size()); !st.ok()) {
    return st;
  }
  int err = bpf_map_update_elem(fd(map).fd, key.data(), value.data(),
                                mode == UpdateMode::NoExist ? BPF_NOEXIST : BPF_ANY);
  if (err) {
    return Error::fromErrno(errno, std::string(mapName(map)) + ": update");
  }
  return okStatus();
}

Status LibbpfMapBackend::erase(MapId map, Bytes key) {
  if (Status st = checkSizes(mapName(map), fd(map), key.size(), 0); !st.ok()) {
    return st;
  }
  if (bpf_map_delete_elem(fd(map).fd, key.data()) && errno != ENOENT) {
    return Error::fromErrno(errno, std::string(mapName(map)) + ": delete");
  }
  return okStatus();
}

Result<bool> LibbpfMapBackend::lookup(MapId map, Bytes key, std::span<uint8_t> value) {
  if (Status st = checkSizes(mapName(map), fd(map), key.size(), value.size()); !st.ok()) {
    return st.error();
  }
  if (bpf_map_lookup_elem(fd(map).fd, key.data(), value.data())) {
    if (errno == ENOENT) {
      return false;
    }
    return Error::fromErrno(errno, std::string(mapName(map)) + ": lookup");
  }
  return true;
}

Status LibbpfMapBackend::forEach(MapId map, const std::function<void(Bytes, Bytes)>& visit) {
  const MapFd& m = fd(map);
  if (m.fd < 0) {
    return Error::fromErrno(EBADF, std::string(mapName(map)) + ": map not open");
  }
  // Keys first, then values: deleting nothing while walking keeps get_next_key well defined.
  std::vector<std::vector<uint8_t>> keys;
  std::vector<uint8_t> cur(m.keySize), next(m.keySize);
  const void* prev = nullptr;
  while (bpf_map_get_next_key(m.fd, prev, next.data()) == 0) {
    keys.push_back(next);
    cur = next;
    prev = cur.data();
  }
  if (errno != ENOENT) {
    return Error::fromErrno(errno, std::string(mapName(map)) + ": iterate");
  }
  std::vector<uint8_t> value(m.valueSize);
  for (const auto& k : keys) {
    if (bpf_map_lookup_elem(m.fd, k.data(), value.data())) {
      if (errno == ENOENT) {
        continue;  // removed by the kernel meanwhile (only LRU maps do)
      }
      return Error::fromErrno(errno, std::string(mapName(map)) + ": read");
    }
    visit(Bytes(k), Bytes(value));
  }
  return okStatus();
}

}  // namespace sluice::dataplane
