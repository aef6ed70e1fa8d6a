#pragma once
// Child processes of the end-to-end tests: started inside a network namespace and a cgroup before
// exec (the BPF hooks key on the caller's cgroup, so a client must be in its test cgroup from its
// first instruction), killed with the test (PR_SET_PDEATHSIG) and on destruction.
#include "wait.h"

#include <sys/types.h>

#include <string>
#include <vector>

namespace sluice::e2e {

struct ProcessOptions {
  std::string netnsPath;   // a bind-mounted netns file; empty = the caller's netns
  std::string cgroupPath;  // a cgroup2 directory; empty = the caller's cgroup
  std::string stdoutPath;  // file that receives stdout; empty = /dev/null
  std::string stderrPath;  // file that receives stderr; empty = same as stdout
};

class Process {
 public:
  static Process start(const std::vector<std::string>& argv, const ProcessOptions& options);

  Process(Process&& other) noexcept;
  Process& operator=(Process&& other) noexcept;
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;
  ~Process();

  pid_t pid() const { return pid_; }
  bool running();
  // Waits for exit until `deadline`; returns the exit status as waitpid reports it, or -1 on timeout.
  int wait(Clock::time_point deadline);
  // SIGTERM, then SIGKILL if it has not exited by `grace`; returns the wait status.
  int stop(std::chrono::milliseconds grace = std::chrono::milliseconds(3000));

 private:
  explicit Process(pid_t pid) : pid_(pid) {}
  bool reap(int options);

  pid_t pid_ = -1;
  int status_ = 0;
  bool exited_ = false;
};

// Runs a short command to completion (bounded by `timeout`) and returns its stdout; throws with the
// command line, exit status and stderr when it fails.
std::string runCommand(const std::vector<std::string>& argv,
                       std::chrono::milliseconds timeout = std::chrono::milliseconds(10000));

std::string readFile(const std::string& path);
// Writes `text` to `path` atomically: a temporary file in `scratchDir` renamed over it, so a watcher
// of path's directory sees one complete file (IN_MOVED_TO), never a partial one.
void writeFileAtomic(const std::string& path, const std::string& text, const std::string& scratchDir);

}  // namespace sluice::e2e
