// Structure checks of deploy/: what a reviewer would otherwise verify by eye on every change.
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace {

const std::string kRoot = SLUICE_SOURCE_DIR;

std::vector<YAML::Node> loadAll(const std::string& rel) {
  return YAML::LoadAllFromFile(kRoot + "/" + rel);
}

YAML::Node findKind(const std::vector<YAML::Node>& docs, const std::string& kind) {
  for (const auto& d : docs) {
    if (d["kind"].as<std::string>() == kind) {
      return d;
    }
  }
  return YAML::Node();
}

std::string readFile(const std::string& rel) {
  std::ifstream in(kRoot + "/" + rel);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(DaemonSet, RunsUnprivilegedWithOnlyTheCapabilitiesItNeeds) {
  auto ds = findKind(loadAll("deploy/daemonset.yaml"), "DaemonSet");
  ASSERT_TRUE(ds) << "deploy/daemonset.yaml has no DaemonSet";
  auto pod = ds["spec"]["template"]["spec"];
  EXPECT_TRUE(pod["hostNetwork"].as<bool>());
  ASSERT_EQ(pod["containers"].size(), 1u);
  auto sc = pod["containers"][0]["securityContext"];
  EXPECT_FALSE(sc["privileged"].as<bool>());
  EXPECT_FALSE(sc["allowPrivilegeEscalation"].as<bool>());
  EXPECT_EQ(sc["capabilities"]["drop"][0].as<std::string>(), "ALL");
  const std::set<std::string> allowed = {"BPF", "NET_ADMIN", "SYS_RESOURCE"};
  std::set<std::string> added;
  for (const auto& c : sc["capabilities"]["add"]) {
    added.insert(c.as<std::string>());
  }
  EXPECT_EQ(added, allowed);
}

TEST(DaemonSet, MountsBpffsAndCgroupFromTheHost) {
  auto ds = findKind(loadAll("deploy/daemonset.yaml"), "DaemonSet");
  ASSERT_TRUE(ds);
  std::set<std::string> hostPaths;
  for (const auto& v : ds["spec"]["template"]["spec"]["volumes"]) {
    if (v["hostPath"]) {
      hostPaths.insert(v["hostPath"]["path"].as<std::string>());
    }
  }
  EXPECT_TRUE(hostPaths.count("/sys/fs/bpf"));
  EXPECT_TRUE(hostPaths.count("/sys/fs/cgroup"));
}

TEST(Rbac, GrantsOnlyReadVerbsOnTheFiveKinds) {
  auto docs = loadAll("deploy/rbac.yaml");
  auto role = findKind(docs, "ClusterRole");
  ASSERT_TRUE(role);
  std::set<std::string> resources;
  for (const auto& rule : role["rules"]) {
    for (const auto& verb : rule["verbs"]) {
      EXPECT_TRUE(verb.as<std::string>() == "get" || verb.as<std::string>() == "list" ||
                  verb.as<std::string>() == "watch")
          << "unexpected verb " << verb.as<std::string>();
    }
    for (const auto& r : rule["resources"]) {
      resources.insert(r.as<std::string>());
    }
  }
  EXPECT_EQ(resources, (std::set<std::string>{"services", "pods", "endpointslices",
                                              "virtualservices", "destinationrules"}));
  auto sa = findKind(docs, "ServiceAccount");
  auto ds = findKind(loadAll("deploy/daemonset.yaml"), "DaemonSet");
  EXPECT_EQ(sa["metadata"]["name"].as<std::string>(),
            ds["spec"]["template"]["spec"]["serviceAccountName"].as<std::string>());
}

TEST(Image, EveryStageIsDebian12AndInstallsTheSetupScriptsPackageList) {
  const std::string dockerfile = readFile("deploy/Dockerfile");
  std::istringstream lines(dockerfile);
  std::string line;
  int stages = 0;
  while (std::getline(lines, line)) {
    if (line.rfind("FROM ", 0) == 0) {
      ++stages;
      EXPECT_EQ(line.rfind("FROM debian:12", 0), 0u) << line;
    }
  }
  EXPECT_GE(stages, 2) << "expected a multi-stage build";
  size_t copies = 0;
  for (size_t pos = 0; (pos = dockerfile.find("COPY tools/scripts/packages.txt", pos)) != std::string::npos;
       ++pos) {
    ++copies;
  }
  EXPECT_EQ(copies, static_cast<size_t>(stages)) << "each stage must install packages.txt";
  EXPECT_NE(readFile("tools/scripts/setup.sh").find("packages.txt"), std::string::npos);
}

}  // namespace
