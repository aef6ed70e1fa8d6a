#pragma once
// Named snapshots whose compiled plans are pinned in golden/<name>.plan.txt.
#include <sluice/model/snapshot.h>

#include <map>
#include <string>

namespace sluice::compile::testing {

std::map<std::string, model::Snapshot> goldenScenarios();

}  // namespace sluice::compile::testing
