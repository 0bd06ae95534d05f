// Where inferred signatures come from: a workspace file or directory, a
// dataset version's first tabular file, or the training data of a run
// (model_signature.h). The reading itself is signature_infer.cc.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "cairn/dataset.h"
#include "cairn/model_signature.h"
#include "cairn/store.h"
#include "registry/signature_infer.h"

namespace cairn {
namespace fs = std::filesystem;
using signature_internal::InferredTable;
using signature_internal::TableFormat;
using signature_internal::TableFormatFor;

namespace {

InferredSchema ToSchema(const InferredTable& table, std::string source) {
  InferredSchema out;
  out.signature.source = std::move(source);
  for (const auto& c : table.columns) {
    out.signature.columns.push_back(SignatureColumn{c.name, c.type});
    out.values.push_back(c.values);
  }
  out.rows = table.rows;
  out.complete = table.complete;
  return out;
}

Result<InferredTable> InferFile(const fs::path& path, TableFormat format, const std::string& where) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::FromErrno("cannot open " + where, errno);
  return signature_internal::InferTable(in, format, where);
}

// Reads a blob from the cache: a loose file in place, a packed one (small)
// into memory.
Result<InferredTable> InferBlob(Repo& repo, const Oid& oid, TableFormat format, const std::string& where) {
  auto loose = repo.store().LooseFile(oid);
  if (loose.ok()) return InferFile(*loose, format, where);
  if (!repo.store().Has(oid)) {
    return Status::NotFound("the data of " + where + " (" + oid.Short() + ") is not in the cache",
                            "fetch it with 'cairn pull'");
  }
  CAIRN_ASSIGN_OR_RETURN(std::string bytes, repo.store().Read(oid));
  std::istringstream in(bytes);
  return signature_internal::InferTable(in, format, where);
}

// The first tabular entry of a version's files (they are sorted by path).
Result<std::optional<TreeEntry>> FirstTabular(Repo& repo, const Oid& version_oid, std::string* dataset) {
  CAIRN_ASSIGN_OR_RETURN(Version version, LoadVersion(repo, version_oid));
  CAIRN_ASSIGN_OR_RETURN(Tree files, LoadFiles(repo, version));
  *dataset = version.dataset;
  for (const TreeEntry& e : files.entries) {
    if (IsTabularFileName(e.path)) return std::optional<TreeEntry>(e);
  }
  return std::optional<TreeEntry>();
}

Result<InferredSchema> FromVersion(Repo& repo, const std::string& name, const Oid& version) {
  std::string dataset;
  auto first = FirstTabular(repo, version, &dataset);
  if (!first.ok()) {
    if (first.status().code() != Code::kNotFound) return first.status();
    return Status::NotFound("dataset version " + name + "@" + version.Short() + " is not in the cache",
                            "fetch it with 'cairn pull'");
  }
  if (!*first) {
    return Status::NotFound("dataset " + name + "@" + version.Short() + " holds no tabular file",
                            "signatures are read from .csv, .tsv, .jsonl (and later .parquet) files");
  }
  const TreeEntry& e = **first;
  std::string where = name + "@" + version.Short() + ":" + e.path;
  CAIRN_ASSIGN_OR_RETURN(InferredTable table, InferBlob(repo, e.oid, *TableFormatFor(e.path), where));
  return ToSchema(table, "dataset:" + name + "@" + version.Hex() + ":" + e.path);
}

// The first tabular file below `dir` by '/'-separated relative path,
// following no symlink and skipping .git and .cairn.
Result<std::optional<std::string>> FirstTabularBelow(const fs::path& dir) {
  std::vector<std::string> found;
  std::error_code ec;
  fs::recursive_directory_iterator it(dir, fs::directory_options::none, ec), end;
  if (ec) return Status::FromErrno("cannot list " + dir.string(), ec.value());
  for (; it != end; it.increment(ec)) {
    if (ec) return Status::FromErrno("cannot list " + dir.string(), ec.value());
    std::string name = it->path().filename().string();
    if (it->is_directory(ec) && !it->is_symlink(ec) && (name == ".git" || name == ".cairn")) {
      it.disable_recursion_pending();
      continue;
    }
    if (it->is_symlink(ec) || !it->is_regular_file(ec) || !IsTabularFileName(name)) continue;
    found.push_back(it->path().lexically_relative(dir).generic_string());
  }
  if (found.empty()) return std::optional<std::string>();
  return std::optional<std::string>(*std::min_element(found.begin(), found.end()));
}

}  // namespace

