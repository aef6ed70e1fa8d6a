#pragma once
// Where the Kubernetes API server is and how to authenticate to it: from a kubeconfig file (the
// current context's cluster and user) or from the in-cluster service account.
#include <sluice/result.h>

#include <string>
#include <string_view>

namespace sluice::sources {

struct KubeConfig {
  std::string server;  // "https://host:port" or "http://host:port" (tests)
  std::string caPem;   // PEM bundle; empty means the system's default trust store
  std::string clientCertPem;
  std::string clientKeyPem;
  std::string token;
  // Re-read before each request: service-account tokens are rotated by the kubelet.
  std::string tokenFile;
  bool insecureSkipTlsVerify = false;
  std::string ns;  // the context's namespace (informational; Sluice watches all namespaces)
};

// The kubeconfig's current-context. Relative file paths resolve against `baseDir` (the directory of
// the kubeconfig, as kubectl does); *-data fields are base64 PEM.
[[nodiscard]] Result<KubeConfig> parseKubeconfig(std::string_view yaml, const std::string& baseDir);
[[nodiscard]] Result<KubeConfig> loadKubeconfig(const std::string& path);

// KUBERNETES_SERVICE_HOST/PORT plus `saDir`/token and `saDir`/ca.crt.
[[nodiscard]] Result<KubeConfig> inClusterConfig(
    const std::string& saDir = "/var/run/secrets/kubernetes.io/serviceaccount");

// The bearer token to send now (tokenFile wins over token), or an error if the file is unreadable.
[[nodiscard]] Result<std::string> currentToken(const KubeConfig& config);

}  // namespace sluice::sources
