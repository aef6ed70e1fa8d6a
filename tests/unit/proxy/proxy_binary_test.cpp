// sluice-proxy as a process: YAML config dir → parse/validate/normalize → route table, test-mode
// fixed destination on loopback, curl as the client, SIGHUP swapping the table.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/thread.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

namespace {

// An evhttp upstream answering "upstream <uri>".
class Upstream {
 public:
  // evthread_use_pthreads runs first so the destructor's loopexit from this thread wakes the loop.
  Upstream() : threads_(evthread_use_pthreads()), base_(event_base_new()), http_(evhttp_new(base_)) {
    evhttp_set_gencb(
        http_,
        [](evhttp_request* req, void*) {
          evbuffer* b = evbuffer_new();
          evbuffer_add_printf(b, "upstream %s", evhttp_request_get_uri(req));
          evhttp_send_reply(req, 200, "OK", b);
          evbuffer_free(b);
        },
        nullptr);
    auto* handle = evhttp_bind_socket_with_handle(http_, "127.0.0.1", 0);
    sockaddr_in sa;
    socklen_t len = sizeof(sa);
    getsockname(evhttp_bound_socket_get_fd(handle), reinterpret_cast<sockaddr*>(&sa), &len);
    port_ = ntohs(sa.sin_port);
    thread_ = std::thread([this] { event_base_dispatch(base_); });
  }
  ~Upstream() {
    event_base_loopexit(base_, nullptr);
    thread_.join();
    evhttp_free(http_);
    event_base_free(base_);
  }
  uint16_t port() const { return port_; }

 private:
  int threads_;
  event_base* base_;
  evhttp* http_;
  uint16_t port_ = 0;
  std::thread thread_;
};

std::string config(uint16_t target, const std::string& routes) {
  return "apiVersion: v1\nkind: Service\nmetadata: {name: svc, namespace: default}\n"
         "spec:\n  clusterIP: 10.96.0.1\n  ports: [{name: http, port: 80, targetPort: " +
         std::to_string(target) +
         "}]\n---\napiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\n"
         "metadata: {name: svc-1, namespace: default, labels: {kubernetes.io/service-name: svc}}\n"
         "addressType: IPv4\nports: [{name: http, port: " +
         std::to_string(target) +
         "}]\nendpoints: [{addresses: [127.0.0.1]}]\n---\n"
         "apiVersion: networking.istio.io/v1\nkind: VirtualService\n"
         "metadata: {name: svc, namespace: default}\nspec:\n  hosts: [svc]\n  http:\n" +
         routes;
}

std::string run(const std::string& cmd) {
  FILE* p = popen(cmd.c_str(), "r");
  std::string out;
  char buf[1024];
  size_t n;
  while (p && (n = fread(buf, 1, sizeof(buf), p)) > 0) {
    out.append(buf, n);
  }
  if (p) {
    pclose(p);
  }
  return out;
}

TEST(ProxyBinary, ServesYamlConfigAndReloadsOnSighup) {
  Upstream upstream;
  auto dir = std::filesystem::temp_directory_path() / ("sluice-proxy-test-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  auto write = [&](const std::string& routes) {
    std::ofstream(dir / "config.yaml") << config(upstream.port(), routes);
  };
  write("  - match: [{uri: {prefix: /old}}]\n    redirect: {uri: /new, redirectCode: 308}\n"
        "  - route: [{destination: {host: svc}}]\n");

  int out[2];
  ASSERT_EQ(pipe(out), 0);
  pid_t pid = fork();
  if (pid == 0) {
    dup2(out[1], STDOUT_FILENO);
    ::close(out[0]);
    std::string bin = std::string(SLUICE_BINARY_DIR) + "/agent/proxy/sluice-proxy";
    execl(bin.c_str(), bin.c_str(), "--config-dir", dir.c_str(), "--listen", "127.0.0.1:0",
          "--test-fixed-destination", "10.96.0.1:80", static_cast<char*>(nullptr));
    _exit(127);
  }
  ::close(out[1]);
  std::string line;
  char c;
  while (read(out[0], &c, 1) == 1 && c != '\n') {
    line += c;
  }
  ASSERT_TRUE(line.starts_with("listening on 127.0.0.1:")) << line;
  std::string base = "http://127.0.0.1:" + line.substr(line.rfind(':') + 1);

  EXPECT_EQ(run("curl -s --max-time 5 -o /dev/null -w '%{http_code} %{redirect_url}' " + base +
                "/old/x"),
            "308 " + base + "/new");
  EXPECT_EQ(run("curl -s --max-time 5 " + base + "/hello"), "upstream /hello");

  write("  - directResponse: {status: 204}\n");
  kill(pid, SIGHUP);
  std::string code;
  for (int i = 0; i < 100 && code != "204"; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    code = run("curl -s --max-time 5 -o /dev/null -w '%{http_code}' " + base + "/hello");
  }
  EXPECT_EQ(code, "204");

  kill(pid, SIGTERM);
  int status = 0;
  waitpid(pid, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  ::close(out[0]);
  std::filesystem::remove_all(dir);
}

}  // namespace
