#include <sluice/dataplane/map_backend.h>

namespace sluice::dataplane {

std::string_view mapName(MapId map) {
  switch (map) {
    case MapId::Svc:
      return "sl_svc_v1";
    case MapId::Route:
      return "sl_route_v1";
    case MapId::Group:
      return "sl_group_v1";
    case MapId::Slot:
      return "sl_slot_v1";
    case MapId::Backend:
      return "sl_backend_v1";
    case MapId::Conns:
      return "sl_conns_v1";
    case MapId::Client:
      return "sl_client_v1";
    case MapId::Cfg:
      return "sl_cfg_v1";
  }
  return "?";
}

}  // namespace sluice::dataplane
