#include <sluice/dataplane/datapath.h>
#include <sluice/dataplane/unique_fd.h>

#include "abi_codec.h"
#include "libbpf_map_backend.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <arpa/inet.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "sock.skel.h"

#include <cerrno>
#include <cstring>
#include <algorithm>
#include <filesystem>
#include <linux/magic.h>

namespace sluice::dataplane {
namespace {

struct SkeletonDeleter {
  void operator()(sock_bpf* skel) const { sock_bpf__destroy(skel); }
};
using Skeleton = std::unique_ptr<sock_bpf, SkeletonDeleter>;

struct LinkDeleter {
  void operator()(bpf_link* link) const { bpf_link__destroy(link); }
};
using Link = std::unique_ptr<bpf_link, LinkDeleter>;

// The maps the agent pins: every map of the object except libbpf's internal .rodata/.bss.
bool pinned(const bpf_map* map) { return !bpf_map__is_internal(map); }

bpf_map* skeletonMap(sock_bpf* skel, MapId id) {
  switch (id) {
    case MapId::Svc:
      return skel->maps.sl_svc_v1;
    case MapId::Route:
      return skel->maps.sl_route_v1;
    case MapId::Group:
      return skel->maps.sl_group_v1;
    case MapId::Slot:
      return skel->maps.sl_slot_v1;
    case MapId::Backend:
      return skel->maps.sl_backend_v1;
    case MapId::Conns:
      return skel->maps.sl_conns_v1;
    case MapId::Client:
      return skel->maps.sl_client_v1;
    case MapId::Cfg:
      return skel->maps.sl_cfg_v1;
  }
  return nullptr;
}

Status ensureBpffsDir(const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    return Error{ec, "create " + dir};
  }
  struct statfs fs {};
  if (statfs(dir.c_str(), &fs) != 0) {
    return Error::fromErrno(errno, "statfs " + dir);
  }
  if (static_cast<unsigned long>(fs.f_type) != BPF_FS_MAGIC) {
    return Error::fromErrno(ENOTSUP, dir + " is not on a bpffs mount (mount -t bpf bpf <dir>)");
  }
  return okStatus();
}

}  // namespace

struct Datapath::Impl {
  std::string dir;
  bool adopted = false;
  Skeleton skel;
  std::vector<Link> links;  // after skel: destroyed (detached unless pinned) first
  bool pinLinks = false;
  std::vector<std::string> attachedLinkDirs;  // bpffs link directories of this process's cgroups
  std::unique_ptr<LibbpfMapBackend> maps;
  std::unique_ptr<Applier> applier;
};

Datapath::Datapath(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Datapath::~Datapath() = default;

Result<std::unique_ptr<Datapath>> Datapath::open(const DatapathOptions& options) {
  auto impl = std::make_unique<Impl>();
  impl->dir = options.bpffsDir;
  impl->pinLinks = options.pinLinks;
  if (Status st = ensureBpffsDir(impl->dir); !st.ok()) {
    return st.error().wrap("open datapath");
  }
  impl->skel.reset(sock_bpf__open());
  if (!impl->skel) {
    return Error::fromErrno(errno, "open datapath: open sock.bpf.o");
  }
  // A pin path set before load makes libbpf reuse a compatible pinned map (and fail on an
  // incompatible one) or create and pin a new one.
  bpf_map* map = nullptr;
  impl->adopted = true;
  bpf_object__for_each_map(map, impl->skel->obj) {
    if (!pinned(map)) {
      continue;
    }
    std::string path = impl->dir + "/" + bpf_map__name(map);
    if (access(path.c_str(), F_OK) != 0) {
      impl->adopted = false;
    }
    if (int err = bpf_map__set_pin_path(map, path.c_str()); err) {
      return Error::fromErrno(-err, "open datapath: pin path " + path);
    }
  }
  if (int err = sock_bpf__load(impl->skel.get()); err) {
    return Error::fromErrno(-err, "open datapath: load sock.bpf.o (maps pinned in " + impl->dir +
                                      " with another layout need `sluice-agent uninstall`)");
  }
  std::array<LibbpfMapBackend::MapFd, kMapCount> fds;
  for (MapId id : kAllMaps) {
    bpf_map* m = skeletonMap(impl->skel.get(), id);
    fds[static_cast<size_t>(id)] = {bpf_map__fd(m), bpf_map__key_size(m), bpf_map__value_size(m)};
  }
  impl->maps = std::make_unique<LibbpfMapBackend>(fds);
  ApplierOptions applierOptions;
  applierOptions.deleteGrace = options.deleteGrace;
  auto applier = Applier::restore(*impl->maps, applierOptions);
  if (!applier.ok()) {
    return applier.error().wrap("open datapath");
  }
  impl->applier = std::move(applier).value();
  return std::unique_ptr<Datapath>(new Datapath(std::move(impl)));
}

Status Datapath::attach(const std::string& cgroupPath) {
  UniqueFd cg(::open(cgroupPath.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (cg.get() < 0) {
    return Error::fromErrno(errno, "attach: open cgroup " + cgroupPath);
  }
  std::string linkDir;
  if (impl_->pinLinks) {
    auto id = cgroupId(cgroupPath);
    if (!id.ok()) {
      return id.error().wrap("attach");
    }
    linkDir = impl_->dir + "/links/" + std::to_string(*id);
    std::error_code ec;
    std::filesystem::create_directories(linkDir, ec);
    if (ec) {
      return Error::fromErrno(ec.value(), "attach: create " + linkDir);
    }
  }
  bpf_program* prog = nullptr;
  std::vector<Link> links;
  bpf_object__for_each_program(prog, impl_->skel->obj) {
    std::string pin = linkDir + "/" + bpf_program__name(prog);
    if (!linkDir.empty() && access(pin.c_str(), F_OK) == 0) {
      // Left by an earlier agent: keep the attachment, point it at this process's program.
      Link link(bpf_link__open(pin.c_str()));
      if (!link) {
        return Error::fromErrno(errno, "attach: open pinned link " + pin);
      }
      if (bpf_link__update_program(link.get(), prog) != 0) {
        return Error::fromErrno(errno, "attach: update pinned link " + pin);
      }
      links.push_back(std::move(link));
      continue;
    }
    bpf_link* link = bpf_program__attach_cgroup(prog, cg.get());
    if (!link) {
      // Links made so far are detached by `links` going out of scope: all or nothing per cgroup.
      return Error::fromErrno(errno, std::string("attach ") + bpf_program__name(prog) + " to " +
                                         cgroupPath);
    }
    links.emplace_back(link);
    if (!linkDir.empty() && bpf_link__pin(link, pin.c_str()) != 0) {
      return Error::fromErrno(errno, "attach: pin link " + pin);
    }
  }
  if (!linkDir.empty()) {
    impl_->attachedLinkDirs.push_back(linkDir);
  }
  for (auto& l : links) {
    impl_->links.push_back(std::move(l));
  }
  return okStatus();
}

namespace {

// Detaches and unpins every link in `dir`, then removes the directory. Unpinning alone is not
// enough: the kernel frees a link whose last reference went from a workqueue, so for a moment
// after the unlink the program would still run on new connects.
Status removeLinkDir(const std::filesystem::path& dir) {
  std::error_code ec;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir, ec)) {
    if (!entry.is_regular_file()) {
      continue;
    }
    if (UniqueFd link(bpf_obj_get(entry.path().c_str())); link.get() >= 0) {
      bpf_link_detach(link.get());  // fails harmlessly on a link that is already detached
    }
  }
  std::filesystem::remove_all(dir, ec);
  if (ec) {
    return Error::fromErrno(ec.value(), "remove pinned links " + dir.string());
  }
  return okStatus();
}

}  // namespace

Status Datapath::pruneLinks() {
  std::filesystem::path root = impl_->dir + "/links";
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(root, ec)) {
    bool ours = std::find(impl_->attachedLinkDirs.begin(), impl_->attachedLinkDirs.end(),
                          entry.path().string()) != impl_->attachedLinkDirs.end();
    if (!ours) {
      if (Status st = removeLinkDir(entry.path()); !st.ok()) {
        return st;
      }
    }
  }
  return okStatus();
}

