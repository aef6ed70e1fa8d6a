#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <sluice/sources/kube_config.h>
#include <sluice/sources/kube_source.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>

namespace sluice::sources {
namespace {

namespace fs = std::filesystem;

std::string base64(const std::string& text) {
  std::string out(4 * ((text.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(text.data()),
                          static_cast<int>(text.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

const std::string kCaPem = "-----BEGIN CERTIFICATE-----\nY2E=\n-----END CERTIFICATE-----\n";
const std::string kCertPem = "-----BEGIN CERTIFICATE-----\nY2VydA==\n-----END CERTIFICATE-----\n";
const std::string kKeyPem = "-----BEGIN PRIVATE KEY-----\na2V5\n-----END PRIVATE KEY-----\n";

class KubeConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/sluice-kubeconfig-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    fs::remove_all(dir_);
    ::unsetenv("KUBERNETES_SERVICE_HOST");
    ::unsetenv("KUBERNETES_SERVICE_PORT");
  }
  void write(const std::string& name, const std::string& text) {
    std::ofstream(dir_ + "/" + name) << text;
  }
  std::string dir_;
};

TEST_F(KubeConfigTest, CurrentContextWithTokenAndCaData) {
  std::string yaml = R"(apiVersion: v1
kind: Config
current-context: prod
clusters:
- name: dev
  cluster: {server: "https://dev.example:6443"}
- name: prod-cluster
  cluster:
    server: https://10.0.0.1:6443
    certificate-authority-data: )" + base64(kCaPem) + R"(
contexts:
- name: dev
  context: {cluster: dev, user: dev-user}
- name: prod
  context: {cluster: prod-cluster, user: admin, namespace: mesh}
users:
- name: dev-user
  user: {token: wrong}
- name: admin
  user: {token: s3cret}
)";
  auto config = parseKubeconfig(yaml, dir_);
  ASSERT_TRUE(config) << config.error().message();
  EXPECT_EQ(config->server, "https://10.0.0.1:6443");
  EXPECT_EQ(config->caPem, kCaPem);
  EXPECT_EQ(config->token, "s3cret");
  EXPECT_EQ(config->ns, "mesh");
  EXPECT_TRUE(config->clientCertPem.empty());
  EXPECT_EQ(*currentToken(*config), "s3cret");
}

TEST_F(KubeConfigTest, ClientCertificateDataAndKeyData) {
  std::string yaml = R"(current-context: c
clusters: [{name: k, cluster: {server: "https://k:443", insecure-skip-tls-verify: true}}]
contexts: [{name: c, context: {cluster: k, user: u}}]
users:
- name: u
  user:
    client-certificate-data: )" + base64(kCertPem) + R"(
    client-key-data: )" + base64(kKeyPem) + "\n";
  auto config = parseKubeconfig(yaml, dir_);
  ASSERT_TRUE(config) << config.error().message();
  EXPECT_EQ(config->clientCertPem, kCertPem);
  EXPECT_EQ(config->clientKeyPem, kKeyPem);
  EXPECT_TRUE(config->insecureSkipTlsVerify);
  EXPECT_TRUE(config->caPem.empty());
}

TEST_F(KubeConfigTest, FilePathsResolveAgainstTheKubeconfigDirectory) {
  write("ca.crt", kCaPem);
  write("client.crt", kCertPem);
  write("client.key", kKeyPem);
  write("token", "rotating-token\n");
  write("config", R"(current-context: c
clusters: [{name: k, cluster: {server: "https://k:443", certificate-authority: ca.crt}}]
contexts: [{name: c, context: {cluster: k, user: u}}]
users: [{name: u, user: {client-certificate: client.crt, client-key: client.key, tokenFile: token}}]
)");
  auto config = loadKubeconfig(dir_ + "/config");
  ASSERT_TRUE(config) << config.error().message();
  EXPECT_EQ(config->caPem, kCaPem);
  EXPECT_EQ(config->clientCertPem, kCertPem);
  EXPECT_EQ(config->clientKeyPem, kKeyPem);
  EXPECT_EQ(*currentToken(*config), "rotating-token");
  write("token", "rotated\n");
  EXPECT_EQ(*currentToken(*config), "rotated");
}

TEST_F(KubeConfigTest, RejectsWhatItCannotUse) {
  auto noContext = parseKubeconfig("clusters: []\n", dir_);
  ASSERT_FALSE(noContext);
  EXPECT_NE(noContext.error().message().find("current-context not set"), std::string::npos);

  auto missing = parseKubeconfig("current-context: x\ncontexts: []\n", dir_);
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message().find("context x not found"), std::string::npos);

  auto exec = parseKubeconfig(R"(current-context: c
clusters: [{name: k, cluster: {server: "https://k"}}]
contexts: [{name: c, context: {cluster: k, user: u}}]
users: [{name: u, user: {exec: {command: aws}}}]
)",
                              dir_);
  ASSERT_FALSE(exec);
  EXPECT_NE(exec.error().message().find("exec"), std::string::npos);

  auto badData = parseKubeconfig(R"(current-context: c
clusters: [{name: k, cluster: {server: "https://k", certificate-authority-data: "!!!"}}]
contexts: [{name: c, context: {cluster: k}}]
)",
                                 dir_);
  ASSERT_FALSE(badData);
  EXPECT_NE(badData.error().message().find("not base64"), std::string::npos);

  auto malformed = parseKubeconfig("current-context: [unclosed\n", dir_);
  EXPECT_FALSE(malformed);
}

TEST_F(KubeConfigTest, InClusterServiceAccount) {
  EXPECT_FALSE(inClusterConfig(dir_));  // not in a pod
  write("token", "sa-token\n");
  write("ca.crt", kCaPem);
  ::setenv("KUBERNETES_SERVICE_HOST", "fd00::1", 1);
  ::setenv("KUBERNETES_SERVICE_PORT", "443", 1);
  auto config = inClusterConfig(dir_);
  ASSERT_TRUE(config) << config.error().message();
  EXPECT_EQ(config->server, "https://[fd00::1]:443");
  EXPECT_EQ(config->caPem, kCaPem);
  EXPECT_EQ(*currentToken(*config), "sa-token");
}

TEST_F(KubeConfigTest, HttpsSourceNeedsUsableCertificates) {
  KubeConfig config;
  config.server = "https://127.0.0.1:6443";
  config.caPem = "not a certificate";
  auto badCa = KubeSource::create(config, {});
  ASSERT_FALSE(badCa);
  EXPECT_NE(badCa.error().message().find("certificate authority"), std::string::npos);

  config.caPem.clear();
  config.clientCertPem = kCertPem;  // not a parsable certificate
  config.clientKeyPem = kKeyPem;
  EXPECT_FALSE(KubeSource::create(config, {}));

  config.server = "ftp://k";
  EXPECT_FALSE(KubeSource::create(config, {}));
}

}  // namespace
}  // namespace sluice::sources