bool IsTabularFileName(std::string_view name) { return TableFormatFor(name).has_value(); }

Result<InferredSchema> InferSchema(Repo& repo, std::string_view data_ref) {
  std::string ref(data_ref);
  if (ref.empty()) return Status::InvalidArgument("no data given", "give a dataset ref (eval@v3) or a file path");
  if (IsModelRef(ref)) {
    return Status::InvalidArgument(ref + " is a model, not data", "give a dataset ref (eval@v3) or a file path");
  }
  fs::path path = fs::path(ref).is_absolute() ? fs::path(ref) : repo.base_dir() / ref;
  std::error_code ec;
  fs::file_status st = fs::status(path, ec);
  if (!ec && fs::is_directory(st)) {
    CAIRN_ASSIGN_OR_RETURN(std::optional<std::string> first, FirstTabularBelow(path));
    if (!first) {
      return Status::NotFound("no tabular file under " + ref,
                              "signatures are read from .csv, .tsv, .jsonl (and later .parquet) files");
    }
    std::string shown = (fs::path(ref) / *first).generic_string();
    CAIRN_ASSIGN_OR_RETURN(InferredTable table, InferFile(path / *first, *TableFormatFor(*first), shown));
    return ToSchema(table, "file:" + shown);
  }
  if (!ec && fs::is_regular_file(st)) {
    auto format = TableFormatFor(path.filename().string());
    if (!format) {
      return Status::InvalidArgument(ref + " is not a tabular file",
                                     "signatures are read from .csv, .tsv, .jsonl (and later .parquet) files");
    }
    CAIRN_ASSIGN_OR_RETURN(InferredTable table, InferFile(path, *format, ref));
    return ToSchema(table, "file:" + ref);
  }
  if (!ec && fs::exists(st)) return Status::InvalidArgument(ref + " is neither a file nor a directory");
  auto resolved = ResolveRef(repo, ref);
  if (!resolved.ok()) {
    if (resolved.status().code() == Code::kNotFound && ref.find_first_of("@~") == std::string::npos) {
      return Status::NotFound("no file, directory or dataset named " + ref,
                              "give a workspace path, or a dataset ref such as " + ref + "@v1 ('cairn log')");
    }
    return resolved.status();
  }
  return FromVersion(repo, resolved->dataset, resolved->version);
}

Result<std::optional<ModelSignature>> InferTrainingSignature(Repo& repo, const std::vector<ModelDataset>& datasets) {
  // The inputs the run declared first, then those only checked out when it
  // started (which it may not have read at all).
  std::vector<const ModelDataset*> direct;
  for (const ModelDataset& d : datasets) {
    if (d.direct && d.source != "workspace") direct.push_back(&d);
  }
  for (const ModelDataset& d : datasets) {
    if (d.direct && d.source == "workspace") direct.push_back(&d);
  }
  for (const ModelDataset* input : direct) {
    const ModelDataset& d = *input;
    if (d.dataset.starts_with("model:")) continue;
    std::string dataset;
    auto first = FirstTabular(repo, d.version, &dataset);
    if (!first.ok()) {
      if (first.status().code() == Code::kIOError) return first.status();
      continue;  // not in the cache (gc'd or never pulled): no signature from it
    }
    if (!*first) continue;
    auto schema = FromVersion(repo, d.dataset, d.version);
    if (!schema.ok()) {
      if (schema.status().code() == Code::kIOError) return schema.status();
      return std::optional<ModelSignature>();  // the first tabular file is no table we can read
    }
    return std::optional<ModelSignature>(schema->signature);
  }
  return std::optional<ModelSignature>();
}

}  // namespace cairn
