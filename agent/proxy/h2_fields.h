#pragma once
// Header-field helpers shared by the HTTP/2 downstream (h2_session) and upstream (h2_upstream).
#include <nghttp2/nghttp2.h>

#include <string>
#include <string_view>

namespace sluice::proxy {

// An nghttp2 name/value pair pointing into `name` and `value`, which must outlive its use.
inline nghttp2_nv h2Field(const std::string& name, const std::string& value) {
  return nghttp2_nv{reinterpret_cast<uint8_t*>(const_cast<char*>(name.data())),
                    reinterpret_cast<uint8_t*>(const_cast<char*>(value.data())), name.size(),
                    value.size(), NGHTTP2_NV_FLAG_NONE};
}

// Headers that describe one HTTP/1.1 connection and are never sent on an HTTP/2 stream
// (RFC 9113 §8.2.2); each side frames bodies itself.
inline bool isConnectionSpecific(std::string_view name) {
  return name == "connection" || name == "keep-alive" || name == "proxy-connection" ||
         name == "transfer-encoding" || name == "upgrade" || name == "te" || name == "trailer" ||
         name == "http2-settings";
}

}  // namespace sluice::proxy
