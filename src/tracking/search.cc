// Run search: validates the filter and order, resolves experiments, asks
// the store, and warns about filter keys that no run has.
#include <algorithm>
#include <optional>
#include <set>

#include "cairn/tracking.h"
#include "tracking/filter.h"
#include "tracking/tracker_internal.h"

namespace cairn {

using namespace tracking_internal;

namespace {

bool IsWordChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}
bool IsKeyChar(char c) { return IsWordChar(c) || c == '-' || c == '.' || c == '/' || c == ':'; }

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

// The quoted text starting at text[*pos] (a quote doubled or
// backslash-escaped stands for itself); *pos ends after the closing quote.
std::string ReadQuoted(std::string_view text, size_t* pos) {
  char quote = text[(*pos)++];
  std::string out;
  while (*pos < text.size()) {
    char c = text[*pos];
    if (c == '\\' && *pos + 1 < text.size() && (text[*pos + 1] == quote || text[*pos + 1] == '\\')) {
      out += text[*pos + 1];
      *pos += 2;
    } else if (c == quote && *pos + 1 < text.size() && text[*pos + 1] == quote) {
      out += quote;
      *pos += 2;
    } else if (c == quote) {
      ++*pos;
      return out;
    } else {
      out += c;
      ++*pos;
    }
  }
  return out;
}

struct FilterKey {
  RunKeyKind kind;
  std::string key;
  std::string text;  // as written: "metrics.acuracy"
};

// The metric, param and tag keys a (valid) filter names, in order, each once.
std::vector<FilterKey> FilterKeys(std::string_view text) {
  std::vector<FilterKey> out;
  std::set<std::pair<int, std::string>> seen;
  size_t pos = 0;
  while (pos < text.size()) {
    char c = text[pos];
    if (c == '\'' || c == '"' || c == '`') {
      ReadQuoted(text, &pos);
      continue;
    }
    if (!IsWordChar(c)) {
      ++pos;
      continue;
    }
    size_t start = pos;
    while (pos < text.size() && IsWordChar(text[pos])) ++pos;
    std::string word = Lower(text.substr(start, pos - start));
    if (pos >= text.size() || text[pos] != '.') {
      while (pos < text.size() && IsKeyChar(text[pos])) ++pos;  // a number such as 0.5
      continue;
    }
    std::optional<RunKeyKind> kind;
    if (word == "metrics" || word == "metric") kind = RunKeyKind::kMetric;
    if (word == "params" || word == "param") kind = RunKeyKind::kParam;
    if (word == "tags" || word == "tag") kind = RunKeyKind::kTag;
    ++pos;
    std::string key;
    if (pos < text.size() && (text[pos] == '`' || text[pos] == '"')) {
      key = ReadQuoted(text, &pos);
    } else {
      size_t key_start = pos;
      while (pos < text.size() && IsKeyChar(text[pos])) ++pos;
      key = std::string(text.substr(key_start, pos - key_start));
    }
    if (!kind || key.empty()) continue;
    if (!seen.insert({static_cast<int>(*kind), key}).second) continue;
    out.push_back(FilterKey{*kind, key, std::string(text.substr(start, pos - start))});
  }
  return out;
}

}  // namespace

Result<SearchResult> Tracker::Search(const SearchOptions& options) {
  std::lock_guard lock(impl_->mu);
  TrackingStore& store = *impl_->store;
  // Validated here so every store sees a filter and order that parse.
  CAIRN_RETURN_IF_ERROR(CompileFilter(options.filter).status());
  CAIRN_RETURN_IF_ERROR(ParseOrderBy(options.order_by).status());
  if (options.limit < 0) return Status::InvalidArgument("the limit must not be negative");
  RunQuery query;
  for (const std::string& name : options.experiments) {
    CAIRN_ASSIGN_OR_RETURN(auto e, store.FindExperiment(name));
    if (!e) return NoExperiment(name);
    query.experiment_ids.push_back(e->id);
  }
  query.filter = options.filter;
  query.order_by = options.order_by;
  query.statuses = options.statuses;
  query.lifecycle = options.deleted_only      ? RunQuery::Lifecycle::kDeletedOnly
                    : options.include_deleted ? RunQuery::Lifecycle::kAll
                                              : RunQuery::Lifecycle::kActive;
  query.limit = options.limit;
  query.full = options.full;
  SearchResult result;
  CAIRN_ASSIGN_OR_RETURN(result.runs, store.Search(query));
  // Keys no run has: most likely a typo, which would otherwise match
  // nothing (or everything, under !=) without a word.
  std::vector<FilterKey> keys = FilterKeys(options.filter);
  for (RunKeyKind kind : {RunKeyKind::kMetric, RunKeyKind::kParam, RunKeyKind::kTag}) {
    std::vector<std::string> of_kind;
    for (const FilterKey& k : keys) {
      if (k.kind == kind) of_kind.push_back(k.key);
    }
    if (of_kind.empty()) continue;
    CAIRN_ASSIGN_OR_RETURN(std::vector<std::string> missing, store.MissingKeys(kind, of_kind, query.experiment_ids));
    for (const FilterKey& k : keys) {
      if (k.kind != kind || std::find(missing.begin(), missing.end(), k.key) == missing.end()) continue;
      std::string where = options.experiments.empty() ? "no run has" : "no run of the searched experiments has";
      result.warnings.push_back("filter names " + k.text + ", which " + where + " (a misspelt key?)");
    }
  }
  return result;
}

}  // namespace cairn
