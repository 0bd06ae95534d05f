// Profiles computed once per blob (cairn/profile.h): the stored derived
// object when there is one, else a new one; and the report over every table
// a ref names.
#include <filesystem>
#include <optional>
#include <set>
#include <utility>

#include "cairn/derived.h"
#include "cairn/profile.h"
#include "cairn/tracking.h"
#include "data/table_internal.h"

namespace cairn {
namespace {

// The blob of `source`: its oid, or the hash of its workspace file.
Result<Oid> BlobOf(const TableSource& source) {
  return table_internal::ContentOid(source.blob, source.file, source.where);
}

// A profile depends on the bytes and on how they are parsed: the same
// bytes named .csv and .tsv (or .jsonl) are different tables.
std::string ProfileKey(const TableSource& source) { return TableFormatName(source.format); }

// What tells whether a file changed while it was read (size, modification
// time); nullopt when it is not a file here.
std::optional<std::pair<uintmax_t, std::filesystem::file_time_type>> Stamp(const std::filesystem::path& file) {
  std::error_code ec, ec2;
  if (file.empty()) return std::nullopt;
  auto size = std::filesystem::file_size(file, ec);
  auto time = std::filesystem::last_write_time(file, ec2);
  if (ec || ec2) return std::nullopt;
  return std::make_pair(size, time);
}

Result<std::optional<SourceProfile>> Stored(Repo& repo, const TableSource& source, const Oid& blob) {
  Result<std::optional<DerivedObject>> got = GetDerived(repo, kProfileKind, blob, ProfileKey(source));
  // A damaged or missing stored profile is only a cache: computed again,
  // and the new one replaces its ref.
  if (!got.ok() && got.status().code() == Code::kCorruption) return std::optional<SourceProfile>();
  CAIRN_ASSIGN_OR_RETURN(std::optional<DerivedObject> found, std::move(got));
  if (!found) return std::optional<SourceProfile>();
  const Json& body = found->body;
  auto version = body.find("profile_version");
  if (version == body.end() || !version->is_number_integer() || version->get<int>() != kProfileVersion) {
    return std::optional<SourceProfile>();  // another profile version: computed again
  }
  SourceProfile p;
  p.source = source;
  p.blob = blob;
  p.object = Oid::Of(found->Encode());
  p.computed = false;
  p.created_ms = found->created_ms;
  p.profile = std::move(found->body);
  return std::optional<SourceProfile>(std::move(p));
}

// The profile's "columns" array reduced to `wanted` (in their order);
// `seen` collects the names found.
Json OnlyColumns(const Json& profile, const std::vector<std::string>& wanted, std::set<std::string>* seen) {
  Json out = profile;
  Json cols = Json::array();
  for (const std::string& name : wanted) {
    for (const Json& c : profile.at("columns")) {
      if (c.at("name") == name) {
        cols.push_back(c);
        seen->insert(name);
      }
    }
  }
  out["columns"] = std::move(cols);
  return out;
}

}  // namespace

Result<std::optional<SourceProfile>> StoredProfileFor(Repo& repo, const TableSource& source) {
  CAIRN_ASSIGN_OR_RETURN(Oid blob, BlobOf(source));
  return Stored(repo, source, blob);
}

Result<SourceProfile> ProfileFor(Repo& repo, const TableSource& source) {
  const auto before = Stamp(source.file);
  CAIRN_ASSIGN_OR_RETURN(Oid blob, BlobOf(source));
  CAIRN_ASSIGN_OR_RETURN(std::optional<SourceProfile> stored, Stored(repo, source, blob));
  if (stored) return std::move(*stored);
  TableOptions options;
  options.batch_rows = 16384;
  CAIRN_ASSIGN_OR_RETURN(std::unique_ptr<TableReader> reader, OpenTable(repo, source, options));
  CAIRN_ASSIGN_OR_RETURN(TableProfile profile, ProfileTable(*reader));
  if (Stamp(source.file) != before) {
    // Not the bytes `blob` names: a profile of them would be stored as its.
    return Status::FailedPrecondition(source.where + " changed while it was profiled: nothing was stored",
                                      "profile it again once it is written");
  }
  DerivedObject object;
  object.kind = std::string(kProfileKind);
  object.subject = blob;
  object.key = ProfileKey(source);
  object.body = ProfileJson(profile);
  object.created_ms = NowMs();
  CAIRN_ASSIGN_OR_RETURN(Oid oid, PutDerived(repo, object));
  SourceProfile p;
  p.source = source;
  p.blob = blob;
  p.object = oid;
  p.computed = true;
  p.created_ms = object.created_ms;
  p.profile = std::move(object.body);
  return p;
}

Result<ProfileReport> ProfileRef(Repo& repo, std::string_view ref, const ProfileOptions& options) {
  CAIRN_ASSIGN_OR_RETURN(TableSet set, ResolveTables(repo, ref));
  ProfileReport report;
  report.label = set.label;
  report.dataset = set.dataset;
  report.version = set.version;
  for (const TreeEntry& e : set.skipped) report.skipped.push_back(e.path);
  if (set.tables.empty()) {
    std::string some;
    for (size_t i = 0; i < report.skipped.size() && i < 5; ++i) some += (i ? ", " : "") + report.skipped[i];
    return Status::InvalidArgument(std::string(ref) + " holds no tabular file" +
                                       (some.empty() ? std::string() : " (not tables: " + some + ")"),
                                   "profiles read CSV, TSV, JSON Lines and Parquet files (.csv .tsv .tab .jsonl "
                                   ".ndjson .parquet .pq)");
  }
  std::set<std::string> seen;
  std::string first_columns;  // for the message naming a column no table has
  for (const TableSource& source : set.tables) {
    SourceProfile p;
    if (options.stored_only) {
      CAIRN_ASSIGN_OR_RETURN(std::optional<SourceProfile> stored, StoredProfileFor(repo, source));
      if (!stored) {
        return Status::NotFound("no stored profile of " + source.where, "compute it with 'cairn profile'");
      }
      p = std::move(*stored);
    } else {
      CAIRN_ASSIGN_OR_RETURN(p, ProfileFor(repo, source));
    }
    if (first_columns.empty()) {
      for (const Json& col : p.profile.at("columns")) {
        first_columns += (first_columns.empty() ? "" : ", ") + col.at("name").get<std::string>();
      }
    }
    if (!options.columns.empty()) p.profile = OnlyColumns(p.profile, options.columns, &seen);
    report.tables.push_back(std::move(p));
  }
  for (const std::string& c : options.columns) {
    if (seen.count(c)) continue;
    return Status::InvalidArgument("no table of " + std::string(ref) + " has a column '" + c + "'",
                                   "columns of " + set.tables[0].where + ": " + first_columns);
  }
  return report;
}

Json ProfileReportJson(const ProfileReport& report) {
  Json tables = Json::array();
  for (const SourceProfile& p : report.tables) {
    tables.push_back(Json{{"path", p.source.path},
                          {"where", p.source.where},
                          {"blob", p.blob.ToString()},
                          {"object", p.object.ToString()},
                          {"computed", p.computed},
                          {"created", p.created_ms},
                          {"profile", p.profile}});
  }
  Json out;
  out["ref"] = report.label;
  out["dataset"] = report.dataset.empty() ? Json(nullptr) : Json(report.dataset);
  out["version"] = report.version.IsZero() ? Json(nullptr) : Json(report.version.ToString());
  out["tables"] = std::move(tables);
  out["skipped"] = report.skipped;
  return out;
}

}  // namespace cairn