Status Datapath::setProxy(const std::vector<ProxyAddress>& proxies) {
  sl_cfg cfg{};
  for (const auto& p : proxies) {
    if (cfg.proxy_port != 0 && htons(p.port) != cfg.proxy_port) {
      return Error::invalid("set proxy: v4 and v6 listeners must share one port");
    }
    (p.ip.isV4() ? cfg.proxy4 : cfg.proxy6) = encodeAddr(p.ip);
    cfg.proxy_port = htons(p.port);
  }
  uint32_t zero = 0;
  if (Status st = impl_->maps->upsert(MapId::Cfg, asBytes(zero), asBytes(cfg), UpdateMode::Any);
      !st.ok()) {
    return st.error().wrap("set proxy");
  }
  return okStatus();
}

Result<ApplyStats> Datapath::apply(const plan::DataplanePlan& plan,
                                   const std::vector<Enrollment>& clients) {
  return impl_->applier->apply(plan, clients);
}

MapBackend& Datapath::maps() { return *impl_->maps; }
const std::string& Datapath::bpffsDir() const { return impl_->dir; }
bool Datapath::adoptedPins() const { return impl_->adopted; }

Status Datapath::uninstall(const std::string& bpffsDir) {
  // The names come from the object itself, so uninstall removes exactly what open() pins.
  Skeleton skel(sock_bpf__open());
  if (!skel) {
    return Error::fromErrno(errno, "uninstall: open sock.bpf.o");
  }
  if (Status st = removeLinkDir(bpffsDir + "/links"); !st.ok()) {
    return st.error().wrap("uninstall");
  }
  bpf_map* map = nullptr;
  bpf_object__for_each_map(map, skel->obj) {
    if (!pinned(map)) {
      continue;
    }
    std::string path = bpffsDir + "/" + bpf_map__name(map);
    if (unlink(path.c_str()) != 0 && errno != ENOENT) {
      return Error::fromErrno(errno, "uninstall: remove " + path);
    }
  }
  if (rmdir(bpffsDir.c_str()) != 0 && errno != ENOENT && errno != ENOTEMPTY && errno != EBUSY) {
    return Error::fromErrno(errno, "uninstall: remove " + bpffsDir);
  }
  return okStatus();
}

Result<uint64_t> cgroupId(const std::string& cgroupPath) {
  // cgroup v2 file handles are the kernfs id, the value bpf_get_current_cgroup_id() returns.
  struct {
    file_handle fh;
    uint64_t id;
  } handle{};
  handle.fh.handle_bytes = sizeof(uint64_t);
  int mountId = 0;
  if (name_to_handle_at(AT_FDCWD, cgroupPath.c_str(), &handle.fh, &mountId, 0) == 0 &&
      handle.fh.handle_bytes == sizeof(uint64_t)) {
    uint64_t id = 0;
    std::memcpy(&id, handle.fh.f_handle, sizeof(id));
    return id;
  }
  struct stat st {};
  if (stat(cgroupPath.c_str(), &st) != 0) {
    return Error::fromErrno(errno, "cgroup id of " + cgroupPath);
  }
  return static_cast<uint64_t>(st.st_ino);
}

}  // namespace sluice::dataplane
