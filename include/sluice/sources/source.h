#pragma once
// A Source keeps the current set of raw config objects (Kubernetes and Istio kinds), each parsed on
// its own through parse::parseYaml so its diagnostics are the same as for a file. The daemon reads
// objects() after a change notification and keeps, per key, the last valid version of an object
// that is now rejected.
#include <sluice/diagnostic.h>
#include <sluice/model/snapshot.h>
#include <sluice/result.h>

#include <compare>
#include <functional>
#include <map>
#include <string>

namespace sluice::sources {

struct ObjectKey {
  std::string kind;  // "Service", "EndpointSlice", "Pod", "VirtualService", "DestinationRule"
  std::string ns;
  std::string name;

  auto operator<=>(const ObjectKey&) const = default;
};

struct ObjectEntry {
  std::string resourceVersion;
  // Holds exactly this object when it parsed without errors; empty when it was rejected, in which
  // case `diagnostics` says why (and the daemon keeps serving the previous valid version).
  model::Snapshot object;
  Diagnostics diagnostics;  // errors and warnings of this object only

  bool valid() const { return object.objectCount() == 1 && !diagnostics.hasErrors(); }
};

using ObjectMap = std::map<ObjectKey, ObjectEntry>;

class Source {
 public:
  // Called on every change of objects() or synced(), from a thread of the source. It must be cheap
  // and thread-safe (e.g. write an eventfd); the caller debounces.
  using ChangeCallback = std::function<void()>;

  virtual ~Source() = default;
  [[nodiscard]] virtual Status start(ChangeCallback onChange) = 0;
  // Stops every thread; no callback runs after it returns. Idempotent.
  virtual void stop() = 0;
  // True once every kind completed its initial list: only then may the daemon prune state that is
  // absent from objects() (e.g. pinned maps adopted after a restart).
  virtual bool synced() const = 0;
  virtual ObjectMap objects() const = 0;
};

}  // namespace sluice::sources
