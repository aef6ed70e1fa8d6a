#pragma once
// Warnings for rules that can never match (analyzeUnreachableHTTPRules/TCPRules/TLSRules in Istio's
// validation.go): a rule after a catch-all, a rule whose matches all repeat earlier ones, and a prefix
// match already covered by an earlier, shorter prefix with compatible conditions.
#include <sluice/model/istio.h>

#include "checks.h"

namespace sluice::validate::detail {

void analyzeUnreachableRules(Reporter& r, const model::VirtualServiceSpec& spec);

}  // namespace sluice::validate::detail
