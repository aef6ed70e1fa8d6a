#include "process.h"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <utility>

namespace sluice::e2e {
namespace {

[[noreturn]] void childFail(const char* what) {
  // Only async-signal-safe calls between fork and exec: the parent may be multi-threaded.
  const char* err = strerror(errno);
  (void)!write(2, "sluice-e2e child: ", 18);
  (void)!write(2, what, strlen(what));
  (void)!write(2, ": ", 2);
  (void)!write(2, err, strlen(err));
  (void)!write(2, "\n", 1);
  _exit(127);
}

}  // namespace

Process Process::start(const std::vector<std::string>& argv, const ProcessOptions& options) {
  if (argv.empty()) throw std::invalid_argument("Process::start: empty argv");
  // Everything the child needs is prepared before fork.
  std::vector<char*> cargv;
  for (const auto& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
  cargv.push_back(nullptr);
  const std::string procs = options.cgroupPath.empty() ? "" : options.cgroupPath + "/cgroup.procs";
  const std::string out = options.stdoutPath.empty() ? "/dev/null" : options.stdoutPath;
  const std::string err = options.stderrPath.empty() ? out : options.stderrPath;
  const pid_t parent = getpid();

  pid_t pid = fork();
  if (pid < 0) throw std::runtime_error(std::string("fork: ") + strerror(errno));
  if (pid == 0) {
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0) childFail("prctl");
    if (getppid() != parent) _exit(127);  // the test died before prctl took effect
    int outFd = open(out.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (outFd < 0) childFail("open stdout");
    int errFd = err == out ? outFd : open(err.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (errFd < 0) childFail("open stderr");
    int nullFd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (nullFd < 0 || dup2(nullFd, 0) < 0 || dup2(outFd, 1) < 0 || dup2(errFd, 2) < 0) {
      childFail("dup2");
    }
    if (!options.netnsPath.empty()) {
      int ns = open(options.netnsPath.c_str(), O_RDONLY | O_CLOEXEC);
      if (ns < 0 || setns(ns, CLONE_NEWNET) < 0) childFail("setns");
    }
    if (!procs.empty()) {
      int fd = open(procs.c_str(), O_WRONLY | O_CLOEXEC);
      if (fd < 0 || write(fd, "0\n", 2) != 2) childFail("join cgroup");
    }
    execvp(cargv[0], cargv.data());
    childFail("exec");
  }
  return Process(pid);
}

Process::Process(Process&& other) noexcept
    : pid_(std::exchange(other.pid_, -1)), status_(other.status_), exited_(other.exited_) {}

Process& Process::operator=(Process&& other) noexcept {
  if (this != &other) {
    if (pid_ > 0 && !exited_) {
      kill(pid_, SIGKILL);
      reap(0);
    }
    pid_ = std::exchange(other.pid_, -1);
    status_ = other.status_;
    exited_ = other.exited_;
  }
  return *this;
}

Process::~Process() {
  if (pid_ > 0 && !exited_) {
    kill(pid_, SIGKILL);
    reap(0);
  }
}

bool Process::reap(int options) {
  if (exited_) return true;
  int status = 0;
  pid_t r;
  do {
    r = waitpid(pid_, &status, options);
  } while (r < 0 && errno == EINTR);
  if (r == pid_ || (r < 0 && errno == ECHILD)) {
    exited_ = true;
    status_ = status;
  }
  return exited_;
}

bool Process::running() { return pid_ > 0 && !reap(WNOHANG); }

int Process::wait(Clock::time_point deadline) {
  if (!waitUntil(deadline, [&] { return reap(WNOHANG); })) return -1;
  return status_;
}

int Process::stop(std::chrono::milliseconds grace) {
  if (pid_ <= 0) return 0;
  if (!exited_) kill(pid_, SIGTERM);
  if (wait(deadlineIn(grace)) == -1) {
    kill(pid_, SIGKILL);
    reap(0);
  }
  return status_;
}

std::string readFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void writeFileAtomic(const std::string& path, const std::string& text, const std::string& scratchDir) {
  static std::atomic<unsigned> counter{0};
  const std::string tmp = scratchDir + "/.write-" + std::to_string(getpid()) + "-" +
                          std::to_string(counter++);
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << text;
    out.flush();
    if (!out) throw std::runtime_error("write " + tmp + " failed");
  }
  if (rename(tmp.c_str(), path.c_str()) < 0) {
    throw std::runtime_error("rename " + tmp + " → " + path + ": " + strerror(errno));
  }
}

namespace {

// An anonymous in-memory file the child can open by path (/proc/self/fd/N: the fd is inherited):
// command output never touches a filesystem, so nothing is left behind whatever happens.
class MemFile {
 public:
  MemFile() : fd_(memfd_create("sluice-e2e-cmd", 0)) {
    if (fd_ < 0) throw std::runtime_error(std::string("memfd_create: ") + strerror(errno));
  }
  MemFile(const MemFile&) = delete;
  MemFile& operator=(const MemFile&) = delete;
  ~MemFile() { close(fd_); }

  std::string path() const { return "/proc/self/fd/" + std::to_string(fd_); }
  std::string read() const {
    std::string out;
    char buf[4096];
    ssize_t n;
    off_t offset = 0;
    while ((n = pread(fd_, buf, sizeof buf, offset)) > 0) {
      out.append(buf, static_cast<size_t>(n));
      offset += n;
    }
    return out;
  }

 private:
  int fd_;
};

}  // namespace

std::string runCommand(const std::vector<std::string>& argv, std::chrono::milliseconds timeout) {
  MemFile out;
  MemFile err;
  ProcessOptions options;
  options.stdoutPath = out.path();
  options.stderrPath = err.path();
  auto proc = Process::start(argv, options);
  int status = proc.wait(deadlineIn(timeout));
  if (status == -1 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    std::string cmd;
    for (const auto& a : argv) cmd += (cmd.empty() ? "" : " ") + a;
    throw std::runtime_error("command failed (" +
                             (status == -1 ? std::string("timed out")
                                           : "status " + std::to_string(status)) +
                             "): " + cmd + "\n" + err.read());
  }
  return out.read();
}

}  // namespace sluice::e2e
