#include <sluice/parse/file_cache.h>

#include "files.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <optional>

namespace sluice::parse {
namespace {

// File timestamps come from a coarse clock (a jiffy; whole seconds on some filesystems), so two
// writes of the same size within one tick leave the same stamp. A file whose mtime is this close to
// the moment it was read is read again next time instead of being trusted by its stamp (git's
// "racily clean" entries).
constexpr int64_t kRacyWindowNs = 2'000'000'000;

int64_t realtimeNs() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

}  // namespace

FileCache::RefreshStats FileCache::refresh(const std::vector<std::string>& paths) {
  RefreshStats stats;
  listing_ = Diagnostics{};
  order_ = detail::listConfigFiles(paths, listing_);
  stats.files = order_.size();
  std::map<std::string, Entry> next;
  for (const std::string& path : order_) {
    Entry entry;
    if (auto old = files_.find(path); old != files_.end()) {
      entry = std::move(old->second);
    }
    const int64_t now = realtimeNs();
    struct stat st {};
    Stamp stamp;
    if (::stat(path.c_str(), &st) == 0) {
      stamp = {st.st_dev, st.st_ino, st.st_size,
               static_cast<int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec};
    }
    if (stamp.size >= 0 && stamp == entry.stamp && !entry.racy) {
      next.emplace(path, std::move(entry));
      continue;
    }
    ParseOutput unreadable;
    std::optional<std::string> text = detail::readConfigFile(path, unreadable.diagnostics);
    if (!text) {
      entry = Entry{};
      entry.output = std::make_shared<const ParseOutput>(std::move(unreadable));  // read again next time
      ++stats.reparsed;
    } else if (entry.stamp.size >= 0 && *text == entry.content) {
      ++stats.reread;
    } else {
      entry.output = std::make_shared<const ParseOutput>(parseYaml(*text, path));
      entry.content = std::move(*text);
      ++stats.reparsed;
    }
    if (text) {
      entry.stamp = stamp;
      entry.racy = stamp.size < 0 || stamp.mtimeNs + kRacyWindowNs >= now;
    }
    next.emplace(path, std::move(entry));
  }
  files_ = std::move(next);
  return stats;
}

ParseOutput FileCache::assemble() const {
  const Generation files = generation();
  ParseOutput out;
  model::Snapshot& all = out.snapshot;
  // Sized first and copied in place: the copy is most of a reload's cost at 10,000s of objects.
  auto reserve = [&](auto member) {
    size_t n = 0;
    for (const auto& one : files) {
      n += (one->snapshot.*member).size();
    }
    (all.*member).reserve(n);
  };
  reserve(&model::Snapshot::services);
  reserve(&model::Snapshot::endpointSlices);
  reserve(&model::Snapshot::pods);
  reserve(&model::Snapshot::virtualServices);
  reserve(&model::Snapshot::destinationRules);
  out.diagnostics.append(listing_);
  for (const auto& one : files) {
    const model::Snapshot& s = one->snapshot;
    all.services.insert(all.services.end(), s.services.begin(), s.services.end());
    all.endpointSlices.insert(all.endpointSlices.end(), s.endpointSlices.begin(), s.endpointSlices.end());
    all.pods.insert(all.pods.end(), s.pods.begin(), s.pods.end());
    all.virtualServices.insert(all.virtualServices.end(), s.virtualServices.begin(),
                               s.virtualServices.end());
    all.destinationRules.insert(all.destinationRules.end(), s.destinationRules.begin(),
                                s.destinationRules.end());
    out.diagnostics.append(one->diagnostics);
  }
  return out;
}

FileCache::Generation FileCache::generation() const {
  Generation out;
  out.reserve(order_.size());
  for (const std::string& path : order_) {
    out.push_back(files_.at(path).output);
  }
  return out;
}

}  // namespace sluice::parse
