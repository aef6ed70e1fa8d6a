// Golden plans: fixtures/<name>.yaml goes through parse → validate → normalize → compile, and the
// plan's toText() must equal golden/<name>.plan.txt byte for byte. SLUICE_UPDATE_GOLDEN=1 rewrites
// the golden files instead; review their diff before committing it.
#include <gtest/gtest.h>
#include <sluice/compile/compiler.h>
#include <sluice/parse/parser.h>
#include <sluice/validate/normalize.h>
#include <sluice/validate/validate.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace sluice::compile {
namespace {

const std::filesystem::path kDir = std::filesystem::path(SLUICE_SOURCE_DIR) / "tests/unit/compile";

bool updating() {
  const char* v = std::getenv("SLUICE_UPDATE_GOLDEN");
  return v && std::string(v) == "1";
}

std::string readFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

std::vector<std::string> fixtureNames() {
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(kDir / "fixtures")) {
    if (entry.path().extension() == ".yaml") {
      names.push_back(entry.path().stem().string());
    }
  }
  std::sort(names.begin(), names.end());
  return names;
}

class GoldenPlan : public ::testing::TestWithParam<std::string> {};

TEST_P(GoldenPlan, MatchesGoldenFile) {
  const std::string file = "fixtures/" + GetParam() + ".yaml";
  auto parsed = parse::parseYaml(readFile(kDir / file), file);
  model::MeshSettings mesh;
  Diagnostics diags = parsed.diagnostics;
  diags.append(validate::validate(parsed.snapshot, mesh));
  for (const auto& d : diags.items()) {
    ADD_FAILURE() << "fixtures must be clean: " << formatDiagnostic(d);
  }
  CompileOptions options;
  options.mesh = mesh;
  const std::string text =
      plan::toText(compile(validate::normalize(std::move(parsed.snapshot), mesh), options));

  const auto golden = kDir / "golden" / (GetParam() + ".plan.txt");
  if (updating()) {
    std::ofstream(golden, std::ios::binary) << text;
    return;
  }
  ASSERT_TRUE(std::filesystem::exists(golden))
      << golden << " is missing: run with SLUICE_UPDATE_GOLDEN=1";
  EXPECT_EQ(text, readFile(golden)) << "the plan of " << file << " changed";
}

INSTANTIATE_TEST_SUITE_P(Fixtures, GoldenPlan, ::testing::ValuesIn(fixtureNames()),
                         [](const auto& info) { return info.param; });

TEST(GoldenFiles, EveryGoldenFileHasAFixture) {
  for (const auto& entry : std::filesystem::directory_iterator(kDir / "golden")) {
    const std::string name = entry.path().filename().string();
    const std::string stem = name.substr(0, name.find('.'));
    EXPECT_TRUE(std::filesystem::exists(kDir / "fixtures" / (stem + ".yaml")))
        << name << " is stale";
  }
}

}  // namespace
}  // namespace sluice::compile
