// The model registry: named lines of model versions (1, 2, …), aliases
// (production, staging …), approvals and deprecations.
//
// A model version is an immutable object ("cairn-model-version 1",
// doc/formats.md) naming its artifact (a blob or a tree), the run that
// produced it with that run's params, metrics, code commit and environment,
// and every upstream dataset version (resolved through lineage back to raw
// data). Mutable registry state lives in refs under .cairn/refs/models/ and
// every change is appended to the audit log (cairn/audit.h) before it takes
// effect.
//
// Refs accepted everywhere a ref is (ParseModelRef): model:NAME@3,
// model:NAME@production, model:NAME@latest.
//
// Functions that write take the repository lock themselves; two processes
// moving aliases at once serialise. Errors: InvalidArgument for bad names or
// refs, NotFound for unknown models, versions or aliases (listing what
// exists), FailedPrecondition for a state that forbids the change (a
// deprecated version).
#ifndef CAIRN_REGISTRY_H_
#define CAIRN_REGISTRY_H_

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cairn/gc_roots.h"
#include "cairn/json.h"
#include "cairn/object.h"
#include "cairn/oid.h"
#include "cairn/repo.h"
#include "cairn/status.h"
#include "cairn/tracking.h"

namespace cairn {

// [A-Za-z0-9._-], starting with a letter or digit, at most 255 chars.
Status ValidateModelName(std::string_view name);
// [A-Za-z0-9_-], at most 255 chars, not "latest" and not v<digits>.
Status ValidateAliasName(std::string_view alias);

// "model:NAME@3", "NAME@v3", "NAME@production", "NAME@latest", "NAME" (latest).
struct ModelRef {
  std::string model;
  int64_t version = 0;  // when given by number
  std::string alias;    // when given by alias ("latest" is kept here too)
};
// True when `ref` starts with "model:".
bool IsModelRef(std::string_view ref);
// Parses with or without the "model:" prefix. InvalidArgument with the
// accepted forms.
Result<ModelRef> ParseModelRef(std::string_view ref);

struct ModelArtifact {
  ObjectKind kind = ObjectKind::kBlob;
  Oid object;            // blob, or tree for a directory
  std::string path;      // the run's artifact path, or the workspace path of a pipeline output
  std::string filename;  // for a blob: the file name it is materialised under
  uint64_t size = 0;
  uint64_t files = 0;
};

// A dataset version upstream of the producing run.
struct ModelDataset {
  std::string dataset;
  Oid version;
  std::vector<std::string> tags;  // tags naming the version when registered
  bool direct = false;            // an input of the producing run itself
  bool modified = false;          // the run read modified workspace data (RunInput::modified)
  // For a direct input, how the run came by it (RunInput::source):
  // "explicit" (declared: cairn run -i, a stage dep, use_dataset) or
  // "workspace" (only checked out when the run started). Empty for an
  // upstream version, and for a direct one in a version registered before
  // the source was recorded (evaluated_on does not take those).
  std::string source;
};

struct SignatureColumn {
  std::string name;
  std::string type;  // "integer", "number", "boolean", "string"
};

// The input schema of the training data (or one given with --signature).
struct ModelSignature {
  std::vector<SignatureColumn> columns;
  std::string source;  // "dataset:NAME@HEX:FILE", or "file:PATH" for a given one
};
// Parses a signature file: {"columns": [{"name": "age", "type": "integer"}, …]},
// types as in SignatureColumn. InvalidArgument naming the column that is
// wrong (unknown type, no name, a name given twice).
Result<ModelSignature> ParseSignature(std::string_view json_text, const std::string& source);

struct ModelVersion {
  std::string model;
  int64_t version = 0;
  ModelArtifact artifact;
  std::string run;                 // producing run id
  // How that run ended: "FINISHED", "FAILED" or "KILLED" (RunStatusName).
  // Empty in versions registered before cairn recorded it (the field is
  // then absent from the object). Registering from a failed run is allowed;
  // gates can refuse it.
  std::string run_status;
  std::optional<Oid> run_record;   // its sealed record
  std::string stage;               // pipeline stage, when registered from a workspace output
  std::map<std::string, std::string> params;
  std::map<std::string, double> metrics;  // latest value per key
  std::map<std::string, std::string> env;  // the run's env (git.commit, git.dirty …)
  std::vector<ModelDataset> datasets;      // every upstream dataset version, sorted
  std::optional<ModelSignature> signature;
  std::map<std::string, std::string> tags;
  std::string message;
  std::string user;  // who registered it
  std::string host;
  int64_t time_ms = 0;

