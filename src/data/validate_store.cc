// Validation results kept as derived objects (cairn/derived.h): one per
// (blob, suite digest), so gates and the UI can show whether a version's
// files met a suite without reading them again.
#include "cairn/derived.h"
#include "cairn/tracking.h"
#include "cairn/validate.h"
#include "data/table_internal.h"

namespace cairn {
namespace {

// The blob of a validated file: its oid, or the hash of its workspace file.
Result<Oid> BlobOf(const FileValidation& file) {
  return table_internal::ContentOid(file.blob, file.file, file.where);
}

// A result depends on the bytes, the suite and how the bytes are parsed
// (the same bytes as .csv and .tsv are different tables).
std::string ResultKey(const Suite& suite, TableFormat format) {
  return suite.Digest() + "." + TableFormatName(format);
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
    object.key = ResultKey(suite, TableFormatFor(file.path).value_or(TableFormat::kCsv));
    object.created_ms = NowMs();
    object.body = Json{{"validation_version", 1},
                       {"suite", Json{{"name", suite.name}, {"file", suite.file}, {"digest", suite.Digest()}}},
                       {"ref", report->label},
                       {"result", FileValidationJson(file)}};
    CAIRN_ASSIGN_OR_RETURN(file.object, PutDerived(repo, object));
  }
  return Status::OK();
}

Result<std::optional<Json>> StoredValidation(Repo& repo, const Oid& blob, TableFormat format, const Suite& suite) {
  Result<std::optional<DerivedObject>> got = GetDerived(repo, kValidationKind, blob, ResultKey(suite, format));
  if (!got.ok() && got.status().code() == Code::kCorruption) return std::optional<Json>();  // validated again
  CAIRN_ASSIGN_OR_RETURN(std::optional<DerivedObject> found, std::move(got));
  if (!found) return std::optional<Json>();
  return std::optional<Json>(std::move(found->body));
}

}  // namespace cairn
