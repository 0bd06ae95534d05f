// The run cache: .cairn/refs/runcache/<key hex>, one small text file per
// distinct (command, dep oids, param values) that ran successfully.
//
//   cairn-runcache 1
//   run <run id>
//   out <path> sha256:<version>      (one per output)
//   metric <path> sha256:<blob>      (one per metrics file)
#include <sys/stat.h>

#include <algorithm>
#include <sstream>

#include "cairn/object.h"
#include "cairn/pipeline.h"
#include "cairn/tracking.h"
#include "util/file.h"

namespace cairn {
namespace {

constexpr char kHeader[] = "cairn-runcache 1";

fs::path RunCacheDir(Repo& repo) { return repo.layout().run_cache(); }

Status ValidateEntry(const RunCacheEntry& e) {
  if (!e.run.empty()) CAIRN_RETURN_IF_ERROR(ValidateRunId(e.run));
  for (const auto* m : {&e.outs, &e.metrics}) {
    for (const auto& [path, oid] : *m) {
      CAIRN_RETURN_IF_ERROR(ValidateRelativePath(path, m == &e.outs ? "output" : "metrics file"));
      if (path.find('\n') != std::string::npos) return Status::InvalidArgument("a path holds a line break");
    }
  }
  return Status::OK();
}

}  // namespace

std::string EncodeRunCache(const RunCacheEntry& e) {
  std::string text = std::string(kHeader) + "\nrun " + e.run + "\n";
  for (const auto& [path, v] : e.outs) text += "out " + path + " " + v.ToString() + "\n";
  for (const auto& [path, v] : e.metrics) text += "metric " + path + " " + v.ToString() + "\n";
  return text;
}

Result<RunCacheEntry> ParseRunCache(std::string_view text) {
  RunCacheEntry e;
  std::istringstream in{std::string(text)};
  std::string line;
  int number = 1;
  auto bad = [&](const std::string& what) {
    return Status::Corruption("run-cache entry line " + std::to_string(number) + ": " + what);
  };
  if (!std::getline(in, line) || line != kHeader) return bad("not a format 1 entry");
  while (std::getline(in, line)) {
    ++number;
    if (line.starts_with("run ")) {
      e.run = line.substr(4);
      if (Status s = ValidateRunId(e.run); !s.ok()) return bad(s.message());
      continue;
    }
    bool out = line.starts_with("out "), metric = line.starts_with("metric ");
    if (!out && !metric) return bad("unknown field");
    size_t start = out ? 4 : 7, sp = line.rfind(' ');
    if (sp <= start) return bad("expected a path and an oid");
    auto oid = Oid::Parse(line.substr(sp + 1));
    if (!oid.ok()) return bad("bad oid");
    std::string path = line.substr(start, sp - start);
    if (Status s = ValidateRelativePath(path, "output"); !s.ok()) return bad(s.message());
    (out ? e.outs : e.metrics)[path] = *oid;
  }
  return e;
}

Result<std::optional<RunCacheEntry>> ReadRunCache(Repo& repo, const Oid& key) {
  auto text = ReadFile(RunCacheDir(repo) / key.Hex());
  if (!text.ok()) return std::optional<RunCacheEntry>();
  auto entry = ParseRunCache(*text);
  if (!entry.ok()) return std::optional<RunCacheEntry>();
  return std::optional<RunCacheEntry>(std::move(*entry));
}

Status WriteRunCache(Repo& repo, const Oid& key, const RunCacheEntry& entry) {
  CAIRN_RETURN_IF_ERROR(ValidateEntry(entry));
  fs::path dir = RunCacheDir(repo);
  CAIRN_RETURN_IF_ERROR(MakeDirs(dir));
  return WriteFileAtomic(dir / key.Hex(), EncodeRunCache(entry), /*sync=*/true);
}

Result<std::vector<RunCacheListing>> ListRunCache(Repo& repo) {
  std::vector<RunCacheListing> out;
  fs::path dir = RunCacheDir(repo);
  std::error_code ec;
  // Its entries are gc roots: only a run cache that is not there is empty.
  if (fs::symlink_status(dir, ec).type() == fs::file_type::not_found) return out;
  fs::directory_iterator it(dir, ec), end;
  if (ec) return Status::IOError("cannot list " + dir.string() + ": " + ec.message());
  for (; it != end; it.increment(ec)) {
    std::string name = it->path().filename().string();
    if (name.starts_with(".")) continue;  // a write in progress (or one interrupted)
    auto key = Oid::Parse(name);
    if (!key.ok()) {
      return Status::Corruption("run cache: unexpected file " + it->path().string(),
                                "move it out of " + dir.string());
    }
    CAIRN_ASSIGN_OR_RETURN(std::string text, ReadFile(it->path()));
    auto entry = ParseRunCache(text);
    if (!entry.ok()) {
      return Status::Corruption("run cache entry " + it->path().string() + ": " + entry.status().message(),
                                "delete that file (the stage then runs again instead of being restored)");
    }
    struct stat st;
    int64_t written = 0;
    if (::stat(it->path().c_str(), &st) == 0) {
      written = static_cast<int64_t>(st.st_mtim.tv_sec) * 1000 + st.st_mtim.tv_nsec / 1000000;
    }
    out.push_back(RunCacheListing{*key, std::move(*entry), written});
  }
  if (ec) return Status::IOError("cannot list " + dir.string() + ": " + ec.message());
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.key.Hex() < b.key.Hex(); });
  return out;
}

}  // namespace cairn
