#include <sluice/sources/kube_config.h>

#include <openssl/evp.h>
#include <yaml-cpp/yaml.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

namespace sluice::sources {
namespace {

Result<std::string> readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return Error::fromErrno(errno != 0 ? errno : ENOENT, "read " + path);
  }
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

Result<std::string> decodeBase64(const std::string& field, std::string text) {
  std::erase_if(text, [](char c) { return c == '\n' || c == '\r' || c == ' '; });
  if (text.size() % 4 != 0) {
    return Error::invalid(field + ": not base64");
  }
  std::string out(text.size() / 4 * 3, '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(text.data()),
                          static_cast<int>(text.size()));
  if (n < 0) {
    return Error::invalid(field + ": not base64");
  }
  // EVP_DecodeBlock counts the bytes behind '=' padding as zeros.
  size_t pad = text.ends_with("==") ? 2 : text.ends_with('=') ? 1 : 0;
  out.resize(static_cast<size_t>(n) - pad);
  return out;
}

std::string resolve(const std::string& baseDir, const std::string& path) {
  if (path.empty() || path.front() == '/' || baseDir.empty()) {
    return path;
  }
  return baseDir + "/" + path;
}

// `data` (base64) wins over `file`, as in client-go.
Result<std::string> dataOrFile(const YAML::Node& node, const std::string& dataKey,
                               const std::string& fileKey, const std::string& baseDir) {
  if (node[dataKey]) {
    return decodeBase64(dataKey, node[dataKey].as<std::string>());
  }
  if (node[fileKey]) {
    return readFile(resolve(baseDir, node[fileKey].as<std::string>()));
  }
  return std::string();
}

YAML::Node findNamed(const YAML::Node& list, const std::string& name, const char* field) {
  if (list.IsSequence()) {
    for (const auto& item : list) {
      if (item["name"] && item["name"].as<std::string>() == name) {
        return item[field];
      }
    }
  }
  return YAML::Node(YAML::NodeType::Undefined);
}

Result<KubeConfig> parseDocument(const YAML::Node& root, const std::string& baseDir) {
  std::string current = root["current-context"] ? root["current-context"].as<std::string>() : "";
  if (current.empty()) {
    return Error::invalid("kubeconfig: current-context not set");
  }
  YAML::Node context = findNamed(root["contexts"], current, "context");
  if (!context.IsMap()) {
    return Error::invalid("kubeconfig: context " + current + " not found");
  }
  std::string clusterName = context["cluster"] ? context["cluster"].as<std::string>() : "";
  YAML::Node cluster = findNamed(root["clusters"], clusterName, "cluster");
  if (!cluster.IsMap()) {
    return Error::invalid("kubeconfig: cluster " + clusterName + " not found");
  }
  KubeConfig config;
  config.server = cluster["server"] ? cluster["server"].as<std::string>() : "";
  if (config.server.empty()) {
    return Error::invalid("kubeconfig: cluster " + clusterName + ": server not set");
  }
  if (cluster["insecure-skip-tls-verify"]) {
    config.insecureSkipTlsVerify = cluster["insecure-skip-tls-verify"].as<bool>();
  }
  auto ca = dataOrFile(cluster, "certificate-authority-data", "certificate-authority", baseDir);
  if (!ca) {
    return ca.error().wrap("kubeconfig: cluster " + clusterName);
  }
  config.caPem = std::move(*ca);
  if (context["namespace"]) {
    config.ns = context["namespace"].as<std::string>();
  }

  std::string userName = context["user"] ? context["user"].as<std::string>() : "";
  if (userName.empty()) {
    return config;  // anonymous
  }
  YAML::Node user = findNamed(root["users"], userName, "user");
  if (!user.IsMap()) {
    return Error::invalid("kubeconfig: user " + userName + " not found");
  }
  if (user["exec"] || user["auth-provider"]) {
    return Error::invalid("kubeconfig: user " + userName +
                          ": exec and auth-provider plugins are not supported; use a token or a "
                          "client certificate");
  }
  auto cert = dataOrFile(user, "client-certificate-data", "client-certificate", baseDir);
  auto key = dataOrFile(user, "client-key-data", "client-key", baseDir);
  if (!cert) {
    return cert.error().wrap("kubeconfig: user " + userName);
  }
  if (!key) {
    return key.error().wrap("kubeconfig: user " + userName);
  }
  if (cert->empty() != key->empty()) {
    return Error::invalid("kubeconfig: user " + userName +
                          ": client certificate and key must be given together");
  }
  config.clientCertPem = std::move(*cert);
  config.clientKeyPem = std::move(*key);
  if (user["token"]) {
    config.token = user["token"].as<std::string>();
  }
  if (user["tokenFile"]) {
    config.tokenFile = resolve(baseDir, user["tokenFile"].as<std::string>());
  }
  return config;
}

}  // namespace

Result<KubeConfig> parseKubeconfig(std::string_view yaml, const std::string& baseDir) {
  // yaml-cpp reports malformed input and wrong scalar types by throwing; this is its edge.
  try {
    return parseDocument(YAML::Load(std::string(yaml)), baseDir);
  } catch (const YAML::Exception& e) {
    return Error::invalid(std::string("kubeconfig: ") + e.what());
  }
}

Result<KubeConfig> loadKubeconfig(const std::string& path) {
  auto text = readFile(path);
  if (!text) {
    return text.error().wrap("kubeconfig");
  }
  auto slash = path.rfind('/');
  std::string baseDir = slash == std::string::npos ? "." : path.substr(0, slash);
  auto config = parseKubeconfig(*text, baseDir);
  if (!config) {
    return config.error().wrap(path);
  }
  return config;
}

Result<KubeConfig> inClusterConfig(const std::string& saDir) {
  const char* host = std::getenv("KUBERNETES_SERVICE_HOST");
  const char* port = std::getenv("KUBERNETES_SERVICE_PORT");
  if (host == nullptr || port == nullptr || *host == '\0' || *port == '\0') {
    return Error::fromErrno(ENOENT,
                            "in-cluster config: KUBERNETES_SERVICE_HOST/PORT not set (not in a pod?)");
  }
  KubeConfig config;
  std::string h = host;
  config.server = "https://" + (h.find(':') != std::string::npos ? "[" + h + "]" : h) + ":" + port;
  config.tokenFile = saDir + "/token";
  if (auto token = readFile(config.tokenFile); !token) {
    return token.error().wrap("in-cluster config");
  }
  auto ca = readFile(saDir + "/ca.crt");
  if (!ca) {
    return ca.error().wrap("in-cluster config");
  }
  config.caPem = std::move(*ca);
  return config;
}

Result<std::string> currentToken(const KubeConfig& config) {
  if (config.tokenFile.empty()) {
    return config.token;
  }
  auto token = readFile(config.tokenFile);
  if (!token) {
    return token.error().wrap("token");
  }
  while (!token->empty() && (token->back() == '\n' || token->back() == '\r')) {
    token->pop_back();
  }
  return token;
}

}  // namespace sluice::sources
