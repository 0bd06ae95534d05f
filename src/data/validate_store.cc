// Validation results kept as derived objects (cairn/derived.h): one per
// (blob, suite digest), so gates and the UI can show whether a version's
// files met a suite without reading them again.
#include <fcntl.h>
#include <unistd.h>

#include "cairn/derived.h"
#include "cairn/tracking.h"
#include "cairn/validate.h"
#include "util/file.h"

namespace cairn {
namespace {

// The blob of a validated file: its oid, or the hash of its workspace file.
Result<Oid> BlobOf(const FileValidation& file) {
  if (!file.blob.IsZero()) return file.blob;
  if (file.file.empty()) return Status::InvalidArgument(file.where + " has neither an oid nor a file");
  int fd = ::open(file.file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::FromErrno("cannot open " + file.where, errno);
  uint64_t size = 0;
  auto oid = HashFd(fd, file.file, &size);
  ::close(fd);
  return oid;
}

}  // namespace

Status StoreValidation(Repo& repo, ValidationReport* report) {
  if (report->suite == nullptr) return Status::InvalidArgument("a validation report without its suite");
  const Suite& suite = *report->suite;
  for (FileValidation& file : report->files) {
    CAIRN_ASSIGN_OR_RETURN(file.blob, BlobOf(file));
    DerivedObject object;
    object.kind = std::string(kValidationKind);
    object.subject = file.blob;
    object.key = suite.Digest();
    object.created_ms = NowMs();
    object.body = Json{{"validation_version", 1},
                       {"suite", Json{{"name", suite.name}, {"file", suite.file}, {"digest", suite.Digest()}}},
                       {"ref", report->label},
                       {"result", FileValidationJson(file)}};
    CAIRN_ASSIGN_OR_RETURN(file.object, PutDerived(repo, object));
  }
  return Status::OK();
}

Result<std::optional<Json>> StoredValidation(Repo& repo, const Oid& blob, const Suite& suite) {
  CAIRN_ASSIGN_OR_RETURN(std::optional<DerivedObject> found, GetDerived(repo, kValidationKind, blob, suite.Digest()));
  if (!found) return std::optional<Json>();
  return std::optional<Json>(std::move(found->body));
}

}  // namespace cairn
