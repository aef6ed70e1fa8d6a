#pragma once
// FakeMapBackend: maps as ordered byte-string tables, a log of every write, an optional hook run after
// each write (tests check the intermediate states there) and fault injection.
#include <sluice/dataplane/map_backend.h>

#include <array>
#include <cerrno>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace sluice::dataplane::testing {

class FakeMapBackend : public MapBackend {
 public:
  struct Op {
    enum Kind { Upsert, Erase } kind;
    MapId map;
    std::string key;
    std::string value;
  };
  using Table = std::map<std::string, std::string>;

  Status upsert(MapId map, Bytes key, Bytes value, UpdateMode mode) override {
    if (Status st = maybeFail(); !st.ok()) {
      return st;
    }
    std::string k = str(key);
    if (mode == UpdateMode::NoExist && table(map).contains(k)) {
      return Error::fromErrno(EEXIST, "fake upsert");
    }
    table(map)[k] = str(value);
    log.push_back({Op::Upsert, map, k, str(value)});
    if (afterWrite) {
      afterWrite();
    }
    return okStatus();
  }
  Status erase(MapId map, Bytes key) override {
    if (Status st = maybeFail(); !st.ok()) {
      return st;
    }
    table(map).erase(str(key));
    log.push_back({Op::Erase, map, str(key), {}});
    if (afterWrite) {
      afterWrite();
    }
    return okStatus();
  }
  Result<bool> lookup(MapId map, Bytes key, std::span<uint8_t> value) override {
    auto it = table(map).find(str(key));
    if (it == table(map).end()) {
      return false;
    }
    std::copy_n(it->second.begin(), std::min(it->second.size(), value.size()), value.begin());
    return true;
  }
  Status forEach(MapId map, const std::function<void(Bytes, Bytes)>& visit) override {
    for (const auto& [k, v] : table(map)) {
      visit(bytes(k), bytes(v));
    }
    return okStatus();
  }

  Table& table(MapId map) { return tables_[static_cast<size_t>(map)]; }
  const Table& table(MapId map) const { return tables_[static_cast<size_t>(map)]; }

  // The next `n` writes succeed, the one after fails with EIO (once).
  void failAfter(int n) { failIn_ = n; }

  std::vector<Op> log;
  std::function<void()> afterWrite;

  static std::string str(Bytes b) { return std::string(reinterpret_cast<const char*>(b.data()), b.size()); }
  static Bytes bytes(const std::string& s) {
    return Bytes(reinterpret_cast<const uint8_t*>(s.data()), s.size());
  }

 private:
  Status maybeFail() {
    if (failIn_ < 0) {
      return okStatus();
    }
    if (failIn_-- == 0) {
      return Error::fromErrno(EIO, "fake: injected failure");
    }
    return okStatus();
  }

  std::array<Table, kMapCount> tables_;
  int failIn_ = -1;
};

}  // namespace sluice::dataplane::testing