  std::string Encode() const;  // canonical "cairn-model-version 1"
  static Result<ModelVersion> Decode(std::string_view data, const std::string& where);
};

// Damage in the registry's refs: what fsck reports, and what readers skip
// (a damaged or forged alias) and hand back as warnings.
struct RegistryProblem {
  std::string ref;      // "model:NAME@N", "model:NAME@ALIAS", or "model:NAME"
  std::string message;
  std::string file;     // the ref file concerned, relative to the repository root; may be empty
};

struct Approval {
  std::string user;
  int64_t time_ms = 0;
  std::string message;
  std::string audit_entry;  // id of its audit entry
};

// A version as the registry sees it now.
struct ModelVersionState {
  ModelVersion version;
  Oid oid;                           // the version object
  std::vector<std::string> aliases;  // aliases naming it, sorted
  bool deprecated = false;
  std::string deprecated_by, deprecated_reason;
  int64_t deprecated_ms = 0;
  std::vector<Approval> approvals;  // oldest first
  // Aliases of the model left out because they are damaged or name another
  // object than their version's (ListAliases); the CLI prints them as warnings.
  std::vector<RegistryProblem> warnings;
};

struct ModelSummary {
  std::string name;
  int64_t versions = 0;
  int64_t latest = 0;
  std::map<std::string, int64_t> aliases;  // alias → version
  int64_t updated_ms = 0;
  std::vector<RegistryProblem> warnings;  // aliases (or the latest version) that could not be read
};

// An alias as stored (refs/models/<name>/aliases/<alias>).
struct AliasState {
  std::string alias;
  int64_t version = 0;
  Oid oid;                  // the model version object
  std::string audit_entry;  // the entry that moved it here
  std::string user;
  int64_t time_ms = 0;
};

struct RegisterOptions {
  std::string model;
  // Either a run and the path of one of its artifacts (a file, or a
  // directory prefix) …
  std::string run;
  std::string artifact;
  // … or a workspace path that a pipeline stage outputs (its producing
  // run is found through cairn.lock and lineage).
  std::string path;
  std::string message;
  std::map<std::string, std::string> tags;
  // A JSON signature file (ParseSignature), relative to repo.base_dir();
  // empty: none is recorded.
  std::string signature_file;
};

// Registers the next version: N = the highest number + 1, taken under the
// repository lock (concurrent registrations get distinct numbers), after
// the "model.register" audit entry. The run's params, latest metrics, env
// and every upstream dataset version (Lineage of the run) are recorded.
// InvalidArgument when the run never logged the artifact (the hint lists
// the nearest ones it did), the path is no stage's output, or the
// workspace output differs from what the stage produced; FailedPrecondition
// when the run is still RUNNING or deleted, or the artifact's data is not
// in the cache. Nothing is registered on error.
Result<ModelVersionState> RegisterModel(Tracker& tracker, const RegisterOptions& options);

// What the registrant of `registered` should be told, one line each: its
// run did not finish; it was registered from the output of a stage that is
// stale now (the code, data or params changed since cairn.lock's run); an
// earlier version holds the same artifact from the same run.
Result<std::vector<std::string>> RegistrationNotes(Repo& repo, const ModelVersionState& registered);

// Every model with at least one version, by name.
Result<std::vector<ModelSummary>> ListModels(Repo& repo);
// Every version of `model`, oldest first; NotFound naming the nearest models.
Result<std::vector<ModelVersionState>> ListModelVersions(Repo& repo, const std::string& model);
// The version a ref names (latest: the highest number). Reads only that
// version's ref and object, the aliases, its deprecation and approvals.
// NotFound for an unknown model (naming the nearest), version or alias
// (listing the versions and aliases); Corruption when a ref or object is
// damaged or an alias names another object than its version's.
Result<ModelVersionState> ResolveModel(Repo& repo, const ModelRef& ref);
Result<ModelVersionState> ResolveModel(Repo& repo, std::string_view ref);
// Every alias of `model` that names one of its versions by that version's
// object, sorted. An alias that cannot be parsed, or names a version that
// does not exist or another object than that version's (a forged file), is
// left out and described in *skipped (when given): every listing of aliases
// goes through here. IOError when the directory cannot be read.
Result<std::vector<AliasState>> ListAliases(Repo& repo, const std::string& model,
                                            std::vector<RegistryProblem>* skipped = nullptr);
Result<std::optional<AliasState>> ReadAlias(Repo& repo, const std::string& model, const std::string& alias);

// Moves `alias` to the version `ref` names, without gates (PromoteModel in
// cairn/gate.h runs them first). `details` goes into the audit entry.
// FailedPrecondition for a deprecated version.
Result<AliasState> SetAlias(Repo& repo, std::string_view ref, const std::string& alias,
                            const std::string& reason, const std::string& action = "model.alias",
                            const Json& details = Json::object());
// NotFound when the alias is not set; FailedPrecondition when
// `expected_version` is not 0 and the alias names another version (a
// mistyped `alias M@2 production --delete` must not remove what v1 holds).
Status DeleteAlias(Repo& repo, const std::string& model, const std::string& alias, const std::string& reason,
                   int64_t expected_version = 0);
// Marks a version deprecated: it can no longer get an alias or an approval
// (aliases it holds stay until moved). FailedPrecondition when it already is.
Result<ModelVersionState> DeprecateModel(Repo& repo, std::string_view ref, const std::string& reason);
// Records an approval by the current user (Repo::Author()) under
// approvals/<N>/<audit entry id>; FailedPrecondition for a deprecated
// version; InvalidArgument when the user's identity is blank (an empty or
// all-space CAIRN_AUTHOR): an approval must name someone.
Result<Approval> ApproveModel(Repo& repo, std::string_view ref, const std::string& message);

// Whether two user identities as cairn records them ("Name <email>",
// "Name", or a bare "email@host") are the same person: by email, ignoring
// case, when both have one; else by name, ignoring case and surrounding
// spaces. A blank identity is nobody: never the same as anything. What
// the approvals gate uses to exclude the registrant and count each
// approver once.
bool SameIdentity(std::string_view a, std::string_view b);
// True when `identity` names nobody (no name and no email).
bool BlankIdentity(std::string_view identity);

struct GetModelResult {
  ModelVersionState state;
  std::filesystem::path artifact;    // what was written: DIR/<file> or DIR/<tree root>
  std::filesystem::path provenance;  // DIR/provenance.json
};
// Materialises the artifact into `out_dir` as DIR/<artifact filename> (a
// directory artifact as DIR/<filename>/…) with DIR/provenance.json beside
// it. `out_dir` (relative: to repo.base_dir()) must not exist or be empty
// unless `force` (FailedPrecondition), and may not be or hold the
// repository or the current directory (InvalidArgument). Every byte is
// checked against its oid (Corruption); the result is built beside DIR and
// renamed into place, so DIR is unchanged on failure.
Result<GetModelResult> GetModel(Repo& repo, std::string_view ref, const std::filesystem::path& out_dir,
                                bool force);

// A model ref as a run input: dataset "model:NAME", version the model
// version object, tag "vN" or the alias used. What Tracker::AddInput,
// pipeline deps and Python's use_model record.
Result<RunInput> ModelInput(Repo& repo, std::string_view ref);

// Serializers (doc/json.md, "models").
Json ModelVersionJson(const ModelVersionState& state);
Json ModelSummaryJson(const ModelSummary& summary);
// The provenance.json that GetModel writes; `files`: what was written (a
// tree artifact's entries, or a blob's one file), listed with their sha256,
// their sizes and the artifact's size taken from them. Without `files` a
// blob's one file is listed with the size the version records.
Json ProvenanceJson(const ModelVersionState& state, const std::vector<TreeEntry>* files = nullptr);
Json AliasStateJson(const AliasState& alias);
Json ApprovalJson(const Approval& approval);

// What `cairn fsck` reports about the registry: each (ref, problem) for a
// version ref that is damaged or names an object that is missing or is not
// that version, an artifact (or a file of it) missing from the cache, and an
// alias, deprecation or approval that cannot be read or names another
// object than its version's. IOError only when the refs cannot be listed.
Result<std::vector<RegistryProblem>> CheckRegistry(Repo& repo);

// gc roots: every version object, its artifact and run record.
Status ContributeModelRoots(Repo& repo, const GcRootOptions& options, GcRootSet* roots);

}  // namespace cairn

#endif  // CAIRN_REGISTRY_H_
