// The load generator's request/response handling and the pods' bulk-body requests, without sockets.
#include "echo_server.h"
#include "load_client.h"

#include <gtest/gtest.h>

#include <string>

namespace sluice::bench {
namespace {

TEST(BenchHttp, RequestsCarryThePathAndCloseOnlyForCrr) {
  EXPECT_EQ(requestFor("/", false), "GET / HTTP/1.1\r\nHost: bench\r\n\r\n");
  EXPECT_EQ(requestFor("/bytes/1048576", true),
            "GET /bytes/1048576 HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n");
}

TEST(BenchHttp, BulkBodySizeComesFromTheBytesPath) {
  EXPECT_EQ(bulkBodySize("GET /bytes/1048576 HTTP/1.1\r\nHost: bench\r\n\r\n"), 1048576u);
  EXPECT_EQ(bulkBodySize("GET /bytes/0 HTTP/1.1\r\n\r\n"), 0u);
  EXPECT_EQ(bulkBodySize("GET / HTTP/1.1\r\n\r\n"), 0u);
  EXPECT_EQ(bulkBodySize("GET /bytes/ HTTP/1.1\r\n\r\n"), 0u);
  EXPECT_EQ(bulkBodySize("GET /bytes/12x HTTP/1.1\r\n\r\n"), 0u);
  EXPECT_EQ(bulkBodySize("POST /bytes/10 HTTP/1.1\r\n\r\n"), 0u);
  EXPECT_EQ(bulkBodySize("GET /bytes/99999999999999 HTTP/1.1\r\n\r\n"), kMaxBulkBody);
}

TEST(BenchHttp, ResponseIsTakenOnlyWhenTheWholeBodyIsThere) {
  const std::string head = "HTTP/1.1 200 OK\r\nContent-Length: 10\r\nX-Pod: 10.0.0.1:8080\r\n\r\n";
  std::string buf = head + "01234";
  std::string pod;
  bool ok = false;
  std::size_t size = 0;
  bool closing = true;
  EXPECT_FALSE(takeResponse(buf, false, false, pod, ok, size, closing));
  buf += "56789" + std::string("HTTP/1.1 200");  // the start of the next response stays
  ASSERT_TRUE(takeResponse(buf, false, false, pod, ok, size, closing));
  EXPECT_TRUE(ok);
  EXPECT_FALSE(closing);
  EXPECT_EQ(pod, "10.0.0.1:8080");
  EXPECT_EQ(size, head.size() + 10);
  EXPECT_EQ(buf, "HTTP/1.1 200");
}

TEST(BenchHttp, CrrResponseEndsAtEofAndCountsEverything) {
  std::string buf = "HTTP/1.1 503 Unavailable\r\nConnection: close\r\n\r\nbusy";
  std::string pod;
  bool ok = true;
  std::size_t size = 0;
  bool closing = false;
  EXPECT_FALSE(takeResponse(buf, true, false, pod, ok, size, closing));
  const std::size_t all = buf.size();
  ASSERT_TRUE(takeResponse(buf, true, true, pod, ok, size, closing));
  EXPECT_FALSE(ok);
  EXPECT_TRUE(closing);
  EXPECT_TRUE(pod.empty());
  EXPECT_EQ(size, all);
  EXPECT_TRUE(buf.empty());
}

// nginx answers its keepalive_requests-th request with "Connection: close" and closes; the client
// must not send the next request on that connection.
TEST(BenchHttp, KeepAliveResponseAnnouncingCloseIsFlagged) {
  std::string buf = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection:  Close\r\n\r\nok";
  std::string pod;
  bool ok = false;
  bool closing = false;
  std::size_t size = 0;
  ASSERT_TRUE(takeResponse(buf, false, false, pod, ok, size, closing));
  EXPECT_TRUE(ok);
  EXPECT_TRUE(closing);
  buf = "HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n";
  ASSERT_TRUE(takeResponse(buf, false, false, pod, ok, size, closing));
  EXPECT_FALSE(closing);
}

} // namespace
} // namespace sluice::bench
