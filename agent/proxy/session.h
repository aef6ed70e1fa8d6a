#pragma once
// What the server owns per downstream connection (or per bridged HTTP/2 stream): an HTTP/1.1 or an
// HTTP/2 session. The server frees a retired session after the current callback returns.
namespace sluice::proxy {

class Session {
 public:
  virtual ~Session() = default;
};

}  // namespace sluice::proxy
