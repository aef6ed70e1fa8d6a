#pragma once
// Go / CEL duration syntax ("1h", "1.5s", "300ms", "1m30s", "10us", "100ns", "-2s", "0"), the syntax
// the API server's CEL `duration()` and Istio's Go code accept for Duration fields.
#include <sluice/model/common.h>

#include <optional>
#include <string_view>

namespace sluice::parse {

// nullopt when `text` is not a duration or does not fit in int64 nanoseconds (as Go's ParseDuration).
std::optional<model::Duration> parseDuration(std::string_view text);

}  // namespace sluice::parse
