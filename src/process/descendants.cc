// Descendants of the supervisor from a scan of /proc/<pid>/stat: the parent
// and state of every process, then the closure of "parent is the ancestor
// or one of its descendants found so far".
#include "process/descendants.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdint>

namespace cairn::process_internal {
namespace {

struct ProcEntry {
  pid_t pid, ppid;
  bool taken;
};

// Static, not on the stack: the supervisor may run on a small thread stack
// of the caller. Processes beyond the table's size are not seen.
constexpr int kMaxProcs = 1 << 16;
ProcEntry g_table[kMaxProcs];

struct LinuxDirent64 {
  uint64_t d_ino;
  int64_t d_off;
  unsigned short d_reclen;
  unsigned char d_type;
  char d_name[1];
};

// The pid a /proc entry names, or 0 when it is not a process.
pid_t ParsePid(const char* name) {
  pid_t pid = 0;
  for (const char* p = name; *p; ++p) {
    if (*p < '0' || *p > '9') return 0;
    pid = pid * 10 + (*p - '0');
  }
  return pid;
}

// Reads the parent of `pid` from /proc/<pid>/stat: "pid (comm) S ppid ...".
// False when the process is gone or is a zombie (which has no children).
bool ReadParent(pid_t pid, pid_t* ppid) {
  char path[40] = "/proc/";
  char digits[16];
  int n = 0;
  for (pid_t v = pid; v > 0 && n < 15; v /= 10) digits[n++] = static_cast<char>('0' + v % 10);
  int at = 6;
  while (n > 0) path[at++] = digits[--n];
  for (const char* s = "/stat"; *s; ++s) path[at++] = *s;
  path[at] = '\0';
  int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  // The fields up to the parent fit: comm is at most 15 bytes, and no field
  // after it holds a ')'.
  char buf[160];
  ssize_t got;
  while ((got = ::read(fd, buf, sizeof buf - 1)) < 0 && errno == EINTR) {
  }
  ::close(fd);
  if (got <= 0) return false;
  int close_paren = -1;
  for (int i = 0; i < got; ++i) {
    if (buf[i] == ')') close_paren = i;
  }
  if (close_paren < 0 || close_paren + 4 >= got) return false;
  char state = buf[close_paren + 2];
  if (state == 'Z' || state == 'X' || state == 'x') return false;
  pid_t parent = 0;
  for (int i = close_paren + 4; i < got && buf[i] >= '0' && buf[i] <= '9'; ++i) parent = parent * 10 + (buf[i] - '0');
  *ppid = parent;
  return true;
}

}  // namespace

int LiveDescendants(pid_t ancestor, pid_t* out, int cap) {
  int dir = ::open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir < 0) return 0;
  int entries = 0;
  alignas(8) char buf[16384];
  for (;;) {
    long got = ::syscall(SYS_getdents64, dir, buf, sizeof buf);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) break;
    for (long off = 0; off < got;) {
      auto* d = reinterpret_cast<LinuxDirent64*>(buf + off);
      off += d->d_reclen;
      pid_t pid = ParsePid(d->d_name);
      pid_t ppid;
      if (pid > 0 && pid != ancestor && entries < kMaxProcs && ReadParent(pid, &ppid)) {
        g_table[entries++] = ProcEntry{pid, ppid, false};
      }
    }
  }
  ::close(dir);
  int found = 0;
  for (bool grew = true; grew && found < cap;) {
    grew = false;
    for (int i = 0; i < entries && found < cap; ++i) {
      ProcEntry& e = g_table[i];
      if (e.taken) continue;
      bool below = e.ppid == ancestor;
      for (int j = 0; j < found && !below; ++j) below = out[j] == e.ppid;
      if (below) {
        e.taken = true;
        out[found++] = e.pid;
        grew = true;
      }
    }
  }
  return found;
}

bool StrayTally::Seen(pid_t pid, pid_t* list, int* n) {
  for (int i = 0; i < *n; ++i) {
    if (list[i] == pid) return true;
  }
  if (*n < kMaxTracked) list[(*n)++] = pid;
  return false;
}

bool StrayTally::SignalAll(pid_t ancestor, int sig) {
  static pid_t pids[kMaxTracked];
  int n = LiveDescendants(ancestor, pids, kMaxTracked);
  for (int i = 0; i < n; ++i) {
    ::kill(pids[i], sig);
    if (sig == SIGTERM) ::kill(pids[i], SIGCONT);
    if (!Seen(pids[i], seen_, &tracked_)) ++count_;
    if (sig == SIGKILL && !Seen(pids[i], seen_killed_, &tracked_killed_)) ++killed_;
  }
  return n > 0;
}

}  // namespace cairn::process_internal
