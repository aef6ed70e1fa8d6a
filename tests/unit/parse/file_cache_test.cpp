// FileCache: a reload parses only the files that changed, and assembles what loadPaths() would.
#include <gtest/gtest.h>
#include <sluice/parse/file_cache.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace sluice::parse {
namespace {

namespace fs = std::filesystem;

std::string service(const std::string& name, const std::string& ip) {
  return "apiVersion: v1\nkind: Service\nmetadata: {name: " + name + ", namespace: ns}\n"
         "spec:\n  clusterIP: " + ip + "\n  ports:\n  - {port: 80}\n";
}

class FileCacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("sluice-file-cache-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string path(const std::string& name) const { return (dir_ / name).string(); }

  void write(const std::string& name, const std::string& text) {
    std::ofstream(path(name), std::ios::trunc) << text;
  }

  // Moves the file's mtime an hour back, out of the racy window, so its stamp is trusted.
  void age(const std::string& name) {
    struct stat st {};
    ASSERT_EQ(::stat(path(name).c_str(), &st), 0);
    timespec times[2] = {st.st_atim, st.st_mtim};
    times[1].tv_sec -= 3600;
    ASSERT_EQ(::utimensat(AT_FDCWD, path(name).c_str(), times, 0), 0);
  }

  static std::vector<std::string> names(const ParseOutput& out) {
    std::vector<std::string> v;
    for (const auto& s : out.snapshot.services) {
      v.push_back(s.meta.name + "@" + s.spec.clusterIP);
    }
    return v;
  }

  fs::path dir_;
};

TEST_F(FileCacheTest, ParsesOnlyChangedFilesAndMatchesLoadPaths) {
  write("a.yaml", service("a", "10.0.0.1"));
  write("b.yaml", service("b", "10.0.0.2") + "---\nkind: [broken\n");
  age("a.yaml");
  age("b.yaml");
  FileCache cache;
  auto first = cache.refresh({dir_.string()});
  EXPECT_EQ(first.files, 2u);
  EXPECT_EQ(first.reparsed, 2u);
  auto again = cache.refresh({dir_.string()});
  EXPECT_EQ(again.reparsed + again.reread, 0u);

  write("b.yaml", service("b", "10.0.0.3"));
  auto changed = cache.refresh({dir_.string()});
  EXPECT_EQ(changed.reparsed, 1u);
  ParseOutput cached = cache.assemble();
  ParseOutput loaded = loadPaths({dir_.string()});
  EXPECT_EQ(names(cached), (std::vector<std::string>{"a@10.0.0.1", "b@10.0.0.3"}));
  EXPECT_EQ(names(cached), names(loaded));
  EXPECT_EQ(cached.diagnostics.items().size(), loaded.diagnostics.items().size());
  EXPECT_FALSE(cached.diagnostics.hasErrors());  // b's old parse error went with its old content
}

TEST_F(FileCacheTest, DeletedFilesDropTheirObjectsAndNewOnesAppear) {
  write("a.yaml", service("a", "10.0.0.1"));
  write("b.yaml", service("b", "10.0.0.2"));
  FileCache cache;
  cache.refresh({dir_.string()});
  fs::remove(path("a.yaml"));
  write("c.yml", service("c", "10.0.0.4"));
  auto stats = cache.refresh({dir_.string()});
  EXPECT_EQ(stats.files, 2u);
  EXPECT_EQ(names(cache.assemble()), (std::vector<std::string>{"b@10.0.0.2", "c@10.0.0.4"}));
}

TEST_F(FileCacheTest, UnchangedContentIsNotParsedAgain) {
  write("a.yaml", service("a", "10.0.0.1"));
  FileCache cache;
  cache.refresh({dir_.string()});
  write("a.yaml", service("a", "10.0.0.1"));  // rewritten: a new mtime, the same bytes
  auto stats = cache.refresh({dir_.string()});
  EXPECT_EQ(stats.reparsed, 0u);
  EXPECT_EQ(stats.reread, 1u);
}

TEST_F(FileCacheTest, ASameSizeRewriteWithinOneTimestampTickIsSeen) {
  write("a.yaml", service("a", "10.0.0.1"));
  FileCache cache;
  cache.refresh({dir_.string()});
  struct stat before {};
  ASSERT_EQ(::stat(path("a.yaml").c_str(), &before), 0);
  // The same size, and the mtime put back: only the content tells the two writes apart.
  write("a.yaml", service("a", "10.0.0.9"));
  timespec times[2] = {before.st_atim, before.st_mtim};
  ASSERT_EQ(::utimensat(AT_FDCWD, path("a.yaml").c_str(), times, 0), 0);
  auto stats = cache.refresh({dir_.string()});
  EXPECT_EQ(stats.reparsed, 1u);
  EXPECT_EQ(names(cache.assemble()), (std::vector<std::string>{"a@10.0.0.9"}));
}

TEST_F(FileCacheTest, UnreadableFilesAreReportedAndRetried) {
  FileCache cache;
  auto missing = cache.refresh({path("nope.yaml")});
  EXPECT_EQ(missing.files, 0u);
  EXPECT_TRUE(cache.assemble().diagnostics.hasErrors());
  write("nope.yaml", service("a", "10.0.0.1"));
  cache.refresh({path("nope.yaml")});
  ParseOutput out = cache.assemble();
  EXPECT_FALSE(out.diagnostics.hasErrors());
  EXPECT_EQ(names(out), (std::vector<std::string>{"a@10.0.0.1"}));
}

}  // namespace
}  // namespace sluice::parse
