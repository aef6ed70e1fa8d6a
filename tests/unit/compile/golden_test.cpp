// Golden plans: each scenario's toText() must equal golden/<name>.plan.txt byte for byte.
// SLUICE_UPDATE_GOLDEN=1 rewrites the files instead; review the diff before committing it.
#include <gtest/gtest.h>
#include <sluice/compile/compiler.h>

#include "golden_scenarios.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace sluice::compile {
namespace {

const std::filesystem::path kGoldenDir =
    std::filesystem::path(SLUICE_SOURCE_DIR) / "tests/unit/compile/golden";

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

class GoldenPlan : public ::testing::TestWithParam<std::string> {};

TEST_P(GoldenPlan, MatchesGoldenFile) {
  const auto scenarios = testing::goldenScenarios();
  const std::string text = plan::toText(compile(scenarios.at(GetParam()), {}));
  const auto path = kGoldenDir / (GetParam() + ".plan.txt");
  if (updating()) {
    std::ofstream(path, std::ios::binary) << text;
    return;
  }
  ASSERT_TRUE(std::filesystem::exists(path)) << path << " missing: run with SLUICE_UPDATE_GOLDEN=1";
  EXPECT_EQ(text, readFile(path)) << "plan of " << GetParam() << " changed";
}

std::vector<std::string> scenarioNames() {
  std::vector<std::string> names;
  for (const auto& [name, snapshot] : testing::goldenScenarios()) {
    names.push_back(name);
  }
  return names;
}

INSTANTIATE_TEST_SUITE_P(Scenarios, GoldenPlan, ::testing::ValuesIn(scenarioNames()),
                         [](const auto& info) { return info.param; });

TEST(GoldenFiles, EveryGoldenFileHasAScenario) {
  const auto scenarios = testing::goldenScenarios();
  for (const auto& entry : std::filesystem::directory_iterator(kGoldenDir)) {
    const std::string name = entry.path().filename().string();
    const std::string stem = name.substr(0, name.find('.'));
    EXPECT_TRUE(scenarios.count(stem)) << name << " is stale";
  }
}

}  // namespace
}  // namespace sluice::compile
