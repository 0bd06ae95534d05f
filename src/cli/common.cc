#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <iostream>
#include <new>

#include "cairn/json.h"
#include "cli/command.h"
#include "util/progress.h"

namespace cairn::cli {

int Fail(const Status& status) {
  std::fprintf(stderr, "cairn: error: %s\n", status.message().c_str());
  if (!status.hint().empty()) std::fprintf(stderr, "hint: %s\n", status.hint().c_str());
  return InfoFor(status.code()).exit_code;
}

Result<std::unique_ptr<Repo>> OpenRepo(const Context&) {
  CAIRN_ASSIGN_OR_RETURN(std::unique_ptr<Repo> repo, Repo::Open("."));
  // Every command that waits for the repository lock says so once.
  repo->set_lock_wait_callback([](const std::string& holder) {
    std::cerr << "cairn: waiting for another cairn command"
              << (holder.empty() ? std::string() : " (pid " + holder + ")") << " to finish..." << std::endl;
  });
  return repo;
}

bool ProgressWanted() { return ::isatty(STDERR_FILENO) == 1; }

void PrintJson(const Json& j) { std::cout << DumpJson(j, 2) << std::endl; }

std::string Human(uint64_t bytes) { return HumanBytes(bytes); }

void PrintRepair(const RepairReport& report) {
  if (report.repaired.empty()) return;
  std::cerr << "cairn: repaired " << report.repaired.size() << " damaged object(s) in the cache from remote "
            << report.remote << " (first: " << report.repaired[0].ToString() << ")\n";
}

std::string FormatTime(int64_t seconds) {
  std::time_t t = static_cast<std::time_t>(seconds);
  std::tm tm;
  ::localtime_r(&t, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S %z", &tm);
  return buf;
}

namespace {
std::string start_directory;  // the working directory before -C
}  // namespace

const std::string& StartDirectory() { return start_directory; }

void Run(Context& ctx, const std::function<int()>& body) {
  if (start_directory.empty()) {
    if (char* cwd = ::getcwd(nullptr, 0)) {
      start_directory = cwd;
      std::free(cwd);
    }
  }
  if (ctx.dir != "." && ::chdir(ctx.dir.c_str()) != 0) {
    ctx.exit_code = Fail(Status::FromErrno("cannot change to directory " + ctx.dir, errno));
    return;
  }
  // What escapes a command is a defect of cairn, not of the input; said so
  // plainly and with exit 2 rather than an abort.
  try {
    ctx.exit_code = body();
  } catch (const std::bad_alloc&) {
    ctx.exit_code = Fail(Status::IOError("out of memory", "free memory or work on a smaller input"));
  } catch (const std::exception& e) {
    ctx.exit_code = Fail(Status::IOError(std::string("internal error: ") + e.what(),
                                         "this is a bug in cairn: please report the command that caused it"));
  }
}

Status CheckOutputFile(const std::string& path, bool force) {
  std::error_code ec;
  auto st = std::filesystem::symlink_status(path, ec);
  if (ec || !std::filesystem::exists(st)) return Status::OK();
  if (!std::filesystem::is_regular_file(st)) {
    return Status::InvalidArgument(path + " exists and is not a regular file: not replaced",
                                   "give -o the path of a new or regular file");
  }
  if (!force) {
    return Status::AlreadyExists(path + " exists: not replaced", "add --force to replace it, or give another -o FILE");
  }
  return Status::OK();
}

std::vector<std::string> SplitList(const std::string& s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= s.size()) {
    size_t comma = s.find(',', start);
    if (comma == std::string::npos) comma = s.size();
    if (comma > start) out.push_back(s.substr(start, comma - start));
    start = comma + 1;
  }
  return out;
}

}  // namespace cairn::cli
