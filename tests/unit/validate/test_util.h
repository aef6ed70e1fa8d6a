#pragma once
// Shared vocabulary of the validate tests: verdicts as Istio's tests state them, and builders.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sluice/diagnostic.h>
#include <sluice/model/snapshot.h>

#include <functional>
#include <ostream>
#include <string>

namespace sluice::validate::testing {

enum class Verdict { Valid, Warning, Invalid };

inline Verdict verdictOf(const Diagnostics& d) {
  if (d.hasErrors()) {
    return Verdict::Invalid;
  }
  return d.empty() ? Verdict::Valid : Verdict::Warning;
}

inline const char* verdictName(Verdict v) {
  switch (v) {
    case Verdict::Valid:
      return "valid";
    case Verdict::Warning:
      return "valid with warning";
    case Verdict::Invalid:
      return "invalid";
  }
  return "?";
}

inline std::string dump(const Diagnostics& d) {
  std::string out;
  for (const auto& item : d.items()) {
    out += "  " + formatDiagnostic(item) + "\n";
  }
  return out;
}

inline bool hasDiagnosticAt(const Diagnostics& d, Severity severity, const std::string& field) {
  for (const auto& item : d.items()) {
    if (item.severity == severity && item.field == field) {
      return true;
    }
  }
  return false;
}

// Checks a verdict and, for errors and warnings, that one of them names `field`.
inline void expectVerdict(const Diagnostics& d, Verdict want, const std::string& field) {
  EXPECT_EQ(verdictName(verdictOf(d)), std::string(verdictName(want))) << dump(d);
  if (want != Verdict::Valid && !field.empty()) {
    const Severity s = want == Verdict::Invalid ? Severity::Error : Severity::Warning;
    EXPECT_TRUE(hasDiagnosticAt(d, s, field)) << "no " << severityName(s) << " at " << field << "\n"
                                              << dump(d);
  }
}

inline model::StringMatch exact(std::string v) {
  return {model::StringMatch::Kind::Exact, std::move(v)};
}
inline model::StringMatch prefix(std::string v) {
  return {model::StringMatch::Kind::Prefix, std::move(v)};
}
inline model::StringMatch regex(std::string v) {
  return {model::StringMatch::Kind::Regex, std::move(v)};
}
inline model::Duration ms(int64_t n) {
  return std::chrono::milliseconds(n);
}
inline model::Duration sec(int64_t n) {
  return std::chrono::seconds(n);
}

inline model::HTTPRouteDestination httpDest(std::string host, int32_t weight = 0) {
  model::HTTPRouteDestination d;
  d.destination.host = std::move(host);
  d.weight = weight;
  return d;
}

inline model::RouteDestination l4Dest(std::string host, int32_t weight = 0) {
  model::RouteDestination d;
  d.destination.host = std::move(host);
  d.weight = weight;
  return d;
}

// The smallest valid VirtualService: one host, one http route to foo.baz.
inline model::VirtualService baseVs() {
  model::VirtualService vs;
  vs.meta.name = "vs";
  vs.meta.ns = "ns5";
  vs.spec.hosts = {"foo.bar"};
  model::HTTPRoute h;
  h.route.push_back(httpDest("foo.baz"));
  vs.spec.http.push_back(h);
  return vs;
}

// The smallest valid DestinationRule.
inline model::DestinationRule baseDr() {
  model::DestinationRule dr;
  dr.meta.name = "dr";
  dr.meta.ns = "ns5";
  dr.spec.host = "reviews";
  return dr;
}

template <typename Object>
struct Case {
  std::string name;
  std::function<void(Object&)> mutate;
  Verdict want;
  std::string field;  // for errors and warnings: a diagnostic must name this path
};

// gtest (and ctest's test list) print a parameter with this instead of dumping its bytes.
template <typename Object>
void PrintTo(const Case<Object>& c, std::ostream* os) {
  *os << '"' << c.name << '"';
}

}  // namespace sluice::validate::testing
