// Run ids, status names, the clock, the names of this host and user, and
// the validation of user-supplied names.
#include <openssl/rand.h>
#include <pwd.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <fstream>

#include "cairn/tracking.h"
#include "tracking/tracker_internal.h"
#include "util/list_dir.h"

namespace cairn {

using namespace tracking_internal;

namespace {

const char* const kStatusNames[] = {"RUNNING", "FINISHED", "FAILED", "KILLED"};

}  // namespace

namespace tracking_internal {

std::string RandomRunId() {
  unsigned char b[16];
  if (RAND_bytes(b, sizeof b) != 1) {
    std::ifstream("/dev/urandom", std::ios::binary).read(reinterpret_cast<char*>(b), sizeof b);
  }
  static const char* hex = "0123456789abcdef";
  std::string id;
  for (unsigned char c : b) {
    id += hex[c >> 4];
    id += hex[c & 15];
  }
  return id;
}

bool IsHex(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
  });
}

std::string HostName() {
  char buf[256] = {};
  ::gethostname(buf, sizeof buf - 1);
  return buf;
}

std::string LoginName() {
  if (const char* u = std::getenv("USER"); u && *u) return u;
  if (const passwd* pw = ::getpwuid(::getuid())) return pw->pw_name;
  return std::to_string(::getuid());
}

fs::path RunRefPath(Repo& repo, const std::string& id) { return repo.layout().run(id); }
fs::path ExperimentRefPath(Repo& repo, int64_t id) { return repo.layout().experiment(std::to_string(id)); }

Result<std::vector<std::string>> ListDir(const fs::path& dir) { return ListDirNames(dir); }

Status ValidateExperimentName(const std::string& name) {
  if (name.empty() || name.size() > 200) {
    return Status::InvalidArgument("experiment names must be 1 to 200 characters");
  }
  for (char c : name) {
    if (static_cast<unsigned char>(c) < 0x20) {
      return Status::InvalidArgument("experiment name '" + name + "' contains a control character");
    }
  }
  return Status::OK();
}

}  // namespace tracking_internal

const char* RunStatusName(RunStatus status) { return kStatusNames[static_cast<int>(status)]; }

std::optional<RunStatus> ParseRunStatus(std::string_view name) {
  for (int i = 0; i < 4; ++i) {
    if (name == kStatusNames[i]) return static_cast<RunStatus>(i);
  }
  return std::nullopt;
}

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Status ValidateMetricKey(const std::string& key) {
  if (key.empty()) return Status::InvalidArgument("empty key", "keys are names such as 'acc' or 'val/loss'");
  if (key.size() > 250) return Status::InvalidArgument("key '" + key.substr(0, 40) + "…' is longer than 250 bytes");
  for (char c : key) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) {
      return Status::InvalidArgument("key '" + key + "' contains a control character",
                                     "use letters, digits and _ - . / : or spaces");
    }
  }
  if (key.find("..") != std::string::npos || key.front() == '/' || key.front() == ' ' || key.back() == ' ') {
    return Status::InvalidArgument("key '" + key + "' is not a valid name",
                                   "keys may not start with '/' or a space, end with a space, or contain '..'");
  }
  return Status::OK();
}

Status ValidateRunId(const std::string& id) {
  if (id.size() != 32 || !IsHex(id)) {
    return Status::InvalidArgument("'" + id + "' is not a run id", "run ids are 32 lowercase hex digits");
  }
  return Status::OK();
}

}  // namespace cairn
