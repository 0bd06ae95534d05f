// Where inferred signatures come from: a workspace file or directory, a
// dataset version's first tabular file, or the training data of a run
// (model_signature.h). The tables are found and read by cairn/table.h;
// signature_infer.cc merges the types of a sample.
#include <filesystem>

#include "cairn/dataset.h"
#include "cairn/model_signature.h"
#include "cairn/store.h"
#include "cairn/table.h"
#include "registry/signature_infer.h"

namespace cairn {
namespace fs = std::filesystem;

namespace {

constexpr const char* kTabularHint = "signatures are read from .csv, .tsv, .jsonl and .parquet files";

Result<InferredSchema> InferSource(Repo& repo, const TableSource& table, std::string source) {
  CAIRN_ASSIGN_OR_RETURN(std::unique_ptr<TableReader> reader,
                         OpenTable(repo, table, signature_internal::SampleReaderOptions()));
  return signature_internal::InferTable(*reader, std::move(source));
}

std::string VersionSource(const std::string& dataset, const Oid& version, const std::string& path) {
  return "dataset:" + dataset + "@" + version.Hex() + ":" + path;
}

// Up to three of the files a set holds that are not tables, for a message.
std::string SomeOf(const std::vector<TreeEntry>& skipped) {
  if (skipped.empty()) return "";
  std::string out;
  for (size_t i = 0; i < skipped.size() && i < 3; ++i) out += (i ? ", " : "") + skipped[i].path;
  return " (it holds " + out + (skipped.size() > 3 ? ", …" : "") + ")";
}

// The first tabular file (by path: a version's files are sorted) of a
// dataset version; nullopt when it has none.
Result<std::optional<TableSource>> FirstTable(Repo& repo, const std::string& dataset, const Oid& version) {
  CAIRN_ASSIGN_OR_RETURN(Version v, LoadVersion(repo, version));
  CAIRN_ASSIGN_OR_RETURN(Tree files, LoadFiles(repo, v));
  for (const TreeEntry& e : files.entries) {
    std::optional<TableFormat> format = TableFormatFor(fs::path(e.path).filename().string());
    if (!format) continue;
    TableSource table{e.path, *format, e.oid, e.size, {}, dataset + "@" + version.Short() + ":" + e.path};
    if (auto loose = repo.store().LooseFile(e.oid); loose.ok()) table.file = *loose;
    return std::optional<TableSource>(std::move(table));
  }
  return std::optional<TableSource>();
}

}  // namespace

bool IsTabularFileName(std::string_view name) { return TableFormatFor(name).has_value(); }

Result<InferredSchema> InferSchema(Repo& repo, std::string_view data_ref) {
  std::string ref(data_ref);
  if (ref.empty()) return Status::InvalidArgument("no data given", "give a dataset ref (eval@v3) or a file path");
  if (IsModelRef(ref)) {
    return Status::InvalidArgument(ref + " is a model, not data", "give a dataset ref (eval@v3) or a file path");
  }
  // A file that is no table is refused before anything reads it.
  fs::path path = fs::path(ref).is_absolute() ? fs::path(ref) : repo.base_dir() / ref;
  std::error_code ec;
  if (fs::is_regular_file(path, ec) && !IsTabularFileName(path.filename().string())) {
    return Status::InvalidArgument(ref + " is not a tabular file", kTabularHint);
  }
  CAIRN_ASSIGN_OR_RETURN(TableSet set, ResolveTables(repo, ref));
  if (set.tables.empty()) {
    if (set.version.IsZero()) {
      return Status::NotFound("no tabular file under " + ref + SomeOf(set.skipped), kTabularHint);
    }
    return Status::NotFound(
        "dataset " + set.dataset + "@" + set.version.Short() + " holds no tabular file" + SomeOf(set.skipped),
        kTabularHint);
  }
  TableSource table = set.tables.front();  // by path
  if (!set.version.IsZero()) return InferSource(repo, table, VersionSource(set.dataset, set.version, table.path));
  // A workspace path: named as given (a tracked path's sources are named
  // from the repository root).
  table.where = set.single_file ? ref : (fs::path(ref) / table.path).generic_string();
  return InferSource(repo, table, "file:" + table.where);
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
    auto first = FirstTable(repo, d.dataset, d.version);
    if (!first.ok()) {
      if (first.status().code() == Code::kIOError) return first.status();
      continue;  // not in the cache (gc'd or never pulled): no signature from it
    }
    if (!*first) continue;
    auto schema = InferSource(repo, **first, VersionSource(d.dataset, d.version, (*first)->path));
    if (!schema.ok()) {
      // DuckDB failing to start is no reason to refuse a registration.
      if (schema.status().code() == Code::kIOError && (*first)->format != TableFormat::kParquet) {
        return schema.status();
      }
      return std::optional<ModelSignature>();  // the first tabular file is no table we can read
    }
    return std::optional<ModelSignature>(schema->signature);
  }
  return std::optional<ModelSignature>();
}

}  // namespace cairn
