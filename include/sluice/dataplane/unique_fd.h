#pragma once
// UniqueFd: owns one file descriptor (cgroup directories, signalfd, inotify), closed on destruction.
#include <unistd.h>

namespace sluice::dataplane {

class UniqueFd {
 public:
  explicit UniqueFd(int fd) : fd_(fd) {}
  ~UniqueFd() {
    if (fd_ >= 0) {
      close(fd_);
    }
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

}  // namespace sluice::dataplane
