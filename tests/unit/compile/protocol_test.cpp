#include <gtest/gtest.h>

#include "protocol.h"

namespace sluice::compile {
namespace {

model::ServicePort port(std::string name, std::string protocol = "TCP", std::string app = "") {
  model::ServicePort p;
  p.name = std::move(name);
  p.protocol = std::move(protocol);
  p.appProtocol = std::move(app);
  return p;
}

TEST(PortProtocol, NamePrefixAppProtocolAndTransport) {
  EXPECT_EQ(portProtocol(port("http")), PortProtocol::Http);
  EXPECT_EQ(portProtocol(port("http-web")), PortProtocol::Http);
  EXPECT_EQ(portProtocol(port("HTTP2-api")), PortProtocol::Http);
  EXPECT_EQ(portProtocol(port("grpc-web")), PortProtocol::Http);
  EXPECT_EQ(portProtocol(port("https")), PortProtocol::Tls);
  EXPECT_EQ(portProtocol(port("tls-db")), PortProtocol::Tls);
  EXPECT_EQ(portProtocol(port("tcp-main")), PortProtocol::Tcp);
  EXPECT_EQ(portProtocol(port("redis")), PortProtocol::Tcp);
  EXPECT_EQ(portProtocol(port("")), PortProtocol::Auto);
  EXPECT_EQ(portProtocol(port("web")), PortProtocol::Auto);
  EXPECT_EQ(portProtocol(port("httpx")), PortProtocol::Auto);
  // appProtocol wins over the name.
  EXPECT_EQ(portProtocol(port("tcp", "TCP", "http")), PortProtocol::Http);
  EXPECT_EQ(portProtocol(port("http", "TCP", "kubernetes.io/h2c")), PortProtocol::Http);
  EXPECT_EQ(portProtocol(port("web", "TCP", "tls")), PortProtocol::Tls);
  EXPECT_EQ(portProtocol(port("dns", "UDP")), PortProtocol::Udp);
  EXPECT_EQ(portProtocol(port("http", "UDP")), PortProtocol::Udp);
  EXPECT_EQ(portProtocol(port("sig", "SCTP")), PortProtocol::None);
}

}  // namespace
}  // namespace sluice::compile
