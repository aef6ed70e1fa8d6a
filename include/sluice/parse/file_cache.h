#pragma once
// A config directory usually changes one file at a time while the others stay large (10,000 services
// in one file take seconds to parse). FileCache keeps each file's ParseOutput and re-parses only the
// files that are new or changed, so a reload costs the changed files plus a stat() of each file.
#include <sluice/parse/parser.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace sluice::parse {

class FileCache {
 public:
  struct RefreshStats {
    size_t files = 0;     // files listed
    size_t reparsed = 0;  // files parsed again (new or changed content)
    size_t reread = 0;    // files read again whose content turned out unchanged
  };

  // Lists `paths` as loadPaths() does; a file is read again when its (device, inode, size, mtime)
  // changed or its mtime is too recent to tell a later write apart, and parsed again only when its
  // content changed. Files no longer listed drop out with their objects.
  RefreshStats refresh(const std::vector<std::string>& paths);

  // What loadPaths() would return for the files as last refreshed, in the same order.
  ParseOutput assemble() const;

  // The files' outputs as last refreshed, in loadPaths() order, without copying them: a later
  // refresh replaces changed files' outputs but never alters these.
  using Generation = std::vector<std::shared_ptr<const ParseOutput>>;
  Generation generation() const;

 private:
  struct Stamp {
    uint64_t device = 0;
    uint64_t inode = 0;
    int64_t size = -1;
    int64_t mtimeNs = 0;
    bool operator==(const Stamp&) const = default;
  };
  struct Entry {
    Stamp stamp;
    bool racy = true;  // written too close to when it was read: the stamp alone cannot be trusted
    std::string content;
    std::shared_ptr<const ParseOutput> output;
  };

  std::map<std::string, Entry> files_;
  std::vector<std::string> order_;  // files_ keys in loadPaths() order
  Diagnostics listing_;             // paths or directories that could not be listed
};

}  // namespace sluice::parse
